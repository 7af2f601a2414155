package core_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/compio-sync/gosync/core"
)

// TestStripesAutoStorm: a Semaphore created without WithStripes, whose
// lanes engage after 2 changes of taker and step aside after 4 operations
// on one lane alone (TuneStripes), so that they go on and off all the
// time, by themselves, under every operation: weighted, cancellable and
// never-ending Acquires, TryAcquireN, TryAcquireUpTo, Split, Permit.Release,
// Release and TryRelease of what is held, while a resizer, an Observer
// that comes and goes and a big waiter drain them. Workers count what they
// hold: it never exceeds the largest maximum, a sampler keeps the
// introspection within [0, max], the workers find the lanes both on and off
// between their operations, and at the end nothing is held and the counts
// are exact.
func TestStripesAutoStorm(t *testing.T) {
	old := runtime.GOMAXPROCS(4)
	defer runtime.GOMAXPROCS(old)
	defer core.TuneStripes(2, 4)()
	stop := watchdog(t, 60*time.Second)
	defer stop()
	const (
		permits = 64
		workers = 8
	)
	rounds := 20000
	if testing.Short() {
		rounds = 2000
	}
	s := core.NewSemaphore(permits, chanBackend{})
	var (
		held     atomic.Int64
		bad      atomic.Value
		finished atomic.Bool
		wg, bg   sync.WaitGroup
	)
	fail := func(format string, args ...any) { bad.CompareAndSwap(nil, fmt.Sprintf(format, args...)) }
	hold := func(p core.Permit) {
		if h := held.Add(int64(p.Count())); h > permits {
			fail("workers hold %d permits, more than any maximum (%d)", h, permits)
		}
	}
	unhold := func(n int) { held.Add(-int64(n)) }
	release := func(r *rand.Rand, p core.Permit) {
		unhold(p.Count())
		switch r.IntN(4) {
		case 0:
			p.Release()
		case 1:
			s.Release(p.Count()) // the x/sync style
		case 2:
			if !s.TryRelease(p.Count()) {
				fail("TryRelease(%d) of held permits reported false", p.Count())
			}
		default:
			if p.Count() > 1 {
				q := p.Split(1)
				q.Release()
			}
			p.Release()
		}
	}
	var on, off atomic.Int64 // operations after which the lanes were on, off
	for w := range workers {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 3))
			// rounds, and then on until the workers have seen the lanes
			// both on and off: how often they find them on depends on
			// how the scheduler interleaves the workers, which a loaded
			// machine (or -race) can make rare. The extra rounds are
			// bounded, and the check after the storm reports a storm that
			// never saw both.
			for i := 0; i < rounds || (i < 50*rounds && (on.Load() == 0 || off.Load() == 0)); i++ {
				if core.StripesEngaged(s) {
					on.Add(1)
				} else {
					off.Add(1)
				}
				switch r.IntN(7) {
				case 0, 1, 2:
					n := 1 + r.IntN(3)
					p, err := s.AcquireN(context.Background(), n)
					if err != nil {
						fail("AcquireN(%d): %v", n, err)
						return
					}
					hold(p)
					if r.IntN(4) == 0 {
						runtime.Gosched()
					}
					release(r, p)
				case 3:
					ctx, cancel := context.WithTimeout(context.Background(), time.Duration(r.IntN(30))*time.Microsecond)
					p, err := s.AcquireN(ctx, 1+r.IntN(6))
					cancel()
					if err != nil {
						if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, core.ErrTooLarge) {
							fail("AcquireN with a deadline: %v", err)
						}
						continue
					}
					hold(p)
					release(r, p)
				case 4, 5:
					if p, ok := s.TryAcquireN(1 + r.IntN(2)); ok {
						hold(p)
						release(r, p)
					}
				default:
					p := s.TryAcquireUpTo(r.IntN(6))
					hold(p)
					release(r, p)
				}
			}
		})
	}
	bg.Go(func() { // samples the introspection
		for !finished.Load() {
			if a := s.AvailablePermits(); a < 0 || a > permits {
				fail("AvailablePermits() = %d, outside [0, %d]", a, permits)
			}
			if u := s.InUse(); u < 0 || u > permits {
				fail("InUse() = %d, outside [0, %d]", u, permits)
			}
			runtime.Gosched()
		}
	})
	bg.Go(func() { // a big waiter: drains the lanes and queues
		for !finished.Load() {
			ctx, cancel := context.WithTimeout(context.Background(), 100*time.Microsecond)
			if p, err := s.AcquireN(ctx, 40); err == nil {
				hold(p)
				unhold(p.Count())
				p.Release()
			}
			cancel()
			time.Sleep(500 * time.Microsecond)
		}
	})
	bg.Go(func() { // resizes between 48 and 64, and attaches and detaches an Observer
		for i := 0; !finished.Load(); i++ {
			s.SetMaxPermits(48 + 16*(i%2))
			if i%3 == 0 {
				s.SetObserver(nopObserver{})
			} else {
				s.SetObserver(nil)
			}
			time.Sleep(700 * time.Microsecond)
		}
		s.SetObserver(nil)
		s.SetMaxPermits(permits)
	})
	wg.Wait()
	finished.Store(true)
	bg.Wait()
	if v := bad.Load(); v != nil {
		t.Fatal(v)
	}
	t.Logf("the lanes were on before %d operations and off before %d", on.Load(), off.Load())
	if on.Load() == 0 || off.Load() == 0 {
		t.Errorf("the lanes were on before %d operations and off before %d: the storm did not exercise both", on.Load(), off.Load())
	}
	checkQuiescent(t, s, 0)
	all, err := s.AcquireN(context.Background(), permits)
	if err != nil || all.Count() != permits {
		t.Fatalf("AcquireN(%d) after the storm = %d, %v", permits, all.Count(), err)
	}
	all.Release()
	checkQuiescent(t, s, 0)
}
