package core_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/compio-sync/gosync/core"
)

// stormConfig shapes one storm: a mix of Acquire (never-ending, cancelled
// early or late, already done), TryAcquire, Permit.Release and
// Semaphore.Release on one semaphore, optionally with a resizer and injected
// backend failures.
type stormConfig struct {
	permits   int
	sizes     []int // SetMaxPermits cycles through these while workers run; nil: no resizes
	failEvery int64 // inject a backend failure every failEvery'th Park; 0: none
	workers   int
	rounds    int
}

// runStorm runs the storm and checks, while it runs, that the permits the
// workers know they hold never exceed the largest maximum ever set, that
// every failure holds nothing and is one of the documented errors; and,
// after it, that the semaphore is back to idle (nothing stranded, nobody
// queued) and the backend saw no double wake, spurious wake or reuse of a
// Parker with a stale token.
func runStorm(t *testing.T, cfg stormConfig) {
	stop := watchdog(t, 60*time.Second)
	defer stop()
	b := &auditBackend{failEvery: cfg.failEvery}
	s := core.NewSemaphore(cfg.permits, b)
	bound := int64(cfg.permits)
	for _, n := range cfg.sizes {
		bound = max(bound, int64(n))
	}

	var (
		held   atomic.Int64 // permits the workers know they hold: <= the real count
		ids    atomic.Int64
		counts [5]atomic.Int64 // ok, ctx, backend, tooLarge, try
	)
	stopResizing := func() {}
	if cfg.sizes != nil {
		stopResizing = resizeUntilStopped(s, cfg.sizes, 1)
	}
	var workers sync.WaitGroup
	for w := range cfg.workers {
		workers.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			for range cfg.rounds {
				n := 1 + rng.IntN(cfg.permits)
				var (
					p   core.Permit
					err error
				)
				base := withID(context.Background(), ids.Add(1))
				switch mode := rng.IntN(6); mode {
				case 0: // never ends: the inlined fast path, then the queue
					p, err = s.AcquireN(base, n)
				case 1, 2: // cancelled by someone else, soon or a bit later
					p, err = acquireCancelledSoon(s, base, n, rng.IntN(4)*mode)
				case 3: // already done
					ctx, cancel := context.WithCancel(base)
					cancel()
					p, err = s.AcquireN(ctx, n)
					if err == nil {
						t.Errorf("AcquireN with a done ctx = (Permit{%d}, nil), want ctx.Err()", p.Count())
					}
				case 4: // a long-lived cancellable ctx: the non-inlined fast path
					ctx, cancel := context.WithCancel(base)
					p, err = s.AcquireN(ctx, n)
					cancel()
				default:
					var ok bool
					if p, ok = s.TryAcquireN(n); !ok {
						counts[4].Add(1)
						continue
					}
				}
				if err != nil {
					if p.Count() != 0 {
						t.Errorf("failed AcquireN(%d) = (Permit{%d}, %v), want an empty Permit", n, p.Count(), err)
					}
					switch {
					case errors.Is(err, context.Canceled):
						counts[1].Add(1)
					case errors.Is(err, errBackend):
						counts[2].Add(1)
						if !strings.HasPrefix(err.Error(), "core:") {
							t.Errorf("backend failure surfaced as %q, want a core: prefix", err)
						}
					case errors.Is(err, core.ErrTooLarge) && cfg.sizes != nil:
						counts[3].Add(1)
					default:
						t.Errorf("AcquireN(%d) = %v, want nil, context.Canceled, a wrapped backend error or (with resizes) ErrTooLarge", n, err)
					}
					continue
				}
				counts[0].Add(1)
				if p.Count() != n {
					t.Errorf("AcquireN(%d) = Permit{%d}", n, p.Count())
				}
				if h := held.Add(int64(n)); h > bound {
					t.Errorf("workers hold %d permits, more than any maximum ever set (%d)", h, bound)
				}
				if rng.IntN(3) == 0 {
					runtime.Gosched()
				}
				held.Add(-int64(n))
				if rng.IntN(2) == 0 {
					p.Release()
				} else {
					s.Release(n)
				}
			}
		})
	}
	workers.Wait()
	stopResizing()
	if cfg.sizes != nil {
		s.SetMaxPermits(cfg.permits)
	}
	if in, av, w, mx := s.InUse(), s.AvailablePermits(), s.Waiting(), s.MaxPermits(); in != 0 || av != cfg.permits || w != 0 || mx != cfg.permits {
		t.Errorf("after the storm: InUse=%d Available=%d Waiting=%d Max=%d, want 0 %d 0 %d", in, av, w, mx, cfg.permits, cfg.permits)
	}
	// Everything is back: a TryAcquire of all permits must work.
	if p, ok := s.TryAcquireN(cfg.permits); !ok {
		t.Errorf("TryAcquireN(%d) on the idle semaphore after the storm failed", cfg.permits)
	} else {
		p.Release()
	}
	for _, v := range b.violations() {
		t.Errorf("backend audit: %s", v)
	}
	t.Logf("granted %d, cancelled %d, backend failures %d, too large %d, try failed %d",
		counts[0].Load(), counts[1].Load(), counts[2].Load(), counts[3].Load(), counts[4].Load())
	if cfg.failEvery > 0 && counts[2].Load() == 0 {
		t.Errorf("no injected backend failure reached a caller: the test did not exercise that path")
	}
}

func TestStormFixedMaxNeverOverGrantsOrStrands(t *testing.T) {
	runStorm(t, stormConfig{permits: 3, workers: 8, rounds: 1500})
}

func TestStormWithResizesNeverOverGrantsOrStrands(t *testing.T) {
	runStorm(t, stormConfig{permits: 3, sizes: []int{2, 5, 3, 1, 4}, workers: 8, rounds: 1500})
}

func TestStormWithBackendFailuresStrandsNothing(t *testing.T) {
	runStorm(t, stormConfig{permits: 2, failEvery: 5, workers: 8, rounds: 1500})
}

func TestStormResizesAndBackendFailures(t *testing.T) {
	runStorm(t, stormConfig{permits: 3, sizes: []int{2, 6, 1, 3}, failEvery: 7, workers: 8, rounds: 1500})
}
