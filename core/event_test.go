package core_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/compio-sync/gosync/core"
)

// queueEventWaiters starts n Waits on e one at a time, each queued before
// the next starts, and returns their result channels in queue order.
func queueEventWaiters(t *testing.T, e *core.Event, ctxs []context.Context) []<-chan error {
	t.Helper()
	var cs []<-chan error
	for i, ctx := range ctxs {
		cs = append(cs, asyncErr(func() error { return e.Wait(ctx) }))
		waitFor(t, fmt.Sprintf("waiter %d to queue", i), func() bool { return e.Waiting() == i+1 })
	}
	return cs
}

func backgrounds(n int) []context.Context {
	ctxs := make([]context.Context, n)
	for i := range ctxs {
		ctxs[i] = context.Background()
	}
	return ctxs
}

func TestEventSetWakesEveryWaiterAndStaysSet(t *testing.T) {
	defer watchdog(t, 30*time.Second)()
	e := core.NewEvent(chanBackend{})
	if e.IsSet() {
		t.Fatalf("IsSet() on a new Event = true, want false")
	}
	cs := queueEventWaiters(t, e, backgrounds(8))
	e.Set()
	for i, c := range cs {
		if err := awaitErr(t, fmt.Sprintf("waiter %d after Set", i), c); err != nil {
			t.Errorf("waiter %d: Wait() after Set() = %v, want nil", i, err)
		}
	}
	if !e.IsSet() || e.Waiting() != 0 {
		t.Errorf("after Set(): IsSet() = %v, Waiting() = %d, want true, 0", e.IsSet(), e.Waiting())
	}
	// Set stays set: later Waits return at once, with either kind of ctx.
	if err := e.Wait(context.Background()); err != nil {
		t.Errorf("Wait(Background) on a set Event = %v, want nil", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := e.Wait(ctx); err != nil {
		t.Errorf("Wait(cancellable ctx) on a set Event = %v, want nil", err)
	}
	e.Set() // idempotent
	if !e.IsSet() {
		t.Errorf("IsSet() after a second Set() = false, want true")
	}
}

func TestEventDoneContextWinsOverSet(t *testing.T) {
	e := core.NewEvent(chanBackend{})
	e.Set()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := e.Wait(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Wait(done ctx) on a set Event = %v, want context.Canceled", err)
	}
}

// A Set followed at once by Clear must still release every goroutine that
// was waiting when Set ran: the wakeup is decided at Set, not rechecked
// against the flag when the waiter runs (an Event whose Clear races Set).
func TestEventSetThenClearReleasesEveryWaiter(t *testing.T) {
	defer watchdog(t, 30*time.Second)()
	e := core.NewEvent(chanBackend{})
	for round := range 50 {
		cs := queueEventWaiters(t, e, backgrounds(4))
		e.Set()
		e.Clear()
		for i, c := range cs {
			if err := awaitErr(t, fmt.Sprintf("round %d waiter %d after Set+Clear", round, i), c); err != nil {
				t.Fatalf("round %d waiter %d: Wait() after Set(); Clear() = %v, want nil", round, i, err)
			}
		}
		if e.IsSet() {
			t.Fatalf("IsSet() after Clear() = true, want false")
		}
	}
	// After Clear a new Wait parks again.
	c := asyncErr(func() error { return e.Wait(context.Background()) })
	if !blocked(c) {
		t.Fatalf("Wait() after Clear() returned, want it to park")
	}
	e.Set()
	if err := awaitErr(t, "Wait after the last Set", c); err != nil {
		t.Errorf("Wait() = %v, want nil", err)
	}
}

func TestEventNotifyOneWakesTheOldestWithoutSetting(t *testing.T) {
	defer watchdog(t, 30*time.Second)()
	e := core.NewEvent(chanBackend{})
	const n = 6
	cs := queueEventWaiters(t, e, backgrounds(n))
	for i := range n {
		e.NotifyOne()
		if err := awaitErr(t, fmt.Sprintf("waiter %d after NotifyOne %d", i, i), cs[i]); err != nil {
			t.Fatalf("waiter %d: Wait() = %v, want nil", i, err)
		}
		if got, want := e.Waiting(), n-1-i; got != want {
			t.Fatalf("after NotifyOne %d: Waiting() = %d, want %d (it must wake exactly one)", i, got, want)
		}
		if e.IsSet() {
			t.Fatalf("IsSet() after NotifyOne() = true, want false")
		}
	}
}

func TestEventNotifyOneWithNobodyWaitingIsNotRemembered(t *testing.T) {
	defer watchdog(t, 30*time.Second)()
	e := core.NewEvent(chanBackend{})
	e.NotifyOne()
	c := asyncErr(func() error { return e.Wait(context.Background()) })
	if !blocked(c) {
		t.Fatalf("Wait() after a NotifyOne() with nobody waiting returned, want it to park")
	}
	e.NotifyOne()
	if err := awaitErr(t, "Wait after NotifyOne", c); err != nil {
		t.Errorf("Wait() = %v, want nil", err)
	}
}

func TestEventCancelLeavesTheQueue(t *testing.T) {
	defer watchdog(t, 30*time.Second)()
	e := core.NewEvent(chanBackend{})
	ctx, cancel := context.WithCancel(context.Background())
	cs := queueEventWaiters(t, e, []context.Context{ctx, context.Background()})
	cancel()
	if err := awaitErr(t, "cancelled Wait", cs[0]); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled Wait() = %v, want context.Canceled", err)
	}
	if got := e.Waiting(); got != 1 {
		t.Fatalf("Waiting() after a cancel = %d, want 1", got)
	}
	// The cancelled waiter no longer takes a NotifyOne.
	e.NotifyOne()
	if err := awaitErr(t, "second waiter", cs[1]); err != nil {
		t.Errorf("second Wait() = %v, want nil", err)
	}
}

// A NotifyOne that picks a waiter whose ctx ends at the same moment passes
// the wakeup to the next waiter that was already queued: a cancelled waiter
// never swallows a wakeup meant for another. gateBackend makes the race
// deterministic: the cancelled Park returns ctx.Err() only after NotifyOne
// has dequeued its waiter.
func TestEventNotifyOneRacingCancelPassesTheWakeup(t *testing.T) {
	defer watchdog(t, 30*time.Second)()
	b := newGateBackend()
	e := core.NewEvent(b)
	ctx, cancel := context.WithCancel(context.Background())
	cs := queueEventWaiters(t, e, []context.Context{ctx, context.Background()})
	cancel() // the first waiter's Park now waits for the gate
	e.NotifyOne()
	b.open()
	if err := awaitErr(t, "cancelled Wait", cs[0]); !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait() cancelled while NotifyOne picked it = %v, want context.Canceled", err)
	}
	if err := awaitErr(t, "second waiter", cs[1]); err != nil {
		t.Fatalf("second Wait() = %v, want nil: the wakeup the cancelled waiter turned down must pass to it", err)
	}
}

// The same race with chanBackend, whose Park picks either outcome at random
// when the token and ctx are both ready: whatever happens, exactly one of
// the two waiters consumes the wakeup or the cancelled one returns nil.
func TestEventNotifyOneRacingCancelNeverLosesTheWakeup(t *testing.T) {
	defer watchdog(t, 60*time.Second)()
	e := core.NewEvent(chanBackend{})
	passed := 0
	for round := range 500 {
		ctx, cancel := context.WithCancel(context.Background())
		cs := queueEventWaiters(t, e, []context.Context{ctx, context.Background()})
		if round%2 == 0 {
			cancel()
			e.NotifyOne()
		} else {
			e.NotifyOne()
			cancel()
		}
		first := awaitErr(t, "first waiter", cs[0])
		switch {
		case first == nil:
			// It took the wakeup: the second must stay queued.
			waitFor(t, "the count to settle", func() bool { return e.Waiting() <= 1 })
			if e.Waiting() != 1 {
				t.Fatalf("round %d: first Wait() = nil but Waiting() = %d, want 1 (one NotifyOne woke two)", round, e.Waiting())
			}
			e.NotifyOne()
		case errors.Is(first, context.Canceled):
			passed++
		default:
			t.Fatalf("round %d: first Wait() = %v, want nil or context.Canceled", round, first)
		}
		if err := awaitErr(t, fmt.Sprintf("round %d second waiter", round), cs[1]); err != nil {
			t.Fatalf("round %d: second Wait() = %v, want nil", round, err)
		}
	}
	t.Logf("%d of 500 rounds returned ctx.Err() to the first waiter", passed)
}

func TestEventClose(t *testing.T) {
	defer watchdog(t, 30*time.Second)()
	e := core.NewEvent(chanBackend{})
	cs := queueEventWaiters(t, e, backgrounds(3))
	e.Close()
	e.Close() // idempotent
	if !e.Closed() {
		t.Errorf("Closed() after Close() = false, want true")
	}
	for i, c := range cs {
		err := awaitErr(t, "waiter after Close", c)
		if !errors.Is(err, core.ErrClosed) || !strings.HasPrefix(err.Error(), "core: event closed") {
			t.Errorf("waiter %d: Wait() after Close() = %v, want core: event closed (errors.Is ErrClosed)", i, err)
		}
	}
	e.Set()
	if !e.IsSet() {
		t.Errorf("IsSet() after Close(); Set() = false, want true")
	}
	if err := e.Wait(context.Background()); !errors.Is(err, core.ErrClosed) {
		t.Errorf("Wait() on a closed, set Event = %v, want ErrClosed", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := e.Wait(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Wait(done ctx) on a closed Event = %v, want context.Canceled", err)
	}
	e.Clear()
	e.NotifyOne()
	if err := e.Wait(context.Background()); !errors.Is(err, core.ErrClosed) {
		t.Errorf("Wait() on a closed, clear Event = %v, want ErrClosed", err)
	}
}

func TestEventBackendFailurePassesTheWakeupOn(t *testing.T) {
	defer watchdog(t, 30*time.Second)()
	b := &failBackend{*newGateBackend()}
	e := core.NewEvent(b)
	ctx, cancel := context.WithCancel(context.Background())
	cs := queueEventWaiters(t, e, []context.Context{ctx, context.Background()})
	cancel()
	e.NotifyOne()
	b.open()
	err := awaitErr(t, "failed Wait", cs[0])
	if !errors.Is(err, errBackendDown) || !strings.Contains(err.Error(), "core: gate backend: Park failed") {
		t.Fatalf("Wait() whose Park failed = %v, want an error wrapping the backend's, naming it", err)
	}
	if err := awaitErr(t, "second waiter", cs[1]); err != nil {
		t.Fatalf("second Wait() = %v, want nil (the wakeup passes on)", err)
	}
}

func TestNewEventArguments(t *testing.T) {
	mustPanicCore(t, "NewEvent(nil)", func() { core.NewEvent(nil) })
	e := core.NewEvent(nilParkerBackend{})
	mustPanicCore(t, "Wait with a backend returning nil Parkers", func() { _ = e.Wait(context.Background()) })
}

// Everything written before Set is visible after any Wait that returns
// because of it, queued or on the fast path (checked by -race).
func TestEventSetHappensBeforeWaitReturns(t *testing.T) {
	defer watchdog(t, 30*time.Second)()
	for range 100 {
		e := core.NewEvent(chanBackend{})
		var data int
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				if err := e.Wait(context.Background()); err != nil {
					t.Errorf("Wait() = %v", err)
					return
				}
				if data != 42 {
					t.Errorf("data after Wait() = %d, want 42", data)
				}
			})
		}
		data = 42
		e.Set()
		wg.Wait()
	}
}

// A wakeup turned down by a cancelled waiter is not passed to a waiter that
// queued after NotifyOne was called.
func TestEventPassedWakeupSkipsLaterWaiters(t *testing.T) {
	defer watchdog(t, 30*time.Second)()
	b := newGateBackend()
	e := core.NewEvent(b)
	ctx, cancel := context.WithCancel(context.Background())
	cs := queueEventWaiters(t, e, []context.Context{ctx})
	cancel()
	e.NotifyOne()
	late := asyncErr(func() error { return e.Wait(context.Background()) })
	waitFor(t, "the late waiter to queue", func() bool { return e.Waiting() == 1 })
	b.open()
	if err := awaitErr(t, "cancelled Wait", cs[0]); !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait() cancelled while NotifyOne picked it = %v, want context.Canceled", err)
	}
	if !blocked(late) {
		t.Fatalf("a Wait that queued after NotifyOne returned, want it parked")
	}
	e.NotifyOne()
	if err := awaitErr(t, "late waiter", late); err != nil {
		t.Errorf("late Wait() = %v, want nil", err)
	}
}
