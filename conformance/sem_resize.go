package conformance

import (
	"errors"
	"fmt"
)

// resizeTests check SetMaxPermits.
func (s *suite) resizeTests(e0 *env) {
	t := e0.t
	s.run(t, "GrowServesWaiters", func(e *env) {
		sem := e.sem(2)
		if _, err := e.acquire(sem, 2); err != nil {
			e.t.Fatalf("AcquireN(2) = %v, want nil", err)
		}
		w, ok := e.enqueue(e.ctx, sem, 2)
		if !ok {
			return
		}
		sem.SetMaxPermits(4)
		r, ok := e.await(w)
		if !ok || r.err != nil {
			e.t.Fatalf("AcquireN(2) queued on a full semaphore grown from 2 to 4 = %v, want nil at once", r.err)
		}
		e.checkCounts(sem, "after the grow", counts{Max: 4, InUse: 4})
	})

	s.run(t, "ShrinkBelowInUse", func(e *env) {
		sem := e.sem(4)
		if _, err := e.acquire(sem, 3); err != nil {
			e.t.Fatalf("AcquireN(3) = %v, want nil", err)
		}
		sem.SetMaxPermits(2)
		e.checkCounts(sem, "after shrinking 4 to 2 with 3 in use", counts{Max: 2, InUse: 3})
		w, ok := e.enqueue(e.ctx, sem, 1)
		if !ok {
			return
		}
		sem.Release(1) // InUse 2: a grant of 1 would exceed the new max.
		if r, blocked := e.stillBlocked(w); !blocked {
			e.t.Fatalf("AcquireN(1) with InUse 2 and max 2 = %v, want it blocked", r.err)
		}
		e.checkCounts(sem, "after Release(1)", counts{Max: 2, InUse: 2, Waiting: 1})
		sem.Release(1)
		r, ok := e.await(w)
		if !ok || r.err != nil {
			e.t.Fatalf("AcquireN(1) with InUse 1 and max 2 = %v, want nil", r.err)
		}
		e.checkCounts(sem, "after the grant", counts{Max: 2, InUse: 2})
	})

	s.run(t, "ShrinkFailsLargerWaiters", func(e *env) {
		sem := e.sem(4)
		if _, err := e.acquire(sem, 4); err != nil {
			e.t.Fatalf("AcquireN(4) = %v, want nil", err)
		}
		big, ok := e.enqueue(e.ctx, sem, 3)
		if !ok {
			return
		}
		small, ok := e.enqueue(e.ctx, sem, 1)
		if !ok {
			return
		}
		sem.SetMaxPermits(2)
		r, ok := e.await(big)
		if !ok || !errors.Is(r.err, e.errTooLarge) || r.p.Count() != 0 {
			e.t.Fatalf("queued AcquireN(3) after SetMaxPermits(2) = (Permit{%d}, %v), want (Permit{0}, ErrTooLarge)", r.p.Count(), r.err)
		}
		if r, blocked := e.stillBlocked(small); !blocked {
			e.t.Fatalf("queued AcquireN(1) with InUse 4 > max 2 = %v, want it still queued", r.err)
		}
		e.checkCounts(sem, "after the shrink", counts{Max: 2, InUse: 4, Waiting: 1})
		sem.Release(3)
		if r, ok := e.await(small); !ok || r.err != nil {
			e.t.Fatalf("AcquireN(1) after InUse fell to 1 = %v, want nil", r.err)
		}
		e.checkCounts(sem, "at the end", counts{Max: 2, InUse: 2})
	})

	s.run(t, "ResizePanics", func(e *env) {
		sem := e.sem(1)
		e.mustPanic("SetMaxPermits(-1)", func() { sem.SetMaxPermits(-1) })
		if over, ok := e.overLimit(); ok {
			e.mustPanic(fmt.Sprintf("SetMaxPermits(%d), one more than the limit", over), func() { sem.SetMaxPermits(over) })
		}
		e.checkCounts(sem, "after the panics", counts{Max: 1, Available: 1})
	})
}
