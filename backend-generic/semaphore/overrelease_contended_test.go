package semaphore_test

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

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

// TestReleaseMoreThanHeldPanicsDuringContention: goroutines that hold at
// most one unit each keep taking and returning weight, which engages
// core's stripes, while another keeps releasing more than they could all
// hold together. Every one of those Releases panics with x/sync's message,
// no legitimate Release panics, and at the end the whole size can be taken
// and nothing more.
func TestReleaseMoreThanHeldPanicsDuringContention(t *testing.T) {
	old := runtime.GOMAXPROCS(4)
	defer runtime.GOMAXPROCS(old)
	const size, workers, rounds = 8, 3, 20000
	// A count that over-releases corrupt can leave a goroutine waiting for
	// good: fail by name, with every goroutine's stack, instead.
	watchdog := time.AfterFunc(60*time.Second, func() {
		buf := make([]byte, 1<<20)
		panic("watchdog: TestReleaseMoreThanHeldPanicsDuringContention hung; goroutines:\n" + string(buf[:runtime.Stack(buf, true)]))
	})
	defer watchdog.Stop()
	w := semaphore.NewWeighted(size)
	ctx := context.Background()
	recovered := func(f func()) (r any) {
		defer func() { r = recover() }()
		f()
		return nil
	}
	var done atomic.Bool
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range rounds {
				if err := w.Acquire(ctx, 1); err != nil {
					t.Error(err)
					return
				}
				if r := recovered(func() { w.Release(1) }); r != nil {
					t.Errorf("a legitimate Release(1) panicked: %v", r)
					return
				}
			}
		})
	}
	var silent, caught int
	var over sync.WaitGroup
	over.Go(func() {
		for !done.Load() {
			switch r := recovered(func() { w.Release(workers + 1) }); {
			case r == nil:
				silent++
			case fmt.Sprint(r) != "semaphore: released more than held":
				t.Errorf("Release(%d) panicked with %v, want x/sync's message", workers+1, r)
			default:
				caught++
			}
			runtime.Gosched()
		}
	})
	wg.Wait()
	done.Store(true)
	over.Wait()
	if silent != 0 {
		t.Errorf("%d of %d Release(%d) calls with at most %d held returned without a panic", silent, silent+caught, workers+1, workers)
	}
	if err := w.Acquire(ctx, size); err != nil {
		t.Fatal(err)
	}
	if w.TryAcquire(1) {
		t.Fatalf("TryAcquire(1) succeeded with the whole size (%d) held", size)
	}
	w.Release(size)
}
