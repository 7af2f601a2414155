package conformance

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// loadTests run many goroutines against one semaphore while a sampler
// checks the introspection invariants.
func (s *suite) loadTests(e0 *env) {
	t := e0.t
	s.run(t, "ManyOnHundred", func(e *env) {
		e.loadRun(100, s.size(1000, 200), 3)
	})
	s.run(t, "TenThousandOnOne", func(e *env) {
		e.loadRun(1, s.size(10_000, 1000), 1)
	})
	s.run(t, "MixedTryAcquireCancel", func(e *env) {
		const permits = 8
		sem := e.sem(permits)
		stop := e.sample(sem, permits)
		var inside atomic.Int64
		e.goAll(s.size(64, 16), "the mixed workload", func(g int, tick func()) {
			rng := rand.New(rand.NewPCG(uint64(g), 7))
			for range s.size(200, 50) {
				tick()
				n := 1 + rng.IntN(3)
				var p Permit
				var ok bool
				switch rng.IntN(3) {
				case 0:
					p, ok = sem.TryAcquireN(n)
				case 1:
					ctx, cancel := context.WithTimeout(e.ctx, e.scaled(time.Duration(rng.IntN(200))*time.Microsecond))
					var err error
					p, err = sem.AcquireN(ctx, n)
					cancel()
					ok = err == nil
				default:
					var err error
					p, err = sem.AcquireN(e.ctx, n)
					ok = err == nil
				}
				if !ok {
					if e.ctx.Err() != nil {
						return
					}
					continue
				}
				if in := inside.Add(int64(n)); in > permits {
					e.t.Errorf("%d permits held at once on a semaphore of %d", in, permits)
				}
				inside.Add(-int64(n))
				p.Release()
			}
		})
		stop()
		e.checkCounts(sem, "after the workload", counts{Max: permits, Available: permits})
	})
}

// loadRun runs goroutines goroutines, each acquiring 1 permit rounds times,
// against permits permits, checking that at most permits are held at once.
func (e *env) loadRun(permits, goroutines, rounds int) {
	sem := e.sem(permits)
	stop := e.sample(sem, permits)
	var inside atomic.Int64
	e.goAll(goroutines, fmt.Sprintf("%d goroutines acquiring 1 of %d permits", goroutines, permits), func(_ int, tick func()) {
		for range rounds {
			p, err := sem.AcquireN(e.ctx, 1)
			tick()
			if err != nil {
				if e.ctx.Err() == nil {
					e.t.Errorf("Acquire() under load = %v, want nil", err)
				}
				return
			}
			if in := inside.Add(1); in > int64(permits) {
				e.t.Errorf("%d goroutines hold a permit at once on a semaphore of %d", in, permits)
			}
			inside.Add(-1)
			p.Release()
		}
	})
	stop()
	e.checkCounts(sem, "after the load", counts{Max: permits, Available: permits})
}

// sample checks InUse <= MaxPermits and non-negative counts on sem until the
// returned stop is called.
func (e *env) sample(sem semaphore, permits int) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			c := countsOf(sem)
			if c.InUse > c.Max || c.InUse < 0 || c.Available < 0 || c.Waiting < 0 || c.Available > c.Max || c.Max != permits {
				e.t.Errorf("sampled counts %v, want 0 <= InUse <= Max = %d, 0 <= Available <= Max, Waiting >= 0", c, permits)
				return
			}
			select {
			case <-done:
				return
			case <-time.After(e.scaled(2 * pollInterval)):
			}
		}
	})
	return func() { close(done); wg.Wait() }
}
