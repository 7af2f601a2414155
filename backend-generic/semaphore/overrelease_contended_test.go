package semaphore_test

import (
	"context"
	"runtime"
	"testing"

	"github.com/compio-sync/gosync/backend-generic/semaphore"
)

// TestReleaseMoreThanHeldPanicsAfterContention: x/sync's Release panics
// with "semaphore: released more than held" the moment the count of held
// weight would go below 0, and Release promises the same here, also once
// goroutines have been taking the semaphore in turn. That contention is
// what engages core's stripes, and a Release into an engaged lane only
// checks the lane's share: the over-release went unreported at the Release,
// and, with every permit free again, a holder of the whole size could
// then take one more.
func TestReleaseMoreThanHeldPanicsAfterContention(t *testing.T) {
	old := runtime.GOMAXPROCS(2)
	defer runtime.GOMAXPROCS(old)
	const size = 8
	w := semaphore.NewWeighted(size)
	ctx := context.Background()
	// Two goroutines take and return 1 in strict alternation: every take
	// is by another goroutine than the one before, 200 times.
	ping, pong := make(chan struct{}), make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 100 {
			<-ping
			if err := w.Acquire(ctx, 1); err != nil {
				panic(err)
			}
			w.Release(1)
			pong <- struct{}{}
		}
	}()
	for range 100 {
		ping <- struct{}{}
		<-pong
		if err := w.Acquire(ctx, 1); err != nil {
			t.Fatal(err)
		}
		w.Release(1)
	}
	<-done
	// Nothing is held.
	mustPanic(t, "semaphore: released more than held", func() { w.Release(1) })
	if err := w.Acquire(ctx, size); err != nil {
		t.Fatal(err)
	}
	if w.TryAcquire(1) {
		t.Fatalf("TryAcquire(1) succeeded with the whole size (%d) held", size)
	}
	w.Release(size)
}
