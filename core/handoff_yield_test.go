package core_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/compio-sync/gosync/core"
)

// queueWaiter starts an AcquireN(n) that must queue (the caller has made sure
// it cannot be served) and waits until Waiting() reaches want. The result is
// sent on the returned channel.
func queueWaiter(t *testing.T, s *core.Semaphore, n, want int) <-chan core.Permit {
	t.Helper()
	ch := make(chan core.Permit, 1)
	go func() {
		p, err := s.AcquireN(context.Background(), n)
		if err != nil {
			t.Errorf("AcquireN(%d) = %v", n, err)
		}
		ch <- p
	}()
	waitFor(t, "the waiter to queue", func() bool { return s.Waiting() == want })
	return ch
}

// recv waits for a granted Permit, failing through the watchdog rather than
// hanging.
func recv(t *testing.T, ch <-chan core.Permit) core.Permit {
	t.Helper()
	select {
	case p := <-ch:
		return p
	case <-time.After(10 * time.Second):
		t.Fatalf("watchdog: a granted waiter never returned")
		return core.Permit{}
	}
}

// churn runs g goroutines looping Acquire / Release on s until each has
// been granted rounds times, half of them releasing through the Permit and
// half through Semaphore.Release.
func churn(t *testing.T, s *core.Semaphore, g, rounds int) {
	t.Helper()
	var wg sync.WaitGroup
	for i := range g {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range rounds {
				p, err := s.Acquire(context.Background())
				if err != nil {
					t.Errorf("Acquire = %v", err)
					return
				}
				if i%2 == 0 {
					p.Release()
				} else {
					s.Release(p.Count())
				}
			}
		}()
	}
	wg.Wait()
}

// TestDefaultReleaseNeverYields is Release's fairness rule: by default it
// hands permits to the head waiter and returns, never calling into the
// scheduler, however contended the Semaphore (a yield sends the releasing
// goroutine to the back of the run queue and stalls its caller for up to
// milliseconds).
// It counts yields, it does not time anything; the same handoff with
// WithThroughputOverFairness must yield, which shows the count can fail.
func TestDefaultReleaseNeverYields(t *testing.T) {
	stop := watchdog(t, 60*time.Second)
	defer stop()
	var yields atomic.Int64
	defer core.SetYield(func() { yields.Add(1) })()

	// The most contended handoff there is, built step by step: a Permit
	// granted through the queue releases to a waiter while another waits
	// behind it. With WithThroughputOverFairness this yields, which shows
	// the counter can fail; by default it must not.
	contendedHandoff := func(opts ...core.Option) int64 {
		s := core.NewSemaphore(1, chanBackend{}, opts...)
		p, _ := s.TryAcquire()
		first := queueWaiter(t, s, 1, 1)
		p.Release()
		q := recv(t, first) // granted through the queue
		second := queueWaiter(t, s, 1, 1)
		third := queueWaiter(t, s, 1, 2)
		yields.Store(0)
		q.Release() // hands off to second while third waits
		n := yields.Load()
		r := recv(t, second)
		r.Release()
		r = recv(t, third)
		r.Release()
		return n
	}
	if got := contendedHandoff(core.WithThroughputOverFairness()); got != 1 {
		t.Fatalf("WithThroughputOverFairness: contended handoff yielded %d times, want 1 (the counter must be able to fail)", got)
	}
	if got := contendedHandoff(); got != 0 {
		t.Errorf("default: contended handoff yielded %d times, want 0", got)
	}

	// And under a churn of 32 goroutines, whatever queues form.
	yields.Store(0)
	for _, permits := range []int{1, 4} {
		s := core.NewSemaphore(permits, chanBackend{})
		churn(t, s, 32, 2000)
		if s.Waiting() != 0 || s.AvailablePermits() != permits {
			t.Fatalf("after the churn: Waiting %d, AvailablePermits %d, want 0, %d", s.Waiting(), s.AvailablePermits(), permits)
		}
		if got := yields.Swap(0); got != 0 {
			t.Errorf("default Semaphore with %d permits: Release yielded %d times under churn, want 0", permits, got)
		}
	}
}

// TestThroughputOverFairnessYieldsOnlyAfterAContendedHandoff pins down when
// Release yields after handing permits to waiters on a Semaphore created
// WithThroughputOverFairness (docs/design.md, "Release does not yield"):
// only if it woke somebody and the semaphore is contended, that is a woken
// waiter had queued behind another, waiters remain queued, or the released
// Permit had itself been granted through the queue. A lone waiter woken by a
// goroutine that never waited must not be yielded to, and a Release that
// wakes nobody never yields.
func TestThroughputOverFairnessYieldsOnlyAfterAContendedHandoff(t *testing.T) {
	stop := watchdog(t, 60*time.Second)
	defer stop()
	var yields atomic.Int64
	defer core.SetYield(func() { yields.Add(1) })()

	check := func(what string, want int64) {
		t.Helper()
		if got := yields.Swap(0); got != want {
			t.Errorf("%s: %d yields, want %d", what, got, want)
		}
	}

	t.Run("LoneWaiterPermitRelease", func(t *testing.T) {
		s := core.NewSemaphore(1, chanBackend{}, core.WithThroughputOverFairness())
		p, _ := s.TryAcquire()
		ch := queueWaiter(t, s, 1, 1)
		yields.Store(0)
		p.Release()
		check("Permit.Release to a lone waiter by a fast-path holder", 0)
		q := recv(t, ch)
		q.Release() // nobody waits: no handoff, no yield
		check("Release with nobody queued", 0)
	})

	t.Run("LoneWaiterSemaphoreRelease", func(t *testing.T) {
		s := core.NewSemaphore(1, chanBackend{}, core.WithThroughputOverFairness())
		_, _ = s.TryAcquire()
		ch := queueWaiter(t, s, 1, 1)
		yields.Store(0)
		s.Release(1)
		check("Semaphore.Release to a lone waiter", 0)
		s.Release(recv(t, ch).Count())
		check("Semaphore.Release with nobody queued", 0)
	})

	t.Run("HeadDoesNotFit", func(t *testing.T) {
		s := core.NewSemaphore(2, chanBackend{}, core.WithThroughputOverFairness())
		p, _ := s.TryAcquire()
		q, _ := s.TryAcquire()
		ch := queueWaiter(t, s, 2, 1)
		ch2 := queueWaiter(t, s, 1, 2)
		yields.Store(0)
		p.Release() // the head needs 2: nobody woken
		check("Release that wakes nobody", 0)
		q.Release() // wakes the head (queued first); one remains queued
		check("Release that leaves a waiter queued", 1)
		r := recv(t, ch)
		r.Release() // the released Permit came through the queue
		check("Release of a queued Permit to a waiter that queued behind another", 1)
		{
			p := recv(t, ch2)
			p.Release()
		}
		check("Release with nobody queued", 0)
	})

	t.Run("WokenWaiterQueuedBehindAnother", func(t *testing.T) {
		s := core.NewSemaphore(2, chanBackend{}, core.WithThroughputOverFairness())
		p, _ := s.TryAcquireN(2)
		ch1 := queueWaiter(t, s, 1, 1)
		ch2 := queueWaiter(t, s, 1, 2)
		yields.Store(0)
		p.Release() // wakes both, the second had queued behind the first
		check("Release waking two waiters", 1)
		{
			p := recv(t, ch1)
			p.Release()
		}
		{
			p := recv(t, ch2)
			p.Release()
		}
		check("Releases with nobody queued", 0)
	})

	t.Run("QueuedPermitHandsOff", func(t *testing.T) {
		s := core.NewSemaphore(1, chanBackend{}, core.WithThroughputOverFairness())
		p, _ := s.TryAcquire()
		ch := queueWaiter(t, s, 1, 1)
		p.Release()
		q := recv(t, ch) // granted through the queue
		ch2 := queueWaiter(t, s, 1, 1)
		yields.Store(0)
		q.Release() // a lone waiter, but the releaser had waited itself
		check("Permit granted through the queue handing off to a lone waiter", 1)
		r := recv(t, ch2)
		ch3 := queueWaiter(t, s, 1, 1)
		s.Release(r.Count()) // Semaphore.Release cannot know the Permit's history
		check("Semaphore.Release to a lone waiter", 0)
		{
			p := recv(t, ch3)
			p.Release()
		}
		check("Release with nobody queued", 0)
	})
}
