package conformance

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/google/go-cmp/cmp"
)

// fifoTests check semantics 2 and 3: strict FIFO, no barging, direct
// handoff, weighted head-of-line blocking, no starvation.
func (s *suite) fifoTests(e0 *env) {
	t := e0.t
	s.run(t, "StrictOrder", func(e *env) {
		// Waiters queue one at a time (Waiting() says when each is in);
		// single-permit Releases must then serve them in that order.
		n := s.size(50, 20)
		sem := e.sem(1)
		hold, err := e.acquire(sem, 1)
		if err != nil {
			e.t.Fatalf("Acquire() on an idle semaphore = %v, want nil", err)
		}
		order := make(chan int, n)
		var wg sync.WaitGroup
		for i := range n {
			c, ok := e.enqueue(e.ctx, sem, 1)
			if !ok {
				return
			}
			wg.Go(func() {
				if r := <-c; r.err == nil {
					order <- i
				}
			})
		}
		defer wg.Wait()
		var got, want []int
		hold.Release()
		for i := range n {
			w, ok := recv(e, order, fmt.Sprintf("the waiter after %d grants (order so far %v)", i, got))
			if !ok {
				return
			}
			got = append(got, w)
			want = append(want, i)
			sem.Release(1) // the waiter just served passes its permit on.
		}
		if diff := cmp.Diff(want, got); diff != "" {
			e.t.Errorf("grant order differs from queue order (-want +got):\n%s", diff)
		}
	})

	s.run(t, "NoBargingByTryAcquire", func(e *env) {
		// The head waiter needs 2 and 1 is free: TryAcquire must not take
		// the free permit, and a new Acquire must queue behind.
		sem := e.sem(2)
		if _, err := e.acquire(sem, 2); err != nil {
			e.t.Fatalf("AcquireN(2) on an idle semaphore = %v, want nil", err)
		}
		head, ok := e.enqueue(e.ctx, sem, 2)
		if !ok {
			return
		}
		sem.Release(1)
		if p, ok := sem.TryAcquireN(1); ok {
			e.t.Errorf("TryAcquire() with 1 permit free and a waiter for 2 queued = (Permit{%d}, true), want false (no barging)", p.Count())
			p.Release()
		}
		late, ok := e.enqueue(e.ctx, sem, 1)
		if !ok {
			return
		}
		sem.Release(1)
		r, ok := e.await(head)
		if !ok || r.err != nil {
			e.t.Fatalf("head AcquireN(2) after 2 permits returned = %v, want nil", r.err)
		}
		if r, blocked := e.stillBlocked(late); !blocked {
			e.t.Fatalf("late Acquire() while the head holds both permits = %v, want it still queued", r.err)
		}
		r.p.Release()
		if r, ok := e.await(late); !ok || r.err != nil {
			e.t.Fatalf("late Acquire() after the head released = %v, want nil", r.err)
		} else {
			r.p.Release()
		}
		e.checkCounts(sem, "at the end", counts{Max: 2, Available: 2})
	})

	s.run(t, "DirectHandoff", func(e *env) {
		// Release hands the permit to the queued waiter itself: right after
		// Release returns, the permit is no longer free for anyone else.
		sem := e.sem(1)
		for i := range s.size(500, 100) {
			if _, err := e.acquire(sem, 1); err != nil {
				e.t.Fatalf("round %d: Acquire() on an idle semaphore = %v, want nil", i, err)
			}
			w, ok := e.enqueue(e.ctx, sem, 1)
			if !ok {
				return
			}
			sem.Release(1)
			if p, ok := sem.TryAcquireN(1); ok {
				e.t.Fatalf("round %d: TryAcquire() right after Release(1) with a waiter queued = (Permit{%d}, true), want false (the permit belongs to the waiter)", i, p.Count())
			}
			r, ok := e.await(w)
			if !ok {
				return
			}
			if r.err != nil {
				e.t.Fatalf("round %d: queued Acquire() after Release(1) = %v, want nil", i, r.err)
			}
			r.p.Release()
		}
	})

	s.run(t, "WeightedHeadOfLine", func(e *env) {
		// A head waiter for 3 holds back a later waiter for 1, even though
		// 1 permit is free: the big request would starve otherwise.
		sem := e.sem(3)
		if _, err := e.acquire(sem, 3); err != nil {
			e.t.Fatalf("AcquireN(3) on an idle semaphore = %v, want nil", err)
		}
		big, ok := e.enqueue(e.ctx, sem, 3)
		if !ok {
			return
		}
		small, ok := e.enqueue(e.ctx, sem, 1)
		if !ok {
			return
		}
		sem.Release(1)
		if r, blocked := e.stillBlocked(small); !blocked {
			e.t.Fatalf("AcquireN(1) queued behind AcquireN(3) with 1 permit free = %v, want it blocked (head-of-line)", r.err)
		}
		e.checkCounts(sem, "1 free, waiters for 3 then 1", counts{Max: 3, InUse: 2, Available: 1, Waiting: 2})
		sem.Release(2)
		r, ok := e.await(big)
		if !ok || r.err != nil {
			e.t.Fatalf("AcquireN(3) after 3 permits freed = %v, want nil", r.err)
		}
		if r, blocked := e.stillBlocked(small); !blocked {
			e.t.Fatalf("AcquireN(1) while AcquireN(3) holds everything = %v, want it blocked", r.err)
		}
		r.p.Release()
		if r, ok := e.await(small); !ok || r.err != nil {
			e.t.Fatalf("AcquireN(1) after AcquireN(3) released = %v, want nil", r.err)
		} else {
			r.p.Release()
		}
	})

	s.run(t, "LargeRequestDoesNotStarve", func(e *env) {
		// Small acquirers keep the semaphore busy; a request for all of it
		// must still be served (FIFO puts later small ones behind it).
		const permits = 10
		sem := e.sem(permits)
		ctx, stop := context.WithCancel(e.ctx)
		var rounds atomic.Int64
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				for ctx.Err() == nil {
					p, err := sem.AcquireN(ctx, 1)
					if err != nil {
						return
					}
					rounds.Add(1)
					p.Release()
				}
			})
		}
		defer wg.Wait()
		defer stop()
		if !e.waitUntil("100 rounds of Acquire(1) by 4 goroutines on 10 permits", func() bool { return rounds.Load() > 100 }) {
			return
		}
		p, err := e.acquire(sem, permits)
		if err != nil {
			e.t.Fatalf("AcquireN(%d) against a stream of Acquire(1) = %v, want nil (a large request never starves)", permits, err)
		}
		if got := sem.InUse(); got != permits {
			e.t.Errorf("InUse() while AcquireN(%d) holds = %d, want %d", permits, got, permits)
		}
		p.Release()
	})
}
