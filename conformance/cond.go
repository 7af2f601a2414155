package conformance

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"

	"github.com/compio-sync/gosync/core"
)

// condAPI is what the Cond family drives: core.Cond's methods. Run always
// uses core.NewCond; the suite's own tests swap in broken Conds (see
// primitive_mutants_test.go).
type condAPI interface {
	Wait(ctx context.Context) error
	Signal()
	Broadcast()
	Waiting() int
}

// newCond builds the Cond the family checks.
var newCond = func(l sync.Locker, b core.Backend) condAPI { return core.NewCond(l, b) }

// heldLocker is a sync.Locker that records whether it is held, and can run
// a hook right after an Unlock, on the unlocking goroutine: the earliest
// moment another goroutine could take it.
type heldLocker struct {
	mu          sync.Mutex
	held        atomic.Bool
	afterUnlock func() // run once, then cleared
}

func (l *heldLocker) Lock() {
	l.mu.Lock()
	l.held.Store(true)
}

func (l *heldLocker) Unlock() {
	l.held.Store(false)
	f := l.afterUnlock
	l.afterUnlock = nil // cleared under the lock
	l.mu.Unlock()
	if f != nil {
		f()
	}
}

// condWait is one goroutine in Cond.Wait: its error, and whether it held
// the Locker when Wait returned.
type condWait struct {
	err  <-chan error
	held <-chan bool
}

// queueCondWait starts a goroutine that locks l, calls c.Wait(ctx) and
// unlocks, and waits until it is queued. ok is false if the subtest's
// context ended first or Wait returned instead of queueing (reported).
func (e *env) queueCondWait(c condAPI, l *heldLocker, ctx context.Context) (condWait, bool) {
	e.t.Helper()
	before := c.Waiting()
	errc, heldc := make(chan error, 1), make(chan bool, 1)
	go func() {
		l.Lock()
		err := c.Wait(ctx)
		heldc <- l.held.Load()
		l.Unlock()
		errc <- err
	}()
	if !untilQueued(e, "Cond.Wait(ctx)", c.Waiting, before, errc, func(err error) {
		e.t.Errorf("Cond.Wait() with nobody signalling = %v, want it to park", err)
	}) {
		return condWait{}, false
	}
	return condWait{err: errc, held: heldc}, true
}

// queueCondWaits queues n waiters with queueCondWait, in order.
func (e *env) queueCondWaits(c condAPI, l *heldLocker, n int) ([]condWait, bool) {
	e.t.Helper()
	var ws []condWait
	for range n {
		w, ok := e.queueCondWait(c, l, e.ctx)
		if !ok {
			return nil, false
		}
		ws = append(ws, w)
	}
	return ws, true
}

// result waits for w's Wait to return; ok is false if the subtest's context
// ended first. It reports a Wait that returned without holding the Locker.
func (e *env) result(w condWait, what string) (err error, ok bool) {
	e.t.Helper()
	err, ok = e.awaitErr(w.err)
	if ok && !<-w.held {
		e.t.Errorf("%s: Cond.Wait() returned %v without holding the Locker, want it relocked in every outcome", what, err)
	}
	return err, ok
}

// condTests check core.Cond: strict FIFO Signal, Broadcast, relocking in
// every outcome, no wakeup lost between Unlock and Park or to a cancelled
// waiter, and the memory-model guarantee.
func (s *suite) condTests(e0 *env) {
	t := e0.t
	s.run(t, "SignalWakesInFIFOOrder", func(e *env) {
		var l heldLocker
		c := newCond(&l, e.b)
		n := s.size(20, 6)
		ws, ok := e.queueCondWaits(c, &l, n)
		if !ok {
			return
		}
		for i := range n {
			c.Signal()
			err, ok := e.result(ws[i], "signalled waiter")
			if !ok {
				e.t.Fatalf("Signal() %d did not wake waiter %d, the oldest", i, i)
			}
			if err != nil {
				e.t.Fatalf("waiter %d: Wait() after Signal() = %v, want nil", i, err)
			}
			if got, want := c.Waiting(), n-1-i; got != want {
				e.t.Fatalf("after Signal() %d: Waiting() = %d, want %d (exactly one woken)", i, got, want)
			}
		}
	})

	s.run(t, "BroadcastWakesEveryWaiter", func(e *env) {
		var l heldLocker
		c := newCond(&l, e.b)
		n := s.size(50, 10)
		ws, ok := e.queueCondWaits(c, &l, n)
		if !ok {
			return
		}
		c.Broadcast()
		for i, w := range ws {
			err, ok := e.result(w, "broadcast waiter")
			if !ok {
				e.t.Fatalf("waiter %d of %d never returned after Broadcast()", i, n)
			}
			if err != nil {
				e.t.Errorf("waiter %d: Wait() after Broadcast() = %v, want nil", i, err)
			}
		}
	})

	s.run(t, "SignalIsNotRemembered", func(e *env) {
		var l heldLocker
		c := newCond(&l, e.b)
		c.Signal()
		c.Broadcast()
		w, ok := e.queueCondWait(c, &l, e.ctx)
		if !ok {
			return
		}
		if err, parked := stillParked(w.err); !parked {
			e.t.Fatalf("Wait() after Signal() with nobody waiting = %v, want it parked", err)
		}
		c.Signal()
		if err, ok := e.result(w, "waiter"); !ok || err != nil {
			e.t.Errorf("Wait() after Signal() = %v (returned %v), want nil", err, ok)
		}
	})

	s.run(t, "WaitRelocksInEveryOutcome", func(e *env) {
		var l heldLocker
		c := newCond(&l, e.b)
		w, ok := e.queueCondWait(c, &l, e.ctx)
		if !ok {
			return
		}
		c.Signal()
		if err, ok := e.result(w, "signalled waiter"); ok && err != nil {
			e.t.Errorf("signalled Wait() = %v, want nil", err)
		}
		ctx, cancel := context.WithCancel(e.ctx)
		defer cancel()
		w, ok = e.queueCondWait(c, &l, ctx)
		if !ok {
			return
		}
		cancel()
		if err, ok := e.result(w, "cancelled waiter"); ok && !errors.Is(err, context.Canceled) {
			e.t.Errorf("Wait() cancelled while parked = %v, want %v", err, context.Canceled)
		}
		l.Lock()
		err := c.Wait(ctx) // ctx already done
		held := l.held.Load()
		l.Unlock()
		if !errors.Is(err, context.Canceled) || !held {
			e.t.Errorf("Wait(done ctx) = %v holding the Locker %v, want %v, true", err, held, context.Canceled)
		}
	})

	s.run(t, "NoWakeupLostAfterUnlock", func(e *env) {
		// A notifier that takes the Locker the instant Wait releases it,
		// makes the condition true and signals, must find the waiter:
		// Wait queues before it unlocks.
		for _, broadcast := range []bool{false, true} {
			var l heldLocker
			c := newCond(&l, e.b)
			ready := false
			l.afterUnlock = func() {
				l.Lock()
				ready = true
				if broadcast {
					c.Broadcast()
				} else {
					c.Signal()
				}
				l.Unlock()
			}
			done := goErr(func() error {
				l.Lock()
				defer l.Unlock()
				for !ready {
					if err := c.Wait(e.ctx); err != nil {
						return err
					}
				}
				return nil
			})
			err, ok := e.awaitErr(done)
			if !ok {
				e.t.Fatalf("Wait() never returned though a notifier (broadcast %v) made the condition true right after its Unlock: the wakeup was lost", broadcast)
			}
			if err != nil {
				e.t.Errorf("Wait() = %v, want nil", err)
			}
		}
	})

	s.run(t, "CancelRacingSignalPassesIt", func(e *env) {
		// Two consumers wait for an item; the first is cancelled as the
		// producer adds one and signals. Either the first takes the signal,
		// or it returns ctx.Err() and the signal passes to the second,
		// which consumes the item. A lost signal strands the item.
		var l heldLocker
		c := newCond(&l, e.b)
		items := 0
		consume := func(ctx context.Context) error {
			l.Lock()
			defer l.Unlock()
			for items == 0 {
				if err := c.Wait(ctx); err != nil {
					return err
				}
			}
			items--
			return nil
		}
		rounds, cancelled := s.size(1000, 300), 0
		defer func() { e.t.Logf("the first consumer returned ctx.Err() in %d of %d rounds", cancelled, rounds) }()
		for round := range rounds {
			ctx, cancel := context.WithCancel(e.ctx)
			first := goErr(func() error { return consume(ctx) })
			if !e.waitUntil("c.Waiting() == 1", func() bool { return c.Waiting() == 1 }) {
				cancel()
				return
			}
			second := goErr(func() error { return consume(e.ctx) })
			if !e.waitUntil("c.Waiting() == 2", func() bool { return c.Waiting() == 2 }) {
				cancel()
				return
			}
			if round%2 == 0 {
				cancel()
			}
			l.Lock()
			items++
			c.Signal()
			l.Unlock()
			cancel()
			err1, ok := e.awaitErr(first)
			if !ok {
				return
			}
			if err1 == nil {
				// The first consumed the item; give the second one.
				l.Lock()
				items++
				c.Signal()
				l.Unlock()
			} else if errors.Is(err1, context.Canceled) {
				cancelled++
			} else {
				e.t.Fatalf("round %d: first consumer = %v, want nil or %v", round, err1, context.Canceled)
			}
			err2, ok := e.awaitErr(second)
			if !ok {
				e.t.Fatalf("round %d: the first consumer returned %v and the second never woke: the signal was lost with an item waiting", round, err1)
			}
			if err2 != nil {
				e.t.Fatalf("round %d: second consumer = %v, want nil", round, err2)
			}
		}
	})

	s.run(t, "SignalHappensBeforeWaitReturns", func(e *env) {
		// Checked by the race detector: data is written outside the
		// Locker before Signal and read by the woken waiter.
		var mu sync.Mutex
		for range s.size(100, 20) {
			c := newCond(&mu, e.b)
			var data int
			got := make(chan int, 1)
			go func() {
				mu.Lock()
				defer mu.Unlock()
				if err := c.Wait(e.ctx); err != nil {
					got <- -1
					return
				}
				got <- data
			}()
			if !e.waitUntil("c.Waiting() == 1", func() bool { return c.Waiting() == 1 }) {
				return
			}
			data = 1
			c.Signal()
			g, ok := recv(e, got, "Cond.Wait() after Signal()")
			if !ok {
				return
			}
			if g != 1 && e.ctx.Err() == nil {
				e.t.Fatalf("data after Wait() = %d, want 1 (written before Signal)", g)
			}
		}
	})

	s.run(t, "Arguments", func(e *env) {
		var mu sync.Mutex
		e.mustPanic("NewCond(nil, b)", func() { core.NewCond(nil, e.b) })
		e.mustPanic("NewCond(l, nil)", func() { core.NewCond(&mu, nil) })
	})
}
