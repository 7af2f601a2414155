package core_test

import (
	"context"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/compio-sync/gosync/core"
)

// chanBackend is a minimal correct Backend for core's own tests; the real
// backends live in their own modules and are tested with conformance.Run.
type chanBackend struct{}

func (chanBackend) Name() string { return "chan" }
func (chanBackend) NewParker() core.Parker {
	return chanParker(make(chan struct{}, 1))
}

type chanParker chan struct{}

func (p chanParker) Park(ctx context.Context) error {
	select {
	case <-p:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (p chanParker) Unpark() {
	select {
	case p <- struct{}{}:
	default:
	}
}

// waitFor polls cond until it holds, failing the test after a generous
// watchdog instead of hanging.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("watchdog: timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Microsecond)
	}
}

// watchdog fails the test with a goroutine dump if stop is not called within
// d. It returns stop.
func watchdog(t *testing.T, d time.Duration) (stop func()) {
	t.Helper()
	timer := time.AfterFunc(d, func() {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		panic("watchdog: test hung; goroutines:\n" + string(buf))
	})
	return func() { timer.Stop() }
}

// resizeUntilStopped cycles s through sizes with SetMaxPermits, as fast as it
// can, on its own goroutine, yielding every yieldEvery resizes (never when
// 0), until the returned stop is called; stop waits for it to finish.
func resizeUntilStopped(s *core.Semaphore, sizes []int, yieldEvery int) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-done:
				return
			default:
			}
			s.SetMaxPermits(sizes[i%len(sizes)])
			if yieldEvery > 0 && i%yieldEvery == 0 {
				runtime.Gosched()
			}
		}
	})
	return func() {
		close(done)
		wg.Wait()
	}
}

// acquireCancelledSoon calls AcquireN(n) with a ctx derived from base that
// another goroutine cancels after yielding spins times: a cancellation that
// races the queueing, the grant or the Park, depending on spins.
func acquireCancelledSoon(s *core.Semaphore, base context.Context, n, spins int) (core.Permit, error) {
	ctx, cancel := context.WithCancel(base)
	defer cancel()
	go func() {
		for range spins {
			runtime.Gosched()
		}
		cancel()
	}()
	return s.AcquireN(ctx, n)
}

// acquireRounds runs round(i, k, p) for each successful TryAcquireN(k) on s,
// k cycling through 1, 2, 3, until 1000 rounds have run, round returns
// false, or 5,000,000 attempts were made. After a failed attempt it yields:
// a resizer may keep the maximum below k for long stretches, more so on a
// busy machine, so the tests run until they have exercised enough rather
// than for a fixed number of attempts, and a semaphore that never grants
// fails by name. It fails t if fewer than 1000 rounds ran and round never
// stopped them.
func acquireRounds(t *testing.T, s *core.Semaphore, round func(i, k int, p core.Permit) bool) {
	t.Helper()
	const want, attempts = 1000, 5_000_000
	acquired := 0
	for i := 0; acquired < want && i < attempts; i++ {
		k := 1 + i%3
		p, ok := s.TryAcquireN(k)
		if !ok {
			runtime.Gosched()
			continue
		}
		acquired++
		if !round(i, k, p) {
			return
		}
	}
	if acquired < want {
		t.Errorf("only %d of %d TryAcquireN calls succeeded: the test exercised too little", acquired, attempts)
	}
}
