package core

import (
	"context"
	"sync"
)

// A Cond is a condition variable bound to a Locker, like sync.Cond, whose
// Wait takes a context: a goroutine waiting for a state change can give up
// when its request is cancelled or times out.
//
// A Cond is safe for concurrent use. Create it with NewCond; the zero value
// is not usable. Waiters park on Parkers from the Cond's Backend, the same
// contract a Semaphore uses, so every backend supports Conds.
//
// Waiters are woken in strict FIFO order: Signal wakes the goroutine that
// has waited longest. Signal and Broadcast never park or yield their
// caller: they take an internal mutex for a few pointer updates per waiter
// they wake (never across an Unpark) and then unpark the woken waiters.
//
// Memory model: a Signal or Broadcast synchronizes before the return of
// every Wait it wakes. As with sync.Cond, the state the condition depends
// on is protected by the Locker, whose own guarantees order it.
type Cond struct {
	l sync.Locker
	q notifyQueue
}

// NewCond returns a Cond bound to l that parks waiting goroutines on
// Parkers from b. It panics with a message starting "core:" if l or b is
// nil.
func NewCond(l sync.Locker, b Backend) *Cond {
	if l == nil {
		panic("core: NewCond with a nil Locker")
	}
	c := &Cond{l: l}
	c.q.init(b, "NewCond")
	return c
}

// Backend returns the Backend the Cond parks waiters on.
func (c *Cond) Backend() Backend { return c.q.backend }

// Wait atomically unlocks the Cond's Locker, which the caller must hold,
// and parks until Signal or Broadcast wakes it or ctx ends. It holds the
// Locker again when it returns, in every outcome:
//   - nil after a Signal or Broadcast woke it;
//   - ctx.Err() if ctx ends first; if ctx is already done when Wait is
//     called, at once, without unlocking;
//   - an error wrapping the Backend's if parking failed.
//
// "Atomically" means what it does for sync.Cond: a Signal or Broadcast that
// another goroutine calls after acquiring the Locker, which Wait released,
// finds this waiter. Wait cannot return nil unless woken, so as with
// sync.Cond the caller rechecks its condition in a loop:
//
//	mu.Lock()
//	for !ready() {
//		if err := c.Wait(ctx); err != nil {
//			mu.Unlock()
//			return err
//		}
//	}
//	... use the state ...
//	mu.Unlock()
//
// As with sync.Cond, calling Wait without holding the Locker is a bug that
// Wait cannot detect: the Locker's Unlock decides what happens (a
// sync.Mutex ends the program).
//
// A Wait whose ctx ends at the moment Signal picks it returns ctx.Err() and
// passes the signal to the oldest waiter still queued that was already
// waiting when the latest Signal was called; if there is none, the signal
// wakes nobody, and none of the waiters still queued would have had it had
// the cancellation come first. So a cancellation never loses a signal:
// every waiter that would have been woken had the Wait been cancelled
// before Signal is woken. The pass may instead wake a waiter that would
// then have stayed parked (at most one per signal turned down; see
// docs/design.md), which the usual loop absorbs, but the Waits Signal
// wakes never outnumber the Signal calls, and a Wait returns nil only if a
// Signal or Broadcast was called while it waited. A Wait whose ctx ends at
// the moment of a Broadcast returns ctx.Err(); the Broadcast woke every
// waiter, so nothing is passed on.
func (c *Cond) Wait(ctx context.Context) error {
	if !notDone(ctx) {
		return ctx.Err()
	}
	w := c.q.get()
	c.q.mu.Lock()
	// Queue before unlocking the Locker: a notifier that takes the Locker
	// after the Unlock below finds w, so no wakeup falls between the
	// Unlock and the Park.
	c.q.pushLocked(w)
	c.q.mu.Unlock()
	c.l.Unlock()
	_, err := c.q.park(ctx, w)
	c.l.Lock()
	return err
}

// Signal wakes the goroutine that has waited longest, if any. It is allowed
// but not required for the caller to hold the Locker. With nobody waiting
// it does nothing. Signal never parks or yields its caller.
func (c *Cond) Signal() { c.q.notifyOne() }

// Broadcast wakes every waiting goroutine, in FIFO order. It is allowed but
// not required for the caller to hold the Locker. Broadcast never parks or
// yields its caller.
func (c *Cond) Broadcast() {
	if c.q.waiting.Load() == 0 {
		return // as in notifyOne
	}
	c.q.notifyAll(notifyWokeAll, nil)
}

// Waiting returns the number of Waits queued and not yet woken or failed.
// The result is a snapshot that may be stale by the time it is used.
func (c *Cond) Waiting() int { return int(c.q.waiting.Load()) }
