package conformance

import (
	"context"
	"errors"

	"github.com/compio-sync/gosync/core"
)

// argumentTests check semantic 5 and the documented panics.
func (s *suite) argumentTests(e0 *env) {
	t := e0.t
	s.run(t, "TooLargeFailsAtOnce", func(e *env) {
		sem := e.sem(3)
		if _, err := e.acquire(sem, 1); err != nil {
			e.t.Fatalf("Acquire() on an idle semaphore = %v, want nil", err)
		}
		queued, ok := e.enqueue(e.ctx, sem, 3)
		if !ok {
			return
		}
		// A request that blocked instead of failing would end with the
		// quick context's deadline: a failure, not a hang.
		p, err := sem.AcquireN(e.quick(), 4)
		if !errors.Is(err, e.errTooLarge) || p.Count() != 0 {
			e.t.Errorf("AcquireN(ctx, 4) on a semaphore of 3 = (Permit{%d}, %v), want (Permit{0}, ErrTooLarge)", p.Count(), err)
		}
		if p, ok := sem.TryAcquireN(4); ok {
			e.t.Errorf("TryAcquireN(4) on a semaphore of 3 = (Permit{%d}, true), want false", p.Count())
		}
		e.checkCounts(sem, "after the too-large requests", counts{Max: 3, InUse: 1, Available: 2, Waiting: 1})
		sem.Release(1)
		if r, ok := e.await(queued); ok && r.err != nil {
			e.t.Errorf("AcquireN(3) queued before the too-large request = %v, want nil", r.err)
		}
	})

	s.run(t, "ZeroN", func(e *env) {
		sem := e.sem(1)
		if _, err := e.acquire(sem, 1); err != nil {
			e.t.Fatalf("Acquire() on an idle semaphore = %v, want nil", err)
		}
		if _, ok := e.enqueue(e.ctx, sem, 1); !ok {
			return
		}
		// With no permit free and a waiter queued, n == 0 still succeeds
		// at once without queueing (blocking ends at the quick deadline).
		p, err := sem.AcquireN(e.quick(), 0)
		if err != nil || p.Count() != 0 {
			e.t.Errorf("AcquireN(ctx, 0) with no permit free and a waiter queued = (Permit{%d}, %v), want (Permit{0}, nil)", p.Count(), err)
		}
		p.Release() // releasing an empty Permit is a no-op.
		e.checkCounts(sem, "after AcquireN(0)", counts{Max: 1, InUse: 1, Waiting: 1})
		done, cancel := context.WithCancel(e.ctx)
		cancel()
		if _, err := sem.AcquireN(done, 0); !errors.Is(err, context.Canceled) {
			e.t.Errorf("AcquireN(done ctx, 0) = %v, want %v", err, context.Canceled)
		}
		sem.Close()
		if _, err := sem.AcquireN(e.quick(), 0); !errors.Is(err, e.errClosed) {
			e.t.Errorf("AcquireN(ctx, 0) after Close() = %v, want ErrClosed", err)
		}
	})

	s.run(t, "ZeroNAfterShrink", func(e *env) {
		// After SetMaxPermits shrank the maximum below what is held, no
		// permit is free, but n == 0 needs none: both forms succeed.
		sem := e.sem(4)
		if _, err := e.acquire(sem, 3); err != nil {
			e.t.Fatalf("AcquireN(3) = %v, want nil", err)
		}
		sem.SetMaxPermits(2)
		if p, ok := sem.TryAcquireN(0); !ok || p.Count() != 0 {
			e.t.Errorf("TryAcquireN(0) with InUse 3 > MaxPermits 2 = (Permit{%d}, %v), want (Permit{0}, true) (n == 0 succeeds unless closed)", p.Count(), ok)
		}
		if p, err := sem.AcquireN(e.quick(), 0); err != nil || p.Count() != 0 {
			e.t.Errorf("AcquireN(ctx, 0) with InUse 3 > MaxPermits 2 = (Permit{%d}, %v), want (Permit{0}, nil)", p.Count(), err)
		}
		e.checkCounts(sem, "after the zero requests", counts{Max: 2, InUse: 3})
	})

	s.run(t, "NegativeNPanics", func(e *env) {
		sem := e.sem(1)
		e.mustPanic("AcquireN(ctx, -1)", func() { sem.AcquireN(e.ctx, -1) })
		e.mustPanic("TryAcquireN(-1)", func() { sem.TryAcquireN(-1) })
		e.mustPanic("Release(-1)", func() { sem.Release(-1) })
		e.checkCounts(sem, "after the panics", counts{Max: 1, Available: 1})
	})

	s.run(t, "OverReleasePanicsChangingNothing", func(e *env) {
		// A Release of more than is held panics before it changes
		// anything: the permits still held stay held, none is granted an
		// excess, and the counts stay exact.
		// 8 permits: enough for core's stripes, where engaged.
		sem := e.sem(8)
		if _, ok := sem.TryAcquireN(6); !ok {
			e.t.Fatal("TryAcquireN(6) on 8 free failed")
		}
		e.mustPanic("Release(7) with 6 held", func() { sem.Release(7) })
		e.checkCounts(sem, "after the over-release panicked", counts{Max: 8, InUse: 6, Available: 2})
		if _, ok := sem.TryAcquireN(3); ok {
			e.t.Error("TryAcquireN(3) with 2 free succeeded after an over-release panicked")
		}
		sem.Release(6)
		e.mustPanic("Release(1) with nothing held", func() { sem.Release(1) })
		e.checkCounts(sem, "after the last Release", counts{Max: 8, Available: 8})
	})

	if s.newBackend != nil {
		// core's constructor; under RunSemaphore the factory is the
		// implementation's business.
		s.run(t, "NewSemaphorePanics", func(e *env) {
			e.mustPanic("NewSemaphore(-1, b)", func() { core.NewSemaphore(-1, e.b) })
			e.mustPanic("NewSemaphore(1, nil)", func() { core.NewSemaphore(1, nil) })
			if over, ok := e.overLimit(); ok {
				e.mustPanic("NewSemaphore(MaxPermitsLimit+1, b)", func() { core.NewSemaphore(over, e.b) })
			}
		})
	}

	s.run(t, "LimitIsUsable", func(e *env) {
		// A semaphore of exactly PermitsLimit permits works, all the way.
		limit := e.permitsLimit()
		sem := e.sem(limit)
		if got := sem.MaxPermits(); got != limit {
			e.t.Errorf("a semaphore of %d permits (the limit): MaxPermits() = %d, want %d", limit, got, limit)
		}
		p, err := e.acquire(sem, limit)
		if err != nil || sem.InUse() != limit || sem.AvailablePermits() != 0 {
			e.t.Errorf("AcquireN(limit %d) = %v, InUse %d, Available %d; want nil, %d, 0", limit, err, sem.InUse(), sem.AvailablePermits(), limit)
		}
		p.Release()
		e.checkCounts(sem, "after releasing the limit", counts{Max: limit, Available: limit})
	})

	s.run(t, "ReleaseMoreThanHeldPanics", func(e *env) {
		sem := e.sem(2)
		e.mustPanic("Release(1) with nothing held", func() { sem.Release(1) })
		if _, err := e.acquire(sem, 1); err != nil {
			e.t.Fatalf("Acquire() = %v, want nil", err)
		}
		e.mustPanic("Release(2) with 1 held", func() { sem.Release(2) })
		if sem.TryRelease(2) {
			e.t.Errorf("TryRelease(2) with 1 held = true, want false")
		}
		e.checkCounts(sem, "after the refused releases", counts{Max: 2, InUse: 1, Available: 1})
		if !sem.TryRelease(1) {
			e.t.Errorf("TryRelease(1) with 1 held = false, want true")
		}
		e.checkCounts(sem, "after TryRelease(1)", counts{Max: 2, Available: 2})
	})
}
