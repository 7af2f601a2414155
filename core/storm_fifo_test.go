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

// TestConcurrentAddsWhileQueuedServeFIFO holds every permit in single
// Permits, queues a known line of waiters (optionally one of them cancelled
// at a random moment), then has several goroutines return the permits at
// once, half through Permit.Release and half through Semaphore.Release. Every
// one of those adds lands while the queue flag is set, and several releasers
// race for the mutex to grant them.
//
// It checks that no add is lost (every waiter that fits is served: a lost
// add strands permits and a waiter forever, which the watchdog reports),
// that the line is served in order (a waiter is only served once at least
// the permits of everybody ahead of it have been released), that nothing is
// granted twice or over the maximum, and that the flag is cleared afterwards
// (a TryAcquire of what is left succeeds).
func TestConcurrentAddsWhileQueuedServeFIFO(t *testing.T) {
	stop := watchdog(t, 120*time.Second)
	defer stop()
	const (
		max       = 6
		releasers = 3
	)
	rng := rand.New(rand.NewPCG(2, 7))
	for round := range 300 {
		s := core.NewSemaphore(max, chanBackend{})
		held := make([]core.Permit, max)
		for i := range held {
			held[i], _ = s.TryAcquire()
		}
		// A line of waiters whose requests add up to at most max.
		var sizes []int
		for sum := 0; ; {
			n := 1 + rng.IntN(3)
			if sum+n > max {
				break
			}
			sizes = append(sizes, n)
			sum += n
		}
		cancelAt := -1
		if round%2 == 1 {
			cancelAt = rng.IntN(len(sizes))
		}
		var (
			released atomic.Int64 // incremented before each release
			grants   atomic.Int64 // permits granted to the line
			wg       sync.WaitGroup
			results  = make([]error, len(sizes))
			counts   = make([]int, len(sizes))
			prefix   int64
		)
		ctx, cancel := context.WithCancel(context.Background())
		for i, n := range sizes {
			// The permits of everybody ahead; a cancelled waiter ahead
			// may not need its share.
			need := prefix + int64(n)
			if cancelAt >= 0 && cancelAt < i {
				need -= int64(sizes[cancelAt])
			}
			prefix += int64(n)
			wctx := context.Background()
			if i == cancelAt {
				wctx = ctx
			}
			wg.Go(func() {
				p, err := s.AcquireN(wctx, n)
				results[i], counts[i] = err, p.Count()
				if err != nil {
					return
				}
				if r := released.Load(); r < need {
					t.Errorf("round %d: waiter %d (n=%d) served after only %d released, but the line ahead of it needs %d: FIFO violated", round, i, n, r, need)
				}
				if g := grants.Add(int64(n)); g > max {
					t.Errorf("round %d: %d permits granted to the line, more than the %d released", round, g, max)
				}
			})
			waitFor(t, "the waiter to queue", func() bool { return s.Waiting() == i+1 })
		}
		if cancelAt >= 0 {
			spins := rng.IntN(8)
			go func() {
				for range spins {
					runtime.Gosched()
				}
				cancel()
			}()
		}
		var rel sync.WaitGroup
		for r := range releasers {
			rel.Go(func() {
				for i := r; i < max; i += releasers {
					released.Add(1)
					if (i+round)%2 == 0 {
						held[i].Release()
					} else {
						s.Release(1)
					}
					if i%3 == 0 {
						runtime.Gosched()
					}
				}
			})
		}
		rel.Wait()
		served := make(chan struct{})
		go func() { wg.Wait(); close(served) }()
		select {
		case <-served:
		case <-time.After(10 * time.Second):
			t.Fatalf("watchdog: round %d: every permit was released but the line %v was not served (InUse=%d Available=%d Waiting=%d): an add was lost",
				round, sizes, s.InUse(), s.AvailablePermits(), s.Waiting())
		}
		cancel()
		var sum int
		for i, err := range results {
			switch {
			case err == nil:
				if counts[i] != sizes[i] {
					t.Fatalf("round %d: waiter %d granted %d, want %d", round, i, counts[i], sizes[i])
				}
				sum += sizes[i]
			case i == cancelAt && errors.Is(err, context.Canceled):
			default:
				t.Fatalf("round %d: waiter %d: %v", round, i, err)
			}
		}
		if in, av, w := s.InUse(), s.AvailablePermits(), s.Waiting(); in != sum || av != max-sum || w != 0 {
			t.Fatalf("round %d: after the line was served: InUse=%d Available=%d Waiting=%d, want %d %d 0", round, in, av, w, sum, max-sum)
		}
		if max-sum > 0 {
			if _, ok := s.TryAcquireN(max - sum); !ok {
				t.Fatalf("round %d: TryAcquireN(%d) of the leftover permits failed: the queue flag was left set", round, max-sum)
			}
		}
	}
}
