package conformance

import (
	"context"
	"testing"
)

// coreFastPathTests check core's semantic 1: while nobody waits, Acquire,
// TryAcquire, Release and Permit.Release allocate nothing.
func (s *suite) coreFastPathTests(e0 *env) {
	t := e0.t
	s.run(t, "AcquireReleaseZeroAllocs", func(e *env) {
		sem := e.coreSem(4)
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
		e.checkCounts(adapt(sem), "after the runs", counts{Max: 4, Available: 4})
	})

	s.run(t, "TryAcquireReleaseZeroAllocs", func(e *env) {
		sem := e.coreSem(4)
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
		e.checkCounts(adapt(sem), "after the runs", counts{Max: 4, Available: 4})
	})
}

// typedFastPathTests are the FastPath family of RunSemaphore: while nobody
// waits, AcquireN, TryAcquireN, Release and TryRelease allocate nothing. They
// call the implementation's own type S, so that no permit is converted (a
// conversion to an interface could allocate); Permit.Release is not timed,
// because calling it needs that conversion for a value permit type.
func typedFastPathTests[S Semaphore[P], P any](s *suite, e0 *env, newSemaphore func(t *testing.T, permits int) S) {
	t := e0.t
	typed := func(e *env, permits int) S {
		sem := newSemaphore(e.t, permits)
		e.onUnwind(sem.Close)
		return sem
	}
	s.run(t, "AcquireReleaseZeroAllocs", func(e *env) {
		sem := typed(e, 4)
		ctx := context.Background()
		allocs := testing.AllocsPerRun(1000, func() {
			if _, err := sem.AcquireN(ctx, 1); err != nil {
				panic(err)
			}
			sem.Release(1)
			if _, err := sem.AcquireN(ctx, 3); err != nil {
				panic(err)
			}
			sem.Release(3)
		})
		if allocs != 0 {
			e.t.Errorf("uncontended AcquireN(1) + Release(1) + AcquireN(3) + Release(3): %v allocations per run, want 0", allocs)
		}
		e.checkCounts(adapter[S, P]{sem}, "after the runs", counts{Max: 4, Available: 4})
	})

	s.run(t, "TryAcquireReleaseZeroAllocs", func(e *env) {
		sem := typed(e, 4)
		allocs := testing.AllocsPerRun(1000, func() {
			if _, ok := sem.TryAcquireN(2); !ok {
				panic("TryAcquireN(2) failed on an idle semaphore")
			}
			sem.Release(2)
			if _, ok := sem.TryAcquireN(1); !ok {
				panic("TryAcquireN(1) failed on an idle semaphore")
			}
			if !sem.TryRelease(1) {
				panic("TryRelease(1) failed")
			}
		})
		if allocs != 0 {
			e.t.Errorf("uncontended TryAcquireN(2) + Release(2) + TryAcquireN(1) + TryRelease(1): %v allocations per run, want 0", allocs)
		}
		e.checkCounts(adapter[S, P]{sem}, "after the runs", counts{Max: 4, Available: 4})
	})
}
