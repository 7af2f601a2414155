package core_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/compio-sync/gosync/core"
)

// TestStormBulkBoundedObservedStrandsNothing runs the features added beside
// the FIFO queue together: TryAcquireUpTo, Permits split and released in
// parts from different goroutines, a queue bound that a second goroutine
// moves between 0 and unbounded, resizes, cancellations and injected
// backend failures, all on a Semaphore with an Observer attached. While it
// runs, the permits the workers know they hold never exceed the largest
// maximum ever set; after it, the Semaphore is idle, the backend saw no
// double or stale wake, and AcquireStats and the Observer agree with what
// the callers saw, outcome by outcome.
func TestStormBulkBoundedObservedStrandsNothing(t *testing.T) {
	stop := watchdog(t, 90*time.Second)
	defer stop()
	const (
		permits = 4
		workers = 8
		rounds  = 1500
	)
	sizes := []int{4, 6, 5, 3, 4}
	b := &auditBackend{failEvery: 9}
	rec := &recorder{}
	s := core.NewSemaphore(permits, b, core.WithObserver(rec), core.WithMaxWaiters(3))
	bound := int64(permits)
	for _, n := range sizes {
		bound = max(bound, int64(n))
	}

	var (
		held   atomic.Int64
		ids    atomic.Int64
		seen   [8]atomic.Uint64 // outcomes of AcquireN as callers saw them
		parts  sync.WaitGroup
		bulk   atomic.Int64 // TryAcquireUpTo calls that took something
		errsMu sync.Mutex
		errs   []string
	)
	fail := func(msg string) {
		errsMu.Lock()
		if len(errs) < 20 {
			errs = append(errs, msg)
		}
		errsMu.Unlock()
	}
	stopResizing := resizeUntilStopped(s, sizes, 1)
	boundDone := make(chan struct{})
	var bounder sync.WaitGroup
	bounder.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-boundDone:
				return
			default:
			}
			s.SetMaxWaiters([]int{1 << 30, 4, 1 << 30, 1}[i%4])
			for range 20 {
				runtime.Gosched()
			}
		}
	})

	// releaseInParts splits p into single permits and releases them from
	// separate goroutines.
	releaseInParts := func(p core.Permit) {
		for p.Count() > 0 {
			part := p.Split(1)
			parts.Go(func() { part.Release() })
		}
		p.Release() // empty now: must do nothing
	}

	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 11))
			for range rounds {
				n := 1 + rng.IntN(permits)
				var (
					p   core.Permit
					err error
				)
				base := withID(context.Background(), ids.Add(1))
				mode := rng.IntN(5)
				switch mode {
				case 0:
					p, err = s.AcquireN(base, n)
				case 1, 2:
					p, err = acquireCancelledSoon(s, base, n, rng.IntN(4)*mode)
				case 3:
					p = s.TryAcquireUpTo(n)
					if p.Count() > n {
						fail("TryAcquireUpTo took more than asked")
					}
					if p.Count() == 0 {
						continue
					}
					bulk.Add(1)
				default:
					ctx, cancel := context.WithCancel(base)
					p, err = s.AcquireN(ctx, n)
					cancel()
				}
				if err != nil {
					if p.Count() != 0 {
						fail("a failed AcquireN returned permits")
					}
					switch {
					case errors.Is(err, context.Canceled):
						seen[core.AcquireCanceled].Add(1)
					case errors.Is(err, errBackend):
						seen[core.AcquireFailed].Add(1)
					case errors.Is(err, core.ErrTooLarge):
						seen[core.AcquireTooLarge].Add(1)
					case errors.Is(err, core.ErrQueueFull):
						seen[core.AcquireQueueFull].Add(1)
					default:
						fail("AcquireN: unexpected error " + err.Error())
					}
					continue
				}
				k := p.Count()
				if mode != 3 {
					seen[core.AcquireGranted].Add(1)
				}
				if h := held.Add(int64(k)); h > bound {
					fail("workers hold more permits than any maximum ever set")
				}
				if rng.IntN(3) == 0 {
					runtime.Gosched()
				}
				held.Add(-int64(k))
				switch rng.IntN(3) {
				case 0:
					p.Release()
				case 1:
					releaseInParts(p)
				default:
					first := p.Split(rng.IntN(k + 1))
					first.Release()
					p.Release()
				}
			}
		})
	}
	wg.Wait()
	parts.Wait()
	close(boundDone)
	bounder.Wait()
	stopResizing()
	s.SetMaxPermits(permits)
	for _, e := range errs {
		t.Error(e)
	}
	if in, av, wt := s.InUse(), s.AvailablePermits(), s.Waiting(); in != 0 || av != permits || wt != 0 {
		t.Errorf("after the storm: InUse=%d Available=%d Waiting=%d, want 0 %d 0", in, av, wt, permits)
	}
	for _, v := range b.violations() {
		t.Errorf("backend audit: %s", v)
	}
	st := s.AcquireStats()
	for _, r := range core.AcquireResults() {
		if got, want := st.Count(r), seen[r].Load(); got != want {
			t.Errorf("AcquireStats().Count(%v) = %d, callers saw %d", r, got, want)
		}
	}
	// How much of each feature ran depends on the scheduler (under qemu a
	// queue may hardly form), so it is logged, not required.
	t.Logf("stats %v, observer calls %d, bulk takes %d", st, len(rec.results()), bulk.Load())
}
