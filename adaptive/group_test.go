package adaptive_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/compio-sync/gosync/adaptive"
	"github.com/compio-sync/gosync/core"
)

// waitQueued waits until sem has n waiters, failing the test by name if
// that takes seconds.
func waitQueued(t *testing.T, sem *core.Semaphore, n int) {
	t.Helper()
	within(t, 10*time.Second, "the semaphore's queue to reach its waiters", func() {
		for sem.Waiting() != n {
			time.Sleep(100 * time.Microsecond)
		}
	})
}

// TestGroupGoQueuesFIFOByWeight: Go calls that queue are granted in the
// order they queued, each for its weight: a light one behind a heavy head
// waits for it even when its own weight would fit.
func TestGroupGoQueuesFIFOByWeight(t *testing.T) {
	defer goleak.VerifyNone(t)
	sem := newSem(3)
	g, _ := adaptive.NewGroup(context.Background(), sem)
	gate, _ := sem.AcquireN(context.Background(), 3) // everything queues behind this
	weights := []int{3, 2, 2, 1}                     // A B C D
	started := make([]chan struct{}, len(weights))
	finish := make([]chan struct{}, len(weights))
	var callers sync.WaitGroup
	for i, w := range weights {
		started[i], finish[i] = make(chan struct{}), make(chan struct{})
		callers.Go(func() {
			g.Go(w, func(context.Context) error {
				close(started[i])
				<-finish[i]
				return nil
			})
		})
		waitQueued(t, sem, i+1)
	}
	isStarted := func(i int) bool {
		select {
		case <-started[i]:
			return true
		default:
			return false
		}
	}
	await := func(i int) {
		within(t, 10*time.Second, fmt.Sprintf("function %d to start", i), func() { <-started[i] })
	}
	gate.Release()
	await(0) // A takes all 3
	if sem.Waiting() != 3 || isStarted(1) || isStarted(2) || isStarted(3) {
		t.Fatalf("with A running: Waiting %d, want 3 and nothing else started", sem.Waiting())
	}
	close(finish[0])
	await(1) // B takes 2; C (2) is the head and does not fit in 1; D (1) would, but waits behind C
	if sem.Waiting() != 2 || isStarted(3) || isStarted(2) {
		t.Fatalf("with B running: Waiting %d, C started %v, D started %v; want 2 waiting, D behind C", sem.Waiting(), isStarted(2), isStarted(3))
	}
	close(finish[1])
	await(2) // C and D together
	await(3)
	close(finish[2])
	close(finish[3])
	within(t, 10*time.Second, "the Go calls", callers.Wait)
	var err error
	within(t, 10*time.Second, "Wait", func() { err = g.Wait() })
	if err != nil {
		t.Fatalf("Wait = %v, want nil", err)
	}
	if sem.InUse() != 0 {
		t.Errorf("InUse after Wait = %d, want 0", sem.InUse())
	}
}

// TestGroupFirstErrorCancelsTheRest: the first error cancels the group's
// context, so running functions stop and a Go still queued gives up
// without running its function; Wait returns that first error and every
// permit is back.
func TestGroupFirstErrorCancelsTheRest(t *testing.T) {
	defer goleak.VerifyNone(t)
	sem := newSem(2)
	g, ctx := adaptive.NewGroup(context.Background(), sem)
	first := errors.New("first failure")
	started := make(chan struct{}, 2)
	fire := make(chan struct{})
	within(t, 10*time.Second, "two Go calls with permits free", func() {
		g.Go(1, func(ctx context.Context) error {
			started <- struct{}{}
			<-ctx.Done()
			return errors.New("a later failure")
		})
		g.Go(1, func(context.Context) error {
			started <- struct{}{}
			<-fire
			return first
		})
	})
	<-started
	<-started
	var ranQueued atomic.Bool
	queued := make(chan struct{})
	go func() {
		defer close(queued)
		g.Go(2, func(context.Context) error { // cannot fit while the two run
			ranQueued.Store(true)
			return nil
		})
	}()
	waitQueued(t, sem, 1)
	close(fire)
	within(t, 10*time.Second, "the queued Go to give up", func() { <-queued })
	var err error
	within(t, 10*time.Second, "Wait", func() { err = g.Wait() })
	if err != first {
		t.Fatalf("Wait = %v, want the first error %v", err, first)
	}
	if ranQueued.Load() {
		t.Errorf("the Go queued when the first error came ran its function")
	}
	if ctx.Err() == nil || context.Cause(ctx) != first {
		t.Errorf("group context: Err %v, Cause %v; want canceled with the first error", ctx.Err(), context.Cause(ctx))
	}
	if sem.InUse() != 0 || sem.Waiting() != 0 {
		t.Errorf("after Wait: InUse %d, Waiting %d, want 0, 0", sem.InUse(), sem.Waiting())
	}
}

// TestGroupParentCancelWhileQueued: a Go queued when the parent context is
// canceled gives up, holding nothing, and Wait reports the parent's cause.
func TestGroupParentCancelWhileQueued(t *testing.T) {
	defer goleak.VerifyNone(t)
	sem := newSem(1)
	parent, cancel := context.WithCancelCause(context.Background())
	g, _ := adaptive.NewGroup(parent, sem)
	held, _ := sem.Acquire(context.Background())
	stop := errors.New("shutting down")
	done := make(chan struct{})
	go func() {
		defer close(done)
		g.Go(1, func(context.Context) error { t.Error("function ran after its Go gave up"); return nil })
	}()
	waitQueued(t, sem, 1)
	cancel(stop)
	within(t, 10*time.Second, "the queued Go after the parent's cancel", func() { <-done })
	held.Release()
	if err := g.Wait(); err != stop {
		t.Fatalf("Wait = %v, want the parent's cause %v", err, stop)
	}
	if sem.InUse() != 0 || sem.Waiting() != 0 {
		t.Errorf("InUse %d, Waiting %d, want 0, 0", sem.InUse(), sem.Waiting())
	}
}

// TestGroupRefusedWeight: a weight the semaphore can never grant fails the
// group with the semaphore's error at once; bad arguments panic.
func TestGroupRefusedWeight(t *testing.T) {
	defer goleak.VerifyNone(t)
	sem := newSem(2)
	g, ctx := adaptive.NewGroup(context.Background(), sem)
	g.Go(3, func(context.Context) error { t.Error("a refused Go ran its function"); return nil })
	if err := g.Wait(); !errors.Is(err, core.ErrTooLarge) {
		t.Fatalf("Wait after Go(3) on 2 permits = %v, want core.ErrTooLarge", err)
	}
	if ctx.Err() == nil {
		t.Errorf("the group's context is not canceled after a refused Go")
	}
	mustPanic(t, "Go(0, f)", func() { g.Go(0, func(context.Context) error { return nil }) })
	mustPanic(t, "Go(1, nil)", func() { g.Go(1, nil) })
	mustPanic(t, "NewGroup(ctx, nil)", func() { adaptive.NewGroup(context.Background(), nil) })
}

// TestGroupManyUnderRace: many weighted functions from several goroutines
// never hold more than the maximum at once and leave nothing held.
func TestGroupManyUnderRace(t *testing.T) {
	defer goleak.VerifyNone(t)
	const max = 4
	sem := newSem(max)
	g, _ := adaptive.NewGroup(context.Background(), sem)
	var held, peak atomic.Int64
	var callers sync.WaitGroup
	for c := range 4 {
		callers.Go(func() {
			for i := range 50 {
				w := 1 + (c+i)%3
				g.Go(w, func(context.Context) error {
					now := held.Add(int64(w))
					for {
						p := peak.Load()
						if now <= p || peak.CompareAndSwap(p, now) {
							break
						}
					}
					held.Add(-int64(w))
					return nil
				})
			}
		})
	}
	within(t, 30*time.Second, "the callers", callers.Wait)
	within(t, 30*time.Second, "Wait", func() {
		if err := g.Wait(); err != nil {
			t.Errorf("Wait = %v", err)
		}
	})
	if p := peak.Load(); p > max {
		t.Errorf("functions held %d permits at once, more than the maximum %d", p, max)
	}
	if sem.InUse() != 0 {
		t.Errorf("InUse after Wait = %d, want 0", sem.InUse())
	}
}
