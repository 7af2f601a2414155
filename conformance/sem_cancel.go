package conformance

import (
	"context"
	"errors"
	"math/rand/v2"
	"runtime"
	"time"
)

// cancelTests check semantic 4: contexts.
func (s *suite) cancelTests(e0 *env) {
	t := e0.t
	s.run(t, "AlreadyDoneContext", func(e *env) {
		sem := e.sem(2)
		ctx, cancel := context.WithCancel(e.ctx)
		cancel()
		for _, n := range []int{0, 1, 2} {
			p, err := sem.AcquireN(ctx, n)
			if !errors.Is(err, context.Canceled) {
				e.t.Errorf("AcquireN(done ctx, %d) with permits free = (Permit{%d}, %v), want %v", n, p.Count(), err, context.Canceled)
			}
			if p.Count() != 0 {
				e.t.Errorf("AcquireN(done ctx, %d) returned Permit{%d}, want an empty Permit", n, p.Count())
			}
		}
		e.checkCounts(sem, "after failed Acquires", counts{Max: 2, Available: 2})
	})

	s.run(t, "CancelQueuedWaiter", func(e *env) {
		sem := e.sem(1)
		if _, err := e.acquire(sem, 1); err != nil {
			e.t.Fatalf("Acquire() on an idle semaphore = %v, want nil", err)
		}
		ctx, cancel := context.WithCancel(e.ctx)
		w, ok := e.enqueue(ctx, sem, 1)
		if !ok {
			cancel()
			return
		}
		cancel()
		r, ok := e.await(w)
		if !ok {
			return
		}
		if !errors.Is(r.err, context.Canceled) || r.p.Count() != 0 {
			e.t.Errorf("queued Acquire() after cancel() = (Permit{%d}, %v), want (Permit{0}, %v)", r.p.Count(), r.err, context.Canceled)
		}
		e.checkCounts(sem, "after the cancelled waiter left", counts{Max: 1, InUse: 1, Waiting: 0})
		sem.Release(1)
		e.checkCounts(sem, "after Release(1)", counts{Max: 1, Available: 1})
	})

	s.run(t, "CancelHeadPassesFreePermits", func(e *env) {
		// x/sync's stranded permits: the head waiter needs 2 and 1 is free;
		// when it is cancelled, the waiter behind it, needing 1, must get
		// the free permit at once instead of waiting for another Release.
		sem := e.sem(2)
		if _, err := e.acquire(sem, 2); err != nil {
			e.t.Fatalf("AcquireN(2) on an idle semaphore = %v, want nil", err)
		}
		ctx, cancel := context.WithCancel(e.ctx)
		defer cancel()
		head, ok := e.enqueue(ctx, sem, 2)
		if !ok {
			return
		}
		next, ok := e.enqueue(e.ctx, sem, 1)
		if !ok {
			return
		}
		sem.Release(1)
		cancel()
		if r, ok := e.await(head); ok && !errors.Is(r.err, context.Canceled) {
			e.t.Errorf("cancelled head AcquireN(2) = %v, want %v", r.err, context.Canceled)
		}
		r, ok := e.await(next)
		if !ok {
			e.t.Errorf("AcquireN(1) behind a cancelled head with 1 permit free never returned, want nil at once (the head gave up, so the waiters behind it that fit must be served)")
			return
		}
		if r.err != nil {
			e.t.Fatalf("AcquireN(1) behind a cancelled head with 1 permit free = %v, want nil", r.err)
		}
		e.checkCounts(sem, "after the free permit passed on", counts{Max: 2, InUse: 2})
	})

	s.run(t, "CancelGrantRace", func(e *env) {
		// A Release and a cancel race for a queued waiter, with a second
		// waiter behind it. Whatever wins, the loser holds nothing, the
		// permit reaches someone, and the counts add up.
		sem := e.sem(1)
		rng := rand.New(rand.NewPCG(1, 2))
		for i := range s.size(1000, 200) {
			if _, err := e.acquire(sem, 1); err != nil {
				e.t.Fatalf("round %d: Acquire() on an idle semaphore = %v, want nil", i, err)
			}
			ctx, cancel := context.WithCancel(e.ctx)
			first, ok := e.enqueue(ctx, sem, 1)
			if !ok {
				cancel()
				return
			}
			second, ok := e.enqueue(e.ctx, sem, 1)
			if !ok {
				cancel()
				return
			}
			spin := rng.IntN(3)
			go func() {
				for range spin {
					runtime.Gosched()
				}
				cancel()
			}()
			sem.Release(1)
			r1, ok := e.await(first)
			if !ok {
				return
			}
			if r1.err == nil {
				if r1.p.Count() != 1 {
					e.t.Fatalf("round %d: first Acquire() = (Permit{%d}, nil), want Permit{1}", i, r1.p.Count())
				}
				if got := sem.InUse(); got != 1 {
					e.t.Fatalf("round %d: InUse() while the first waiter holds = %d, want 1", i, got)
				}
				r1.p.Release()
			} else if !errors.Is(r1.err, context.Canceled) || r1.p.Count() != 0 {
				e.t.Fatalf("round %d: first Acquire() = (Permit{%d}, %v), want (Permit{1}, nil) or (Permit{0}, %v)", i, r1.p.Count(), r1.err, context.Canceled)
			}
			r2, ok := e.await(second)
			if !ok {
				e.t.Errorf("round %d: second waiter never served after the first got %v (a stranded permit)", i, r1.err)
				return
			}
			if r2.err != nil {
				e.t.Fatalf("round %d: second Acquire() = %v, want nil", i, r2.err)
			}
			if got := countsOf(sem); got != (counts{Max: 1, InUse: 1}) {
				e.t.Fatalf("round %d: counts while the second waiter holds = %v, want %v", i, got, counts{Max: 1, InUse: 1})
			}
			r2.p.Release()
			if !e.checkCounts(sem, "after the round", counts{Max: 1, Available: 1}) {
				return
			}
		}
	})

	s.run(t, "DeadlineWhileQueued", func(e *env) {
		sem := e.sem(1)
		if _, err := e.acquire(sem, 1); err != nil {
			e.t.Fatalf("Acquire() on an idle semaphore = %v, want nil", err)
		}
		ctx, cancel := context.WithTimeout(e.ctx, e.scaled(10*time.Millisecond))
		defer cancel()
		p, err := sem.AcquireN(ctx, 1)
		if e.ctx.Err() != nil {
			return
		}
		if !errors.Is(err, context.DeadlineExceeded) || p.Count() != 0 {
			e.t.Errorf("Acquire(ctx with deadline) with no permit free = (Permit{%d}, %v), want (Permit{0}, %v)", p.Count(), err, context.DeadlineExceeded)
		}
		e.checkCounts(sem, "after the deadline", counts{Max: 1, InUse: 1})
	})
}
