package conformance

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/compio-sync/gosync/core"
	"github.com/google/go-cmp/cmp"
)

// queueBoundTests check WithMaxWaiters and SetMaxWaiters: an AcquireN that
// would queue behind MaxWaiters waiters fails at once with ErrQueueFull,
// holding nothing; TryAcquire is unaffected; shrinking the bound never fails
// a waiter already queued.
func (s *suite) queueBoundTests(e0 *env) {
	t := e0.t
	s.run(t, "ReportsBound", func(e *env) {
		if got := e.coreSem(1).MaxWaiters(); got != math.MaxInt {
			e.t.Errorf("MaxWaiters() of a new Semaphore = %d, want math.MaxInt (unbounded)", got)
		}
		sem := e.coreSem(1, limiter.withMaxWaiters(3))
		if got := sem.MaxWaiters(); got != 3 {
			e.t.Errorf("MaxWaiters() after WithMaxWaiters(3) = %d, want 3", got)
		}
		limiter.setMaxWaiters(sem, 0)
		if got := sem.MaxWaiters(); got != 0 {
			e.t.Errorf("MaxWaiters() after SetMaxWaiters(0) = %d, want 0", got)
		}
		e.mustPanic("NewSemaphore(1, b, WithMaxWaiters(-1))", func() { core.NewSemaphore(1, e.b, core.WithMaxWaiters(-1)) })
		e.mustPanic("SetMaxWaiters(-1)", func() { sem.SetMaxWaiters(-1) })
		if got := sem.MaxWaiters(); got != 0 {
			e.t.Errorf("MaxWaiters() after a panicking SetMaxWaiters(-1) = %d, want 0 (unchanged)", got)
		}
	})

	s.run(t, "RefusesWhenFull", func(e *env) {
		const k = 2
		sem := e.coreSem(1, limiter.withMaxWaiters(k))
		hold, err := sem.Acquire(e.ctx)
		if err != nil {
			e.t.Fatalf("Acquire() on an idle semaphore = %v, want nil", err)
		}
		var queued []<-chan result
		for range k {
			c, ok := e.enqueue(e.ctx, adapt(sem), 1)
			if !ok {
				return
			}
			queued = append(queued, c)
		}
		if !e.refused(sem, 1, "with MaxWaiters 2 and 2 waiters queued") {
			return
		}
		e.checkCounts(adapt(sem), "after the refusal", counts{Max: 1, InUse: 1, Waiting: k})
		hold.Release()
		for i, c := range queued {
			r, ok := e.await(c)
			if !ok || r.err != nil {
				e.t.Fatalf("queued Acquire() %d = %v, want nil", i, r.err)
			}
			r.p.Release()
		}
		e.checkCounts(adapt(sem), "at the end", counts{Max: 1, Available: 1})
	})

	s.run(t, "ZeroMeansNoQueue", func(e *env) {
		sem := e.coreSem(2, limiter.withMaxWaiters(0))
		p, err := sem.Acquire(e.ctx)
		if err != nil {
			e.t.Fatalf("Acquire() with MaxWaiters 0 and permits free = %v, want nil (no queueing needed)", err)
		}
		if !e.refused(sem, 2, "with MaxWaiters 0 and 1 of 2 permits free") {
			return
		}
		if q, ok := sem.TryAcquire(); !ok {
			e.t.Errorf("TryAcquire() with MaxWaiters 0 and 1 permit free = false, want true (TryAcquire never queues)")
		} else {
			q.Release()
		}
		e.checkCounts(adapt(sem), "after the refusal", counts{Max: 2, InUse: 1, Available: 1})
		p.Release()
	})

	s.run(t, "TryAcquireUnaffected", func(e *env) {
		// A full queue refuses AcquireN, but TryAcquire neither queues nor
		// reports anything new: it fails because a waiter is queued.
		sem := e.coreSem(1, limiter.withMaxWaiters(1))
		if _, err := sem.Acquire(e.ctx); err != nil {
			e.t.Fatalf("Acquire() = %v, want nil", err)
		}
		w, ok := e.enqueue(e.ctx, adapt(sem), 1)
		if !ok {
			return
		}
		if p, ok := sem.TryAcquire(); ok {
			e.t.Errorf("TryAcquire() with the queue full = (Permit{%d}, true), want false", p.Count())
		}
		sem.Release(1)
		r, ok := e.await(w)
		if !ok || r.err != nil {
			e.t.Fatalf("queued Acquire() = %v, want nil", r.err)
		}
		r.p.Release()
		if p, ok := sem.TryAcquire(); !ok {
			e.t.Errorf("TryAcquire() with MaxWaiters 1 on an idle semaphore = false, want true")
		} else {
			p.Release()
		}
	})

	s.run(t, "ShrinkKeepsQueuedWaiters", func(e *env) {
		// Three waiters queue under no bound; the bound then drops to 1.
		// None of them fails: they are served in order, and only new
		// callers are refused until the queue is shorter than the bound.
		sem := e.coreSem(1)
		hold, err := sem.Acquire(e.ctx)
		if err != nil {
			e.t.Fatalf("Acquire() = %v, want nil", err)
		}
		order := make(chan int, 3)
		var wg sync.WaitGroup
		defer wg.Wait()
		for i := range 3 {
			c, ok := e.enqueue(e.ctx, adapt(sem), 1)
			if !ok {
				return
			}
			wg.Go(func() {
				r := <-c
				if r.err != nil {
					e.t.Errorf("waiter %d queued before SetMaxWaiters(1) = %v, want nil (shrinking never fails queued waiters)", i, r.err)
					return
				}
				order <- i
			})
		}
		limiter.setMaxWaiters(sem, 1)
		if !e.refused(sem, 1, "after SetMaxWaiters(1) with 3 waiters queued") {
			return
		}
		e.checkCounts(adapt(sem), "after the shrink", counts{Max: 1, InUse: 1, Waiting: 3})
		hold.Release()
		var got []int
		for range 3 {
			i, ok := recv(e, order, fmt.Sprintf("the queued waiter after grants %v", got))
			if !ok {
				return
			}
			got = append(got, i)
			sem.Release(1) // the waiter just served passes its permit on.
		}
		if diff := cmp.Diff([]int{0, 1, 2}, got); diff != "" {
			e.t.Errorf("grant order after the shrink (-want +got):\n%s", diff)
		}
		e.checkCounts(adapt(sem), "at the end", counts{Max: 1, Available: 1})
	})

	s.run(t, "GrowAdmitsMore", func(e *env) {
		sem := e.coreSem(1, limiter.withMaxWaiters(1))
		hold, err := sem.Acquire(e.ctx)
		if err != nil {
			e.t.Fatalf("Acquire() = %v, want nil", err)
		}
		first, ok := e.enqueue(e.ctx, adapt(sem), 1)
		if !ok {
			return
		}
		if !e.refused(sem, 1, "with MaxWaiters 1 and 1 waiter queued") {
			return
		}
		limiter.setMaxWaiters(sem, 2)
		second, ok := e.enqueue(e.ctx, adapt(sem), 1)
		if !ok {
			return
		}
		hold.Release()
		for i, c := range []<-chan result{first, second} {
			r, ok := e.await(c)
			if !ok || r.err != nil {
				e.t.Fatalf("waiter %d = %v, want nil", i, r.err)
			}
			r.p.Release()
		}
	})

	s.run(t, "RefusedHoldsNothing", func(e *env) {
		// Goroutines hammer a Semaphore of 2 whose queue holds 1, with
		// weights 1 and 2 and some cancellations. A sampler checks that the
		// queue never grows past the bound; at the end nothing is held,
		// queued or stranded, and every refused call held nothing.
		const bound = 1
		sem := e.coreSem(2, limiter.withMaxWaiters(bound))
		var refusedCalls, over atomic.Int64
		stop := make(chan struct{})
		var sampler sync.WaitGroup
		sampler.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if w := sem.Waiting(); w > bound {
					over.Store(int64(w))
				}
				runtime.Gosched()
			}
		})
		e.goAll(4, "the bounded-queue workload", func(g int, tick func()) {
			rng := rand.New(rand.NewPCG(uint64(g), 7))
			for i := range s.size(2000, 400) {
				tick()
				ctx, cancel := context.WithCancel(e.ctx)
				if i%7 == 0 {
					go cancel()
				}
				p, err := sem.AcquireN(ctx, 1+rng.IntN(2))
				cancel()
				switch {
				case err == nil:
					p.Release()
				case errors.Is(err, core.ErrQueueFull):
					refusedCalls.Add(1)
					if p.Count() != 0 {
						e.t.Errorf("refused AcquireN returned Permit{%d}, want an empty Permit", p.Count())
					}
				case errors.Is(err, context.Canceled):
				default:
					if e.ctx.Err() == nil {
						e.t.Errorf("AcquireN = %v, want nil, ErrQueueFull or context.Canceled", err)
					}
					return
				}
			}
		})
		close(stop)
		sampler.Wait()
		if w := over.Load(); w != 0 {
			e.t.Errorf("Waiting() reached %d with MaxWaiters %d, want at most %d", w, bound, bound)
		}
		if refusedCalls.Load() == 0 {
			e.t.Logf("no AcquireN was refused: the load never filled the queue on this run")
		}
		e.checkCounts(adapt(sem), "after the load", counts{Max: 2, Available: 2})
	})
}

// refused checks that AcquireN(n) on sem fails at once with ErrQueueFull,
// holding nothing. An AcquireN that queues instead is cut off after
// blockWindow and reported; false means the subtest should stop.
func (e *env) refused(sem *core.Semaphore, n int, what string) bool {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(e.ctx, blockWindow)
	defer cancel()
	before := countsOf(adapt(sem))
	p, err := sem.AcquireN(ctx, n)
	if !errors.Is(err, core.ErrQueueFull) || p.Count() != 0 {
		e.t.Errorf("AcquireN(ctx, %d) %s = (Permit{%d}, %v), want (Permit{0}, ErrQueueFull) at once", n, what, p.Count(), err)
		p.Release()
		return false
	}
	return e.checkCounts(adapt(sem), "after a refused AcquireN", before)
}
