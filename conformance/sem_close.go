package conformance

import (
	"errors"
	"sync"
)

// closeTests check Close and Closed.
func (s *suite) closeTests(e0 *env) {
	t := e0.t
	s.run(t, "WakesEveryWaiter", func(e *env) {
		n := s.size(100, 20)
		sem := e.sem(2)
		if _, err := e.acquire(sem, 2); err != nil {
			e.t.Fatalf("AcquireN(2) on an idle semaphore = %v, want nil", err)
		}
		var waiters []<-chan result
		for i := range n {
			c, ok := e.enqueue(e.ctx, sem, 1+i%2)
			if !ok {
				return
			}
			waiters = append(waiters, c)
		}
		sem.Close()
		if !sem.Closed() {
			e.t.Errorf("Closed() after Close() = false, want true")
		}
		for i, c := range waiters {
			r, ok := e.await(c)
			if !ok {
				e.t.Fatalf("waiter %d of %d never woke after Close()", i, n)
			}
			if !errors.Is(r.err, e.errClosed) || r.p.Count() != 0 {
				e.t.Errorf("waiter %d: AcquireN after Close() = (Permit{%d}, %v), want (Permit{0}, ErrClosed)", i, r.p.Count(), r.err)
			}
		}
		e.checkCounts(sem, "after Close()", counts{Max: 2, InUse: 2})
	})

	s.run(t, "AcquireAfterClose", func(e *env) {
		sem := e.sem(2)
		if sem.Closed() {
			e.t.Errorf("Closed() on a new semaphore = true, want false")
		}
		sem.Close()
		sem.Close() // idempotent
		if p, err := sem.AcquireN(e.quick(), 1); !errors.Is(err, e.errClosed) {
			e.t.Errorf("Acquire() after Close() = (Permit{%d}, %v), want ErrClosed", p.Count(), err)
		}
		// Closed takes precedence over a request larger than the maximum.
		if p, err := sem.AcquireN(e.quick(), 3); !errors.Is(err, e.errClosed) {
			e.t.Errorf("AcquireN(3) on a closed 2-permit semaphore = (Permit{%d}, %v), want ErrClosed", p.Count(), err)
		}
		if p, ok := sem.TryAcquireN(1); ok {
			e.t.Errorf("TryAcquire() after Close() = (Permit{%d}, true), want false", p.Count())
		}
		e.checkCounts(sem, "after Close()", counts{Max: 2, Available: 2})
	})

	s.run(t, "ReleaseAfterClose", func(e *env) {
		sem := e.sem(3)
		p, err := e.acquire(sem, 2)
		if err != nil {
			e.t.Fatalf("AcquireN(2) = %v, want nil", err)
		}
		if _, err := e.acquire(sem, 1); err != nil {
			e.t.Fatalf("Acquire() = %v, want nil", err)
		}
		sem.Close()
		p.Release()
		sem.Release(1)
		e.checkCounts(sem, "after releasing everything after Close()", counts{Max: 3, Available: 3})
	})

	s.run(t, "CloseRacesAcquire", func(e *env) {
		// Acquires racing Close either succeed or fail with ErrClosed;
		// none hangs and the counts add up.
		for i := range s.size(200, 50) {
			sem := e.sem(2)
			var mu sync.Mutex
			held := 0
			var wg sync.WaitGroup
			for range 4 {
				wg.Go(func() {
					p, err := e.acquire(sem, 1)
					switch {
					case err == nil:
						mu.Lock()
						held++
						mu.Unlock()
						_ = p
					case !errors.Is(err, e.errClosed) && e.ctx.Err() == nil:
						e.t.Errorf("round %d: Acquire() racing Close() = %v, want nil or ErrClosed", i, err)
					}
				})
			}
			sem.Close()
			wg.Wait()
			if held > 2 {
				e.t.Fatalf("round %d: %d Acquires of a 2-permit semaphore succeeded, want at most 2", i, held)
			}
			if !e.checkCounts(sem, "after the race", counts{Max: 2, InUse: held, Available: 2 - held}) {
				return
			}
		}
	})
}
