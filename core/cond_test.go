package core_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/compio-sync/gosync/core"
)

// condWaiter is one goroutine in Cond.Wait, reporting its error and
// whether it held the Locker when Wait returned.
type condWaiter struct {
	err  <-chan error
	held <-chan bool
}

// startCondWaiter locks l, calls c.Wait(ctx) and unlocks, on a new goroutine,
// and waits until it is queued (Waiting reaches want).
func startCondWaiter(t *testing.T, c *core.Cond, l *lockTracker, ctx context.Context, want int) condWaiter {
	t.Helper()
	errc, heldc := make(chan error, 1), make(chan bool, 1)
	go func() {
		l.Lock()
		err := c.Wait(ctx)
		heldc <- l.held.Load()
		l.Unlock()
		errc <- err
	}()
	waitFor(t, fmt.Sprintf("Cond waiter %d to queue", want), func() bool { return c.Waiting() == want })
	return condWaiter{err: errc, held: heldc}
}

// result waits for w's Wait to return and fails the test if it did not
// hold the Locker when it did.
func (w condWaiter) result(t *testing.T, what string) error {
	t.Helper()
	err := awaitErr(t, what, w.err)
	if !<-w.held {
		t.Errorf("%s: Wait() returned %v without holding the Locker, want it relocked in every outcome", what, err)
	}
	return err
}

func TestCondSignalWakesInFIFOOrder(t *testing.T) {
	defer watchdog(t, 30*time.Second)()
	var l lockTracker
	c := core.NewCond(&l, chanBackend{})
	const n = 8
	var ws []condWaiter
	for i := range n {
		ws = append(ws, startCondWaiter(t, c, &l, context.Background(), i+1))
	}
	for i := range n {
		c.Signal()
		if err := ws[i].result(t, fmt.Sprintf("waiter %d", i)); err != nil {
			t.Fatalf("waiter %d: Wait() = %v, want nil", i, err)
		}
		if got, want := c.Waiting(), n-1-i; got != want {
			t.Fatalf("after Signal %d: Waiting() = %d, want %d (Signal must wake exactly the oldest)", i, got, want)
		}
	}
}

func TestCondBroadcastWakesEveryWaiter(t *testing.T) {
	defer watchdog(t, 30*time.Second)()
	var l lockTracker
	c := core.NewCond(&l, chanBackend{})
	var ws []condWaiter
	for i := range 8 {
		ws = append(ws, startCondWaiter(t, c, &l, context.Background(), i+1))
	}
	c.Broadcast()
	for i, w := range ws {
		if err := w.result(t, fmt.Sprintf("waiter %d", i)); err != nil {
			t.Errorf("waiter %d: Wait() after Broadcast() = %v, want nil", i, err)
		}
	}
	if c.Waiting() != 0 {
		t.Errorf("Waiting() after Broadcast() = %d, want 0", c.Waiting())
	}
}

func TestCondSignalWithNobodyWaitingIsNotRemembered(t *testing.T) {
	defer watchdog(t, 30*time.Second)()
	var l lockTracker
	c := core.NewCond(&l, chanBackend{})
	c.Signal()
	c.Broadcast()
	w := startCondWaiter(t, c, &l, context.Background(), 1)
	if !blocked(w.err) {
		t.Fatalf("Wait() after Signal() with nobody waiting returned, want it to park")
	}
	c.Signal()
	if err := w.result(t, "waiter"); err != nil {
		t.Errorf("Wait() = %v, want nil", err)
	}
}

// Wait holds the Locker again when it returns in every outcome: woken,
// cancelled while parked, ctx done before the call, backend failure.
func TestCondWaitRelocksInEveryOutcome(t *testing.T) {
	defer watchdog(t, 30*time.Second)()
	var l lockTracker
	c := core.NewCond(&l, chanBackend{})

	w := startCondWaiter(t, c, &l, context.Background(), 1)
	c.Signal()
	if err := w.result(t, "signalled waiter"); err != nil {
		t.Errorf("signalled Wait() = %v, want nil", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	w = startCondWaiter(t, c, &l, ctx, 1)
	cancel()
	if err := w.result(t, "cancelled waiter"); !errors.Is(err, context.Canceled) {
		t.Errorf("Wait() cancelled while parked = %v, want context.Canceled", err)
	}

	done, cancelDone := context.WithCancel(context.Background())
	cancelDone()
	l.Lock()
	err := c.Wait(done)
	held := l.held.Load()
	l.Unlock()
	if !errors.Is(err, context.Canceled) || !held {
		t.Errorf("Wait(done ctx) = %v, holding the Locker %v, want context.Canceled, true", err, held)
	}

	fb := &failBackend{*newGateBackend()}
	fb.open()
	fc := core.NewCond(&l, fb)
	ctx2, cancel2 := context.WithCancel(context.Background())
	w = startCondWaiter(t, fc, &l, ctx2, 1)
	cancel2()
	if err := w.result(t, "failed waiter"); !errors.Is(err, errBackendDown) {
		t.Errorf("Wait() whose Park failed = %v, want an error wrapping the backend's", err)
	}
}

// signalCancelledHead queues two waiters on a Cond over a gateBackend,
// cancels the first, and signals: the first's Park holds its signal until
// the test opens the gate.
func signalCancelledHead(t *testing.T) (b *gateBackend, c *core.Cond, l *lockTracker, first, second condWaiter) {
	t.Helper()
	b = newGateBackend()
	l = new(lockTracker)
	c = core.NewCond(l, b)
	ctx, cancel := context.WithCancel(context.Background())
	first = startCondWaiter(t, c, l, ctx, 1)
	second = startCondWaiter(t, c, l, context.Background(), 2)
	cancel()
	c.Signal()
	return b, c, l, first, second
}

// Signal picking a waiter whose ctx ends at the same moment passes the
// signal to the next waiter that was already waiting: no signal is lost when
// a waiter is cancelled at the moment it is signalled. gateBackend makes the
// race deterministic.
func TestCondSignalRacingCancelPassesTheSignal(t *testing.T) {
	defer watchdog(t, 30*time.Second)()
	b, _, _, first, second := signalCancelledHead(t)
	b.open()
	if err := first.result(t, "cancelled waiter"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait() cancelled while Signal picked it = %v, want context.Canceled", err)
	}
	if err := second.result(t, "second waiter"); err != nil {
		t.Fatalf("second Wait() = %v, want nil: the signal the cancelled waiter turned down must pass to it", err)
	}
}

// The classic use: a waiter that checks a condition under the Locker and a
// notifier that changes it under the Locker never miss each other (Wait
// queues before it unlocks). A missed wakeup hangs a round, which the
// watchdog reports.
func TestCondNoWakeupLostBetweenUnlockAndPark(t *testing.T) {
	defer watchdog(t, 60*time.Second)()
	var mu sync.Mutex
	c := core.NewCond(&mu, chanBackend{})
	for round := range 3000 {
		ready := false
		done := make(chan error, 1)
		go func() {
			mu.Lock()
			defer mu.Unlock()
			for !ready {
				if err := c.Wait(context.Background()); err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
		mu.Lock()
		ready = true
		if round%2 == 0 {
			c.Signal()
		} else {
			c.Broadcast()
		}
		mu.Unlock()
		if err := awaitErr(t, fmt.Sprintf("round %d waiter", round), done); err != nil {
			t.Fatalf("round %d: Wait() = %v", round, err)
		}
	}
}

// The same race with chanBackend, whose Park picks either outcome at random
// when the token and ctx are both ready: either the signalled waiter
// returns nil and the other stays parked, or it returns ctx.Err() and the
// other is woken by the passed-on signal.
func TestCondSignalRacingCancelNeverLosesTheSignal(t *testing.T) {
	defer watchdog(t, 60*time.Second)()
	var l lockTracker
	c := core.NewCond(&l, chanBackend{})
	passed := 0
	for round := range 500 {
		ctx, cancel := context.WithCancel(context.Background())
		first := startCondWaiter(t, c, &l, ctx, 1)
		second := startCondWaiter(t, c, &l, context.Background(), 2)
		if round%2 == 0 {
			cancel()
			c.Signal()
		} else {
			c.Signal()
			cancel()
		}
		err := first.result(t, "first waiter")
		switch {
		case err == nil:
			waitFor(t, "the count to settle", func() bool { return c.Waiting() <= 1 })
			if c.Waiting() != 1 {
				t.Fatalf("round %d: first Wait() = nil but Waiting() = %d, want 1 (one Signal woke two)", round, c.Waiting())
			}
			c.Signal()
		case errors.Is(err, context.Canceled):
			passed++
		default:
			t.Fatalf("round %d: first Wait() = %v, want nil or context.Canceled", round, err)
		}
		if err := second.result(t, fmt.Sprintf("round %d second waiter", round)); err != nil {
			t.Fatalf("round %d: second Wait() = %v, want nil", round, err)
		}
	}
	t.Logf("%d of 500 rounds returned ctx.Err() to the signalled waiter", passed)
}

// Everything written before Signal is visible after the Wait it wakes
// returns, even when the write is not under the Locker (checked by -race).
func TestCondSignalHappensBeforeWaitReturns(t *testing.T) {
	defer watchdog(t, 30*time.Second)()
	var mu sync.Mutex
	for round := range 100 {
		c := core.NewCond(&mu, chanBackend{})
		var data int
		got := make(chan int, 1)
		go func() {
			mu.Lock()
			defer mu.Unlock()
			if err := c.Wait(context.Background()); err != nil {
				t.Errorf("Wait() = %v", err)
			}
			got <- data
		}()
		waitFor(t, "the waiter to queue", func() bool { return c.Waiting() == 1 })
		data = round
		c.Signal()
		if g := <-got; g != round {
			t.Fatalf("data after Wait() = %d, want %d", g, round)
		}
	}
}

func TestNewCondArguments(t *testing.T) {
	var mu sync.Mutex
	mustPanicCore(t, "NewCond(nil, b)", func() { core.NewCond(nil, chanBackend{}) })
	mustPanicCore(t, "NewCond(l, nil)", func() { core.NewCond(&mu, nil) })
	c := core.NewCond(&mu, nilParkerBackend{})
	mustPanicCore(t, "Wait with a backend returning nil Parkers", func() {
		mu.Lock()
		defer mu.Unlock()
		_ = c.Wait(context.Background())
	})
}

// A wakeup turned down by a cancelled waiter is not passed to a waiter that
// started waiting after the Signal or Broadcast was called: Wait cannot
// return nil unless a Signal or Broadcast given while it waited woke it.
func TestCondTurnedDownWakeupSkipsLaterWaiters(t *testing.T) {
	defer watchdog(t, 30*time.Second)()
	for _, notify := range []string{"Signal", "Broadcast"} {
		b := newGateBackend()
		var l lockTracker
		c := core.NewCond(&l, b)
		ctx, cancel := context.WithCancel(context.Background())
		first := startCondWaiter(t, c, &l, ctx, 1)
		cancel()
		if notify == "Signal" {
			c.Signal()
		} else {
			c.Broadcast()
		}
		late := startCondWaiter(t, c, &l, context.Background(), 1)
		b.open()
		if err := first.result(t, "cancelled waiter"); !errors.Is(err, context.Canceled) {
			t.Fatalf("Wait() cancelled while %s picked it = %v, want context.Canceled", notify, err)
		}
		if !blocked(late.err) {
			t.Fatalf("a Wait that started after %s returned, want it parked", notify)
		}
		c.Signal()
		if err := late.result(t, "late waiter"); err != nil {
			t.Errorf("late Wait() = %v, want nil", err)
		}
	}
}
