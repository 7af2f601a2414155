package shared_test

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/compio-sync/gosync/shared"
)

func init() {
	// grantdie: grant every queued request (SetMaxPermits(n)), and die
	// (hang, to be killed) at stage, after the commit or after the
	// unlock, before waking anyone.
	extraRoles["grantdie"] = func(out logger) int {
		s := openForRole(out)
		stage := childStr("stage")
		shared.SetServeHook(func(st string) {
			if st == stage {
				out.printf("stranded")
				select {}
			}
		})
		s.SetMaxPermits(childArg("n", 1))
		out.printf("not stranded")
		return 2
	}
}

// pollessWaiter is a FutexWaiter whose Waits ignore their deadlines: a
// request waiting through it never looks at its slot again on its own, so
// only a wake ends its sleep. wakeAll wakes every word it sleeps on (to end
// a failed test).
type pollessWaiter struct {
	shared.FutexWaiter
	mu    sync.Mutex
	words map[*atomic.Uint32]bool
}

func (w *pollessWaiter) Wait(ctx context.Context, word *atomic.Uint32, val uint32) error {
	w.mu.Lock()
	w.words[word] = true
	w.mu.Unlock()
	return w.FutexWaiter.Wait(context.WithoutCancel(ctx), word, val)
}

func (w *pollessWaiter) wakeAll() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for word := range w.words {
		w.Wake(word, 1<<30) // a stranded request finds its slot decided
	}
}

// TestRecovererWakesWhomTheDeadDecided: a process that dies after it
// committed grants but before it woke the waiters it granted (before or
// after its unlock) leaves them asleep; whoever recovers from its death
// (the lock's taker, or the sweep that reclaims it) wakes them, so they
// do not depend on their own poll.
func TestRecovererWakesWhomTheDeadDecided(t *testing.T) {
	for _, stage := range []string{"committed", "unlocked"} {
		t.Run(stage, func(t *testing.T) {
			watchdog(t, 60*time.Second)
			const waiters = 12
			w := &pollessWaiter{words: map[*atomic.Uint32]bool{}}
			_, name := create(t, 1)
			s := attachTo(t, name, shared.WithWaiter(w))
			rec := attachTo(t, name)
			hold, ok := rec.TryAcquire() // the only permit: the requests queue
			if !ok {
				t.Fatal("TryAcquire on a fresh semaphore failed")
			}
			defer hold.Release()
			var returned atomic.Int64
			var wg sync.WaitGroup
			for range waiters {
				wg.Go(func() {
					if _, err := s.AcquireN(context.Background(), 1); err != nil {
						t.Errorf("AcquireN = %v", err)
					}
					returned.Add(1)
				})
			}
			waitFor(t, func() bool { return rec.Waiting() == waiters })
			c := startChild(t, "granter", "grantdie", name, "stage="+stage+",n="+strconv.Itoa(waiters+1))
			c.expect(t, "stranded")
			c.kill()
			// Recover: take the dead owner's lock over, or sweep the dead
			// process.
			if stage == "committed" {
				rec.InUse()
			} else if !rec.SweepNow() {
				t.Fatalf("SweepNow found no dead process after the granter was killed")
			}
			deadline := time.Now().Add(10 * time.Second)
			for returned.Load() < waiters && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond)
			}
			if n := returned.Load(); n < waiters {
				w.wakeAll()
				wg.Wait()
				t.Fatalf("%d of %d requests granted by a process that died %s, before waking them, still asleep 10s after the recovery: nobody woke them", waiters-n, waiters, map[string]string{"committed": "holding the lock after its commit", "unlocked": "after its unlock"}[stage])
			}
			wg.Wait()
			if got := s.Held(); got != waiters {
				t.Errorf("Held = %d, want %d", got, waiters)
			}
			s.Release(waiters)
			if err := rec.CheckInvariants(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestRecoveryNeedsNoWaiterPoll: a process that dies holding the only
// permit, while every request queued behind it sleeps in a Waiter that
// never times out (none of them ever looks for dead processes on its
// own), and no other process runs, is still noticed: the handle with
// queued requests watches for deaths on its own timer, and the sweep that
// reclaims the dead process grants the head of the queue.
func TestRecoveryNeedsNoWaiterPoll(t *testing.T) {
	watchdog(t, 60*time.Second)
	const waiters = 12
	w := &pollessWaiter{words: map[*atomic.Uint32]bool{}}
	_, name := create(t, 1)
	s := attachTo(t, name, shared.WithWaiter(w))
	c := startChild(t, "holder", "hold", name, "n=1")
	c.expect(t, "held")
	var granted atomic.Int64
	var wg sync.WaitGroup
	for range waiters {
		wg.Go(func() {
			p, err := s.AcquireN(context.Background(), 1)
			if err != nil {
				t.Errorf("AcquireN = %v", err)
				return
			}
			granted.Add(1)
			p.Release()
		})
	}
	waitFor(t, func() bool { return s.Waiting() == waiters })
	c.kill()
	deadline := time.Now().Add(10 * time.Second)
	for granted.Load() < waiters && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if n := granted.Load(); n < waiters {
		s.SweepNow() // grants the head, whose Release grants the next
		wg.Wait()
		t.Fatalf("%d of %d requests queued behind a process that died holding the only permit still waiting 10s after its death: nobody noticed it", waiters-n, waiters)
	}
	wg.Wait()
	if err := s.CheckInvariants(); err != nil {
		t.Fatal(err)
	}
	if _, _, reclaimed := s.RecoveryCounts(); reclaimed != 1 {
		t.Errorf("reclaimed %d processes, want the holder (1)", reclaimed)
	}
}
