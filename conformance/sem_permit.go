package conformance

import "github.com/compio-sync/gosync/core"

// permitTests check Permit and the memory-model guarantee.
func (s *suite) permitTests(e0 *env) {
	t := e0.t
	s.run(t, "ReleaseExactlyOnce", func(e *env) {
		sem := e.sem(3)
		p, err := e.acquire(sem, 2)
		if err != nil || p.Count() != 2 {
			e.t.Fatalf("AcquireN(2) = (Permit{%d}, %v), want (Permit{2}, nil)", p.Count(), err)
		}
		p.Release()
		if p.Count() != 0 {
			e.t.Errorf("Permit.Count() after Release() = %d, want 0", p.Count())
		}
		p.Release() // no-op
		e.checkCounts(sem, "after Release() twice", counts{Max: 3, Available: 3})
		if e.b != nil { // core's zero Permit; other permit types have their own.
			var zero core.Permit
			zero.Release() // no-op
			if zero.Count() != 0 {
				e.t.Errorf("zero Permit.Count() = %d, want 0", zero.Count())
			}
			e.checkCounts(sem, "after releasing a zero Permit", counts{Max: 3, Available: 3})
		}
	})

	s.run(t, "ReleaseHappensBeforeAcquire", func(e *env) {
		// Plain writes before Release must be visible to the Acquire that
		// receives those permits, whether by handoff to a queued waiter or
		// on the fast path. Two semaphores pass a turn back and forth; the
		// race detector reports a missing happens-before edge.
		toWorker, toMain := e.sem(1), e.sem(1)
		for _, sem := range []semaphore{toWorker, toMain} {
			if _, err := e.acquire(sem, 1); err != nil {
				e.t.Fatalf("Acquire() on an idle semaphore = %v, want nil", err)
			}
		}
		var data [4]int
		rounds := s.size(2000, 300)
		done := make(chan struct{})
		go func() {
			defer close(done)
			for i := range rounds {
				if _, err := e.acquire(toWorker, 1); err != nil {
					return
				}
				if data[0] != 2*i+1 || data[3] != 2*i+1 {
					e.t.Errorf("round %d: after Acquire, data = %v, want all %d (writes before Release must be visible)", i, data, 2*i+1)
				}
				for j := range data {
					data[j] = 2*i + 2
				}
				toMain.Release(1)
			}
		}()
		for i := range rounds {
			for j := range data {
				data[j] = 2*i + 1
			}
			toWorker.Release(1)
			if _, err := e.acquire(toMain, 1); err != nil {
				break
			}
			if data[0] != 2*i+2 || data[3] != 2*i+2 {
				e.t.Errorf("round %d: after Acquire, main sees data = %v, want all %d", i, data, 2*i+2)
				e.unwind() // the worker's Acquire returns.
				break
			}
		}
		<-done
	})
}
