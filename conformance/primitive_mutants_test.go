package conformance

import (
	"context"
	"slices"
	"sync"

	"github.com/compio-sync/gosync/core"
)

// Names of the Event and Cond mutants, shared with the mutant zoo
// (zoo_test.go).
const (
	MutantEventClearRacesSet       = "Event: waiters woken by Set recheck the flag, so a Clear right after Set strands them"
	MutantEventLosesNotifyOnCancel = "Event: a waiter cancelled as NotifyOne picks it swallows the wakeup"
	MutantCondLosesSignalOnCancel  = "Cond: a waiter cancelled as Signal picks it swallows the signal"
	MutantCondWakesNewest          = "Cond: Signal wakes the newest waiter"
)

// UsePrimitiveMutant makes the Event or Cond family drive the mutant called
// name; it does nothing if name is not one of them. The mutant zoo calls it
// in its child process only.
func UsePrimitiveMutant(name string) {
	switch name {
	case MutantEventClearRacesSet:
		newEvent = func(b core.Backend) eventAPI { return recheckingEvent{core.NewEvent(b)} }
	case MutantEventLosesNotifyOnCancel:
		newEvent = func(b core.Backend) eventAPI { return &lossyEvent{q: lossyQueue{b: b}} }
	case MutantCondLosesSignalOnCancel:
		newCond = func(l sync.Locker, b core.Backend) condAPI { return &lossyCond{l: l, q: lossyQueue{b: b}} }
	case MutantCondWakesNewest:
		newCond = func(l sync.Locker, b core.Backend) condAPI { return &lossyCond{l: l, q: lossyQueue{b: b, lifo: true}} }
	}
}

// recheckingEvent is core.Event with the textbook condition-variable loop
// in Wait: a waiter that Set woke goes back to sleep if the flag is clear
// again by the time it runs (and one that NotifyOne woke always does).
type recheckingEvent struct{ *core.Event }

func (e recheckingEvent) Wait(ctx context.Context) error {
	for {
		if err := e.Event.Wait(ctx); err != nil || e.IsSet() {
			return err
		}
	}
}

// lossyQueue is the naive waiter queue: a cancelled waiter leaves the queue
// if it is still in it, and otherwise just returns, dropping the wakeup it
// was given. With lifo, a single wakeup goes to the newest waiter.
type lossyQueue struct {
	b       core.Backend
	lifo    bool
	mu      sync.Mutex
	waiters []*lossyWaiter
}

type lossyWaiter struct {
	p     core.Parker
	woken bool // under lossyQueue.mu
}

// pushLocked queues a new waiter. Called with mu held.
func (q *lossyQueue) pushLocked() *lossyWaiter {
	w := &lossyWaiter{p: q.b.NewParker()}
	q.waiters = append(q.waiters, w)
	return w
}

// park parks w until it is woken or ctx ends.
func (q *lossyQueue) park(ctx context.Context, w *lossyWaiter) error {
	for {
		err := w.p.Park(ctx)
		q.mu.Lock()
		woken := w.woken
		if err != nil {
			if i := slices.Index(q.waiters, w); i >= 0 {
				q.waiters = slices.Delete(q.waiters, i, i+1)
			}
			q.mu.Unlock()
			return err // the bug: if woken, the wakeup is gone
		}
		q.mu.Unlock()
		if woken {
			return nil
		}
	}
}

func (q *lossyQueue) wakeOne() {
	q.mu.Lock()
	if len(q.waiters) == 0 {
		q.mu.Unlock()
		return
	}
	i := 0
	if q.lifo {
		i = len(q.waiters) - 1
	}
	w := q.waiters[i]
	q.waiters = slices.Delete(q.waiters, i, i+1)
	w.woken = true
	q.mu.Unlock()
	w.p.Unpark()
}

func (q *lossyQueue) wakeAllLocked() []*lossyWaiter {
	ws := q.waiters
	q.waiters = nil
	for _, w := range ws {
		w.woken = true
	}
	return ws
}

func unparkAll(ws []*lossyWaiter) {
	for _, w := range ws {
		w.p.Unpark()
	}
}

func (q *lossyQueue) waiting() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.waiters)
}

type lossyCond struct {
	l sync.Locker
	q lossyQueue
}

func (c *lossyCond) Wait(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.q.mu.Lock()
	w := c.q.pushLocked()
	c.q.mu.Unlock()
	c.l.Unlock()
	defer c.l.Lock()
	return c.q.park(ctx, w)
}

func (c *lossyCond) Signal() { c.q.wakeOne() }

func (c *lossyCond) Broadcast() {
	c.q.mu.Lock()
	ws := c.q.wakeAllLocked()
	c.q.mu.Unlock()
	unparkAll(ws)
}

func (c *lossyCond) Waiting() int { return c.q.waiting() }

type lossyEvent struct {
	q           lossyQueue
	set, closed bool // under q.mu
}

func (e *lossyEvent) Wait(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	e.q.mu.Lock()
	if e.closed {
		e.q.mu.Unlock()
		return core.ErrClosed
	}
	if e.set {
		e.q.mu.Unlock()
		return nil
	}
	w := e.q.pushLocked()
	e.q.mu.Unlock()
	if err := e.q.park(ctx, w); err != nil {
		return err
	}
	e.q.mu.Lock()
	defer e.q.mu.Unlock()
	if e.closed {
		return core.ErrClosed
	}
	return nil
}

func (e *lossyEvent) setFlags(set, closed bool) {
	e.q.mu.Lock()
	e.set, e.closed = e.set || set, e.closed || closed
	ws := e.q.wakeAllLocked()
	e.q.mu.Unlock()
	unparkAll(ws)
}

func (e *lossyEvent) Set()   { e.setFlags(true, false) }
func (e *lossyEvent) Close() { e.setFlags(false, true) }

func (e *lossyEvent) Clear() {
	e.q.mu.Lock()
	e.set = false
	e.q.mu.Unlock()
}

func (e *lossyEvent) NotifyOne()   { e.q.wakeOne() }
func (e *lossyEvent) IsSet() bool  { e.q.mu.Lock(); defer e.q.mu.Unlock(); return e.set }
func (e *lossyEvent) Waiting() int { return e.q.waiting() }
