package semaphore_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/compio-sync/gosync/backend-generic/semaphore"
	xsync "golang.org/x/sync/semaphore"
)

// mustPanic runs f and fails unless it panics with want.
func mustPanic(t *testing.T, want string, f func()) {
	t.Helper()
	defer func() {
		t.Helper()
		r := recover()
		if r == nil {
			t.Fatalf("no panic, want %q", want)
		}
		// A string, or an error (the negative-weight values) whose
		// message the runtime prints.
		if msg := fmt.Sprint(r); msg != want {
			t.Fatalf("panic = %v, want %q", r, want)
		}
	}()
	f()
}

func TestReleaseMoreThanHeldPanicsLikeXSync(t *testing.T) {
	const want = "semaphore: released more than held"
	w := semaphore.NewWeighted(1)
	mustPanic(t, want, func() { w.Release(1) })
	x := xsync.NewWeighted(1)
	mustPanic(t, want, func() { x.Release(1) })
	// More than the size is also more than held.
	mustPanic(t, want, func() { w.Release(2) })
}

// TestMatchesXSyncSequentially drives both semaphores through the same random
// sequence of non-blocking operations and compares every result.
func TestMatchesXSyncSequentially(t *testing.T) {
	for seed := range uint64(50) {
		rng := rand.New(rand.NewPCG(seed, 1))
		size := int64(1 + rng.IntN(10))
		ours, theirs := semaphore.NewWeighted(size), xsync.NewWeighted(size)
		var held int64
		for step := range 200 {
			n := int64(rng.IntN(int(size) + 2))
			switch rng.IntN(3) {
			case 0:
				got, want := ours.TryAcquire(n), theirs.TryAcquire(n)
				if got != want {
					t.Fatalf("seed %d step %d: TryAcquire(%d) with %d of %d held = %v, x/sync says %v", seed, step, n, held, size, got, want)
				}
				if got {
					held += n
				}
			case 1:
				ctx, cancel := context.WithCancel(context.Background())
				cancel()
				got, want := ours.Acquire(ctx, n), theirs.Acquire(ctx, n)
				if got != want {
					t.Fatalf("seed %d step %d: Acquire(done ctx, %d) = %v, x/sync says %v", seed, step, n, got, want)
				}
			case 2:
				if n <= held {
					ours.Release(n)
					theirs.Release(n)
					held -= n
				}
			}
		}
	}
}

func TestAcquireTooLargeWaitsForContext(t *testing.T) {
	defer watchdog(t, 30*time.Second)()
	w := semaphore.NewWeighted(2)
	for _, n := range []int64{3, math.MaxInt64} {
		ctx, cancel := context.WithCancel(context.Background())
		doomed := make(chan error, 1)
		go func() { doomed <- w.Acquire(ctx, n) }()
		// While it waits, it blocks nobody: fitting requests come and go.
		for range 100 {
			if err := w.Acquire(context.Background(), 2); err != nil {
				t.Fatalf("Acquire(2) while Acquire(%d) waits = %v", n, err)
			}
			w.Release(2)
		}
		select {
		case err := <-doomed:
			t.Fatalf("Acquire(%d) on size 2 returned %v before ctx ended", n, err)
		default:
		}
		cancel()
		if err := <-doomed; err != context.Canceled {
			t.Fatalf("Acquire(%d) on size 2 = %v, want context.Canceled", n, err)
		}
		// And it held nothing.
		if !w.TryAcquire(2) {
			t.Fatalf("TryAcquire(2) after a doomed Acquire(%d) failed", n)
		}
		w.Release(2)
		if w.TryAcquire(n) {
			t.Fatalf("TryAcquire(%d) on size 2 succeeded", n)
		}
	}
}

// TestLargeAcquireDoesntStarve guards the same property as x/sync's test of
// that name: a stream of small acquirers cannot starve a large one.
//
// It also leans on the memory model: running is a plain variable, and the
// race detector accepts it only because each Release happens before the
// Acquire that receives its permits.
func TestLargeAcquireDoesntStarve(t *testing.T) {
	defer watchdog(t, time.Minute)()
	ctx := context.Background()
	const n = 2
	w := semaphore.NewWeighted(n)
	running := true
	var wg sync.WaitGroup
	wg.Add(n)
	for range n {
		_ = w.Acquire(ctx, 1)
		go func() {
			defer func() {
				w.Release(1)
				wg.Done()
			}()
			for running {
				time.Sleep(time.Millisecond)
				w.Release(1)
				_ = w.Acquire(ctx, 1)
			}
		}()
	}
	_ = w.Acquire(ctx, n)
	running = false
	w.Release(n)
	wg.Wait()
}

// TestCancelledHeadDoesntStrandPermits guards against x/sync's stranded
// permits: when the head waiter gives up, the waiters behind it that fit
// in the free permits are served at once, not at the next Release.
func TestCancelledHeadDoesntStrandPermits(t *testing.T) {
	w := semaphore.NewWeighted(2)
	if !w.TryAcquire(1) {
		t.Fatal("TryAcquire(1) on an idle semaphore failed")
	}
	ctx, cancel := context.WithCancel(context.Background())
	headDone := make(chan error)
	go func() { headDone <- w.Acquire(ctx, 2) }()
	time.Sleep(10 * time.Millisecond) // let the head queue
	smallDone := make(chan error)
	go func() { smallDone <- w.Acquire(context.Background(), 1) }()
	time.Sleep(10 * time.Millisecond)
	cancel()
	if err := <-headDone; err != context.Canceled {
		t.Fatalf("head Acquire(2) = %v, want context.Canceled", err)
	}
	select {
	case err := <-smallDone:
		if err != nil {
			t.Fatalf("Acquire(1) behind the cancelled head = %v, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("watchdog: Acquire(1) stranded behind a cancelled head: its permit was free, but nobody served the waiters behind the head when the head gave up")
	}
}

func TestNegativeWeightPanics(t *testing.T) {
	w := semaphore.NewWeighted(1)
	mustPanic(t, "semaphore: Release with negative weight -1", func() { w.Release(-1) })
	mustPanic(t, "semaphore: TryAcquire with negative weight -1", func() { w.TryAcquire(-1) })
	mustPanic(t, "semaphore: Acquire with negative weight -1", func() { _ = w.Acquire(context.Background(), -1) })
}

// watchdog turns a hang into a failure with every goroutine's stack, instead
// of waiting for go test's timeout.
func watchdog(t *testing.T, d time.Duration) (stop func()) {
	t.Helper()
	timer := time.AfterFunc(d, func() {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		panic("watchdog: " + t.Name() + " hung; goroutines:\n" + string(buf))
	})
	return func() { timer.Stop() }
}

// TestNewWeightedRejectsSizesIntCannotHold guards 32-bit platforms, where
// core counts in 32-bit ints: a larger size must panic, not wrap around.
// (make test runs this package with GOARCH=386.)
func TestNewWeightedRejectsSizesIntCannotHold(t *testing.T) {
	const size = int64(1) << 32
	if int64(math.MaxInt) >= size {
		w := semaphore.NewWeighted(size)
		if !w.TryAcquire(size) {
			t.Fatalf("TryAcquire(%d) on NewWeighted(%d) = false, want true", size, size)
		}
		return
	}
	defer func() {
		if r := recover(); r == nil {
			t.Fatalf("NewWeighted(%d) with 32-bit int did not panic", size)
		}
	}()
	semaphore.NewWeighted(size)
}
