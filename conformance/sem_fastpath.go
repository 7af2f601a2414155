package conformance

import (
	"context"
	"testing"
)

// fastPathTests check semantic 1: while nobody waits, Acquire, TryAcquire
// and Release allocate nothing.
func (s *suite) fastPathTests(e0 *env) {
	t := e0.t
	s.run(t, "AcquireReleaseZeroAllocs", func(e *env) {
		sem := e.sem(4)
		ctx := context.Background()
		allocs := testing.AllocsPerRun(1000, func() {
			p, err := sem.Acquire(ctx)
			if err != nil {
				panic(err)
			}
			p.Release()
			p2, err := sem.AcquireN(ctx, 3)
			if err != nil {
				panic(err)
			}
			p2.Release()
		})
		if allocs != 0 {
			e.t.Errorf("uncontended Acquire + Permit.Release + AcquireN(3) + Permit.Release: %v allocations per run, want 0", allocs)
		}
		e.checkCounts(sem, "after the runs", counts{Max: 4, Available: 4})
	})

	s.run(t, "TryAcquireReleaseZeroAllocs", func(e *env) {
		sem := e.sem(4)
		allocs := testing.AllocsPerRun(1000, func() {
			if _, ok := sem.TryAcquireN(2); !ok {
				panic("TryAcquireN(2) failed on an idle semaphore")
			}
			sem.Release(2)
			if _, ok := sem.TryAcquire(); !ok {
				panic("TryAcquire failed on an idle semaphore")
			}
			if !sem.TryRelease(1) {
				panic("TryRelease(1) failed")
			}
		})
		if allocs != 0 {
			e.t.Errorf("uncontended TryAcquireN(2) + Release(2) + TryAcquire + TryRelease(1): %v allocations per run, want 0", allocs)
		}
		e.checkCounts(sem, "after the runs", counts{Max: 4, Available: 4})
	})
}
