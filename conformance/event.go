package conformance

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/compio-sync/gosync/core"
)

// eventAPI is what the Event family drives: core.Event's methods. Run
// always uses core.NewEvent; the suite's own tests swap in broken Events
// (see primitive_mutants_test.go) to prove that the family can fail, since
// core.Event is concrete and a broken one cannot come from a Backend.
type eventAPI interface {
	Wait(ctx context.Context) error
	Set()
	Clear()
	NotifyOne()
	Close()
	IsSet() bool
	Waiting() int
}

// newEvent builds the Event the family checks.
var newEvent = func(b core.Backend) eventAPI { return core.NewEvent(b) }

// goErr runs f on a new goroutine and returns the channel its error
// arrives on.
func goErr(f func() error) <-chan error {
	c := make(chan error, 1)
	go func() { c <- f() }()
	return c
}

// awaitErr waits for an asynchronous error that should come at once; ok is
// false if it did not come within the bound (reported as a hang) or the
// subtest's context ended first.
func (e *env) awaitErr(c <-chan error) (err error, ok bool) {
	e.t.Helper()
	return recv(e, c, "a Wait that should have returned")
}

// stillParked reports whether c has no result within blockWindow; a result
// that does arrive is returned for the failure message.
func stillParked(c <-chan error) (error, bool) {
	select {
	case err := <-c:
		return err, false
	case <-time.After(blockWindow):
		return nil, true
	}
}

// queueEventWaits starts one Wait per ctx, each queued (Waiting grew)
// before the next starts, so they queue in a known order. It returns false
// if the subtest's context ended first or a Wait returned instead of
// queueing, which it reports.
func (e *env) queueEventWaits(ev eventAPI, ctxs ...context.Context) ([]<-chan error, bool) {
	e.t.Helper()
	var cs []<-chan error
	for _, ctx := range ctxs {
		before := ev.Waiting()
		c := goErr(func() error { return ev.Wait(ctx) })
		if !untilQueued(e, "Event.Wait(ctx)", ev.Waiting, before, c, func(err error) {
			e.t.Errorf("Wait() on a clear Event with %d waiting = %v, want it to park", before, err)
		}) {
			return nil, false
		}
		cs = append(cs, c)
	}
	return cs, true
}

// repeat returns n copies of ctx.
func repeat(ctx context.Context, n int) []context.Context {
	ctxs := make([]context.Context, n)
	for i := range ctxs {
		ctxs[i] = ctx
	}
	return ctxs
}

// eventTests check core.Event: Set wakes every waiter and stays set, Clear,
// FIFO NotifyOne without setting, cancellation that never swallows a
// wakeup, Close, and the memory-model guarantee.
func (s *suite) eventTests(e0 *env) {
	t := e0.t
	s.run(t, "SetWakesEveryWaiterAndStays", func(e *env) {
		ev := newEvent(e.b)
		defer ev.Close()
		n := s.size(50, 10)
		cs, ok := e.queueEventWaits(ev, repeat(e.ctx, n)...)
		if !ok {
			return
		}
		ev.Set()
		for i, c := range cs {
			err, ok := e.awaitErr(c)
			if !ok {
				e.t.Fatalf("waiter %d of %d never returned after Set()", i, n)
			}
			if err != nil {
				e.t.Errorf("waiter %d: Wait() after Set() = %v, want nil", i, err)
			}
		}
		if !ev.IsSet() || ev.Waiting() != 0 {
			e.t.Errorf("after Set(): IsSet(), Waiting() = %v, %d, want true, 0", ev.IsSet(), ev.Waiting())
		}
		if err := ev.Wait(e.ctx); err != nil {
			e.t.Errorf("Wait() on a set Event = %v, want nil at once", err)
		}
		if err := ev.Wait(context.Background()); err != nil {
			e.t.Errorf("Wait(Background) on a set Event = %v, want nil at once", err)
		}
	})

	s.run(t, "SetThenClearWakesEveryWaiter", func(e *env) {
		// The wakeup is decided by Set: a Clear right after it must not
		// send the goroutines Set released back to sleep.
		ev := newEvent(e.b)
		defer ev.Close()
		for round := range s.size(100, 20) {
			cs, ok := e.queueEventWaits(ev, repeat(e.ctx, 4)...)
			if !ok {
				return
			}
			ev.Set()
			ev.Clear()
			for i, c := range cs {
				err, ok := e.awaitErr(c)
				if !ok {
					e.t.Fatalf("round %d: waiter %d never returned after Set(); Clear(), want nil: a Clear racing Set stranded it", round, i)
				}
				if err != nil {
					e.t.Fatalf("round %d: waiter %d: Wait() after Set(); Clear() = %v, want nil", round, i, err)
				}
			}
		}
	})

	s.run(t, "ClearMakesWaitPark", func(e *env) {
		ev := newEvent(e.b)
		defer ev.Close()
		ev.Set()
		ev.Clear()
		if ev.IsSet() {
			e.t.Errorf("IsSet() after Set(); Clear() = true, want false")
		}
		cs, ok := e.queueEventWaits(ev, e.ctx)
		if !ok {
			return
		}
		if err, parked := stillParked(cs[0]); !parked {
			e.t.Fatalf("Wait() after Clear() = %v, want it parked", err)
		}
		ev.Set()
		if err, ok := e.awaitErr(cs[0]); !ok || err != nil {
			e.t.Errorf("Wait() after Set() = %v (returned %v), want nil", err, ok)
		}
	})

	s.run(t, "NotifyOneWakesTheOldest", func(e *env) {
		ev := newEvent(e.b)
		defer ev.Close()
		n := s.size(20, 6)
		cs, ok := e.queueEventWaits(ev, repeat(e.ctx, n)...)
		if !ok {
			return
		}
		for i := range n {
			ev.NotifyOne()
			err, ok := e.awaitErr(cs[i])
			if !ok {
				e.t.Fatalf("NotifyOne() %d did not wake waiter %d, the oldest", i, i)
			}
			if err != nil {
				e.t.Fatalf("waiter %d: Wait() after NotifyOne() = %v, want nil", i, err)
			}
			if got, want := ev.Waiting(), n-1-i; got != want {
				e.t.Fatalf("after NotifyOne() %d: Waiting() = %d, want %d (exactly one woken)", i, got, want)
			}
			if ev.IsSet() {
				e.t.Fatalf("IsSet() after NotifyOne() = true, want false (NotifyOne does not set)")
			}
		}
	})

	s.run(t, "NotifyOneIsNotRemembered", func(e *env) {
		ev := newEvent(e.b)
		defer ev.Close()
		ev.NotifyOne()
		cs, ok := e.queueEventWaits(ev, e.ctx)
		if !ok {
			return
		}
		if err, parked := stillParked(cs[0]); !parked {
			e.t.Fatalf("Wait() after a NotifyOne() with nobody waiting = %v, want it parked", err)
		}
		ev.NotifyOne()
		if err, ok := e.awaitErr(cs[0]); !ok || err != nil {
			e.t.Errorf("Wait() after NotifyOne() = %v (returned %v), want nil", err, ok)
		}
	})

	s.run(t, "CancelLeavesTheQueue", func(e *env) {
		ev := newEvent(e.b)
		defer ev.Close()
		ctx, cancel := context.WithCancel(e.ctx)
		defer cancel()
		cs, ok := e.queueEventWaits(ev, ctx, e.ctx)
		if !ok {
			return
		}
		cancel()
		if err, ok := e.awaitErr(cs[0]); ok && !errors.Is(err, context.Canceled) {
			e.t.Fatalf("cancelled Wait() = %v, want %v", err, context.Canceled)
		}
		if !e.waitUntil("ev.Waiting() == 1", func() bool { return ev.Waiting() == 1 }) {
			return
		}
		ev.NotifyOne()
		if err, ok := e.awaitErr(cs[1]); !ok || err != nil {
			e.t.Errorf("Wait() behind a cancelled waiter after NotifyOne() = %v (returned %v), want nil", err, ok)
		}
		done, cancelDone := context.WithCancel(e.ctx)
		cancelDone()
		ev.Set()
		if err := ev.Wait(done); !errors.Is(err, context.Canceled) {
			e.t.Errorf("Wait(done ctx) on a set Event = %v, want %v (ctx is checked first)", err, context.Canceled)
		}
	})

	s.run(t, "CancelRacingNotifyOnePassesIt", func(e *env) {
		// A waiter whose ctx ends as NotifyOne picks it either takes the
		// wakeup (returns nil) or returns ctx.Err() and passes the wakeup
		// to the waiter behind it. Either way exactly one wakeup is used.
		ev := newEvent(e.b)
		defer ev.Close()
		rounds, cancelled := s.size(1000, 300), 0
		defer func() { e.t.Logf("the first waiter returned ctx.Err() in %d of %d rounds", cancelled, rounds) }()
		for round := range rounds {
			ctx, cancel := context.WithCancel(e.ctx)
			cs, ok := e.queueEventWaits(ev, ctx, e.ctx)
			if !ok {
				cancel()
				return
			}
			if round%2 == 0 {
				cancel()
				ev.NotifyOne()
			} else {
				ev.NotifyOne()
				cancel()
			}
			first, ok := e.awaitErr(cs[0])
			if !ok {
				return
			}
			switch {
			case first == nil:
				if !e.waitUntil("ev.Waiting() <= 1", func() bool { return ev.Waiting() <= 1 }) {
					return
				}
				if got := ev.Waiting(); got != 1 {
					e.t.Fatalf("round %d: the first Wait() took the wakeup but Waiting() = %d, want 1 (one NotifyOne woke two)", round, got)
				}
				ev.NotifyOne()
			case errors.Is(first, context.Canceled):
				cancelled++
			default:
				e.t.Fatalf("round %d: Wait() cancelled as NotifyOne() picked it = %v, want nil or %v", round, first, context.Canceled)
			}
			err, ok := e.awaitErr(cs[1])
			if !ok {
				e.t.Fatalf("round %d: the first waiter returned %v and the second never woke: a NotifyOne was lost", round, first)
			}
			if err != nil {
				e.t.Fatalf("round %d: second Wait() = %v, want nil", round, err)
			}
		}
	})

	s.run(t, "CloseFailsWaiters", func(e *env) {
		ev := newEvent(e.b)
		cs, ok := e.queueEventWaits(ev, repeat(e.ctx, s.size(20, 5))...)
		if !ok {
			ev.Close()
			return
		}
		ev.Close()
		ev.Close() // idempotent
		for i, c := range cs {
			err, ok := e.awaitErr(c)
			if !ok {
				e.t.Fatalf("waiter %d never returned after Close()", i)
			}
			if !errors.Is(err, core.ErrClosed) {
				e.t.Errorf("waiter %d: Wait() after Close() = %v, want ErrClosed", i, err)
			}
		}
		ev.Set()
		if err := ev.Wait(e.ctx); !errors.Is(err, core.ErrClosed) {
			e.t.Errorf("Wait() on a closed, set Event = %v, want ErrClosed", err)
		}
		if !ev.IsSet() {
			e.t.Errorf("IsSet() after Close(); Set() = false, want true")
		}
	})

	s.run(t, "SetHappensBeforeWaitReturns", func(e *env) {
		// Checked by the race detector: data is written before Set with no
		// other synchronization, and read after Wait.
		for range s.size(100, 20) {
			ev := newEvent(e.b)
			var data int
			var wg sync.WaitGroup
			for range 4 {
				wg.Go(func() {
					if err := ev.Wait(e.ctx); err != nil {
						return // the watchdog fired
					}
					if data != 1 {
						e.t.Errorf("data after Wait() = %d, want 1 (written before Set)", data)
					}
				})
			}
			data = 1
			ev.Set()
			if !e.waitGroup(&wg, "4 Event.Waits after Set()") {
				return
			}
		}
	})

	s.run(t, "StormStrandsNobody", func(e *env) {
		// Set, Clear, NotifyOne and cancellations in any interleaving:
		// every Wait returns while a notifier keeps going.
		ev := newEvent(e.b)
		defer ev.Close()
		stop := make(chan struct{})
		var notifier sync.WaitGroup
		notifier.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				switch i % 3 {
				case 0:
					ev.Set()
				case 1:
					ev.Clear()
				default:
					ev.NotifyOne()
				}
			}
		})
		e.goAll(8, "the Event storm's waiters", func(g int, tick func()) {
			for i := range s.size(1000, 200) {
				tick()
				ctx, cancel := context.WithCancel(e.ctx)
				if (g+i)%4 == 0 {
					cancel()
				}
				err := ev.Wait(ctx)
				cancel()
				if err != nil && !errors.Is(err, context.Canceled) {
					e.t.Errorf("Wait() in the storm = %v, want nil or %v", err, context.Canceled)
					return
				}
				if e.ctx.Err() != nil {
					return
				}
			}
		})
		close(stop)
		notifier.Wait() // it stops at once: it never blocks.
		if got := ev.Waiting(); got != 0 {
			e.t.Errorf("Waiting() after every Wait returned = %d, want 0", got)
		}
	})

	s.run(t, "Arguments", func(e *env) {
		e.mustPanic("NewEvent(nil)", func() { core.NewEvent(nil) })
	})
}
