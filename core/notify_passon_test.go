package core_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/compio-sync/gosync/core"
)

// The interleaving where a turned-down wakeup used to be lost: NotifyOne #1
// picks w1 as w1's ctx ends; w3 queues; #2 wakes w2; then w1 turns its
// wakeup down. Had w1 been cancelled before #1, #1 would have woken w2 and
// #2 w3, so w3 must be woken. gateBackend holds w1's cancelled Park until
// both NotifyOnes are given.
func TestEventTurnedDownWakeupReachesWaiterQueuedBeforeLaterNotifyOne(t *testing.T) {
	defer watchdog(t, 30*time.Second)()
	b := newGateBackend()
	e := core.NewEvent(b)
	ctx, cancel := context.WithCancel(context.Background())
	cs := queueEventWaiters(t, e, []context.Context{ctx, context.Background()})
	cancel() // w1's Park now waits for the gate
	e.NotifyOne()
	w3 := asyncErr(func() error { return e.Wait(context.Background()) })
	waitFor(t, "w3 to queue", func() bool { return e.Waiting() == 2 })
	e.NotifyOne()
	if err := awaitErr(t, "w2 after the second NotifyOne", cs[1]); err != nil {
		t.Fatalf("w2: Wait() = %v, want nil", err)
	}
	b.open()
	if err := awaitErr(t, "w1 (cancelled)", cs[0]); !errors.Is(err, context.Canceled) {
		t.Fatalf("w1: Wait() cancelled while NotifyOne picked it = %v, want context.Canceled", err)
	}
	if got := e.Waiting(); got != 0 {
		t.Fatalf("after w1 turned its wakeup down: Waiting() = %d, want 0: w3, queued before the second NotifyOne, must get the wakeup (it was lost)", got)
	}
	if err := awaitErr(t, "w3", w3); err != nil {
		t.Fatalf("w3: Wait() = %v, want nil", err)
	}
}

// The same interleaving with Signal.
func TestCondTurnedDownSignalReachesWaiterQueuedBeforeLaterSignal(t *testing.T) {
	defer watchdog(t, 30*time.Second)()
	b, c, l, w1, w2 := signalCancelledHead(t)
	w3 := startCondWaiter(t, c, l, context.Background(), 2)
	c.Signal()
	if err := w2.result(t, "w2 after the second Signal"); err != nil {
		t.Fatalf("w2: Wait() = %v, want nil", err)
	}
	b.open()
	if err := w1.result(t, "w1 (cancelled)"); !errors.Is(err, context.Canceled) {
		t.Fatalf("w1: Wait() cancelled while Signal picked it = %v, want context.Canceled", err)
	}
	if got := c.Waiting(); got != 0 {
		t.Fatalf("after w1 turned its signal down: Waiting() = %d, want 0: w3, waiting before the second Signal, must get the signal (it was lost)", got)
	}
	if err := w3.result(t, "w3"); err != nil {
		t.Fatalf("w3: Wait() = %v, want nil", err)
	}
}

// notifyTarget drives an Event or a Cond through the same steps.
type notifyTarget struct {
	wait    func(context.Context) error
	one     func() // NotifyOne or Signal
	all     func() // Set then Clear, or Broadcast: wake every waiter, set nothing
	release func() // wake every waiter left, at the end
	waiting func() int
}

func eventTarget(b core.Backend) notifyTarget {
	e := core.NewEvent(b)
	return notifyTarget{
		wait:    e.Wait,
		one:     e.NotifyOne,
		all:     func() { e.Set(); e.Clear() },
		release: e.Set,
		waiting: e.Waiting,
	}
}

func condTarget(b core.Backend) notifyTarget {
	var l lockTracker
	c := core.NewCond(&l, b)
	return notifyTarget{
		wait: func(ctx context.Context) error {
			l.Lock()
			defer l.Unlock()
			return c.Wait(ctx)
		},
		one:     c.Signal,
		all:     c.Broadcast,
		release: c.Broadcast,
		waiting: c.Waiting,
	}
}

// A script is a sequence of steps: 'Q' queues a waiter, 'C' queues a
// waiter and cancels its ctx (its Park then waits for the gate, so any
// single wakeup it gets is turned down after the whole script ran), 'N' is
// a single wakeup, 'A' wakes everyone.
type notifyScript string

// scriptOutcome is what the model says about a script.
type scriptOutcome struct {
	// cancelFirst counts the Waits that return nil had every cancellation
	// come before the script: the count a turned-down wakeup must not
	// lower.
	cancelFirst int
	// turnedDown counts the single wakeups given to a cancelled waiter.
	turnedDown int
	// woken[i] says whether waiter i (in queue order) returns nil under
	// the documented rule: a turned-down single wakeup goes to the oldest
	// waiter still queued that was queued when the latest single wakeup
	// was given.
	woken []bool
	// lastNotified is the number of waiters queued before the last 'N' or
	// 'A': a waiter queued after it was waiting at no notification, and
	// must stay parked.
	lastNotified int
}

func (s notifyScript) model() scriptOutcome {
	var o scriptOutcome
	var cancelled []bool
	var ideal, real []int // queues of waiter indices
	lastOne := 0          // waiters queued when the latest single wakeup was given
	turned := 0
	for _, step := range s {
		switch step {
		case 'Q', 'C':
			i := len(cancelled)
			cancelled = append(cancelled, step == 'C')
			o.woken = append(o.woken, false)
			real = append(real, i)
			if step == 'Q' {
				ideal = append(ideal, i)
			}
		case 'N':
			if len(ideal) > 0 {
				o.cancelFirst++
				ideal = ideal[1:]
			}
			o.lastNotified = len(cancelled)
			if len(real) > 0 {
				lastOne = len(cancelled)
				if i := real[0]; cancelled[i] {
					turned++
				} else {
					o.woken[i] = true
				}
				real = real[1:]
			}
		case 'A':
			o.cancelFirst += len(ideal)
			ideal = nil
			o.lastNotified = len(cancelled)
			for _, i := range real {
				o.woken[i] = !cancelled[i]
			}
			real = nil
		}
	}
	o.turnedDown = turned
	// The gate opens: each turned-down wakeup goes to the oldest
	// uncancelled waiter still queued with an index below lastOne (a
	// cancelled one it reaches turns it down again).
	for _, i := range real {
		if turned > 0 && !cancelled[i] && i < lastOne {
			o.woken[i] = true
			turned--
		}
	}
	return o
}

// runScript plays s on a new target over a gateBackend and checks the
// outcome against the model. It returns false after reporting a failure.
func runScript(t *testing.T, kind string, newTarget func(core.Backend) notifyTarget, s notifyScript) bool {
	t.Helper()
	b := newGateBackend()
	tg := newTarget(b)
	// On failure, leave no waiter parked: release wakes the uncancelled
	// ones, and the gate lets the cancelled ones return.
	opened := false
	defer func() {
		if !opened {
			b.open()
		}
		tg.release()
	}()
	var errs []<-chan error
	var cancelled []bool
	queued := 0 // waiters in the queue, cancelled ones included until the gate opens
	for _, step := range s {
		switch step {
		case 'Q', 'C':
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			errs = append(errs, asyncErr(func() error { return tg.wait(ctx) }))
			cancelled = append(cancelled, step == 'C')
			queued++
			waitFor(t, fmt.Sprintf("%s %q: waiter %d to queue", kind, s, len(errs)-1), func() bool { return tg.waiting() == queued })
			if step == 'C' {
				cancel()
			}
		case 'N':
			tg.one()
			if queued > 0 {
				queued--
			}
		case 'A':
			tg.all()
			queued = 0
		}
	}
	b.open()
	opened = true
	for i, c := range errs {
		if cancelled[i] {
			if err := awaitErr(t, fmt.Sprintf("%s %q: cancelled waiter %d", kind, s, i), c); !errors.Is(err, context.Canceled) {
				t.Errorf("%s %q: cancelled waiter %d: Wait() = %v, want context.Canceled", kind, s, i, err)
				return false
			}
		}
	}
	// Every cancelled Wait has returned, so every turned-down wakeup has
	// been passed on (a Wait passes it before returning): the queue is
	// final.
	m := s.model()
	uncancelled := 0
	for _, c := range cancelled {
		if !c {
			uncancelled++
		}
	}
	woken := uncancelled - tg.waiting()
	switch {
	case woken < m.cancelFirst:
		t.Errorf("%s %q: %d Waits returned nil, want at least %d (as many as had every cancellation come first): a wakeup was lost", kind, s, woken, m.cancelFirst)
		return false
	case woken > m.cancelFirst+m.turnedDown:
		t.Errorf("%s %q: %d Waits returned nil, want at most %d (%d had every cancellation come first, plus one per turned-down wakeup, %d)", kind, s, woken, m.cancelFirst+m.turnedDown, m.cancelFirst, m.turnedDown)
		return false
	}
	var want []string
	for i, w := range m.woken {
		if w {
			want = append(want, fmt.Sprint(i))
		}
	}
	for i, w := range m.woken {
		if !w {
			continue
		}
		if i >= m.lastNotified {
			t.Fatalf("model: %q wakes waiter %d, queued after the last notification", s, i)
		}
		if err := awaitErr(t, fmt.Sprintf("%s %q: waiter %d, which the rule wakes (want woken: %s)", kind, s, i, strings.Join(want, ",")), errs[i]); err != nil {
			t.Errorf("%s %q: waiter %d: Wait() = %v, want nil", kind, s, i, err)
			return false
		}
	}
	for i, c := range errs {
		if !cancelled[i] && !m.woken[i] {
			select {
			case err := <-c:
				t.Errorf("%s %q: waiter %d returned %v, want it parked (want woken: %s)", kind, s, i, err, strings.Join(want, ","))
				return false
			default:
			}
		}
	}
	tg.release()
	for i, c := range errs {
		if !cancelled[i] && !m.woken[i] {
			if err := awaitErr(t, fmt.Sprintf("%s %q: waiter %d at the end", kind, s, i), c); err != nil {
				t.Errorf("%s %q: waiter %d at the end: Wait() = %v, want nil", kind, s, i, err)
				return false
			}
		}
	}
	return true
}

// scripts returns every script of up to maxLen steps that has a cancelled
// waiter and a single wakeup after it (the others cannot turn a wakeup
// down), and extra random ones of up to 10 steps from a fixed seed.
func scripts(maxLen, extra int) []notifyScript {
	var out []notifyScript
	useful := func(s string) bool {
		c := strings.IndexByte(s, 'C')
		return c >= 0 && strings.IndexByte(s[c:], 'N') >= 0
	}
	var gen func(prefix string)
	gen = func(prefix string) {
		if useful(prefix) {
			out = append(out, notifyScript(prefix))
		}
		if len(prefix) == maxLen {
			return
		}
		for _, step := range "QCNA" {
			gen(prefix + string(step))
		}
	}
	gen("")
	r := rand.New(rand.NewPCG(1, 2))
	for extra > 0 {
		var sb strings.Builder
		for range 6 + r.IntN(5) {
			sb.WriteByte("QQCCNNA"[r.IntN(7)])
		}
		if useful(sb.String()) {
			out = append(out, notifyScript(sb.String()))
			extra--
		}
	}
	return out
}

// Whatever the order of queueing, cancelling, single wakeups and wake-alls,
// a wakeup turned down by a cancelled waiter is never lost (at least as
// many Waits return nil as had every cancellation come first), costs at
// most one extra wakeup, never reaches a waiter that queued after the last
// notification, and goes where the doc comments say. Every script of up to
// five steps, and random longer ones.
func TestTurnedDownWakeupsAreNeverLost(t *testing.T) {
	defer watchdog(t, 5*time.Minute)()
	maxLen, extra := 5, 150
	if testing.Short() {
		maxLen, extra = 4, 30
	}
	all := scripts(maxLen, extra)
	for _, target := range []struct {
		kind string
		make func(core.Backend) notifyTarget
	}{{"Event", eventTarget}, {"Cond", condTarget}} {
		for _, s := range all {
			if !runScript(t, target.kind, target.make, s) {
				return
			}
		}
	}
	t.Logf("%d scripts on Event and Cond", len(all))
}
