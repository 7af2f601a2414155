package core

import (
	"context"
	"sync/atomic"
)

// An Event is a sticky flag that goroutines wait on: while it is set, Wait
// returns at once; while it is clear, Wait parks until Set, until NotifyOne
// picks it, until its ctx is done, or until Close. It is compio-sync's
// Condvar (notify_one, notify_all, clear, waiter_count) under a name that
// says what it is. A start gate, a "ready" or "shutting down" signal, and
// a wakeup that must not be lost when it comes before the wait are its uses.
//
// An Event is safe for concurrent use. Create it with NewEvent; the zero
// value is not usable. Waiters park on Parkers from the Event's Backend, the
// same contract a Semaphore uses, so every backend supports Events.
//
// Set, Clear, NotifyOne and Close never park or yield their caller: they
// take an internal mutex for a few pointer updates per waiter they wake
// (never across an Unpark) and then unpark the woken waiters.
//
// Memory model: a Set that finds the event clear synchronizes before the
// return of every Wait that returns nil because of it: the Waits it wakes
// and the Waits that find the event set until the next Clear. A NotifyOne
// synchronizes before the return of the Wait it wakes, and Close before the
// ErrClosed failures it causes. A Set that finds the event already set
// does nothing and synchronizes with nothing.
type Event struct {
	// state holds eventSet and eventClosed. It is read without a lock and
	// written only under q.mu, so that the flag and the queue change
	// together. Invariant: while eventSet is set, the queue is empty (Set
	// empties it under mu, and Wait queues only under mu after seeing the
	// flag clear).
	state atomic.Uint32
	q     notifyQueue
}

const (
	eventSet    uint32 = 1 << 0
	eventClosed uint32 = 1 << 1
)

// errEventClosed is what Wait returns once the Event is closed.
var errEventClosed error = &closedError{what: "event"}

// closedError reports a closed Event or Cond; it satisfies
// errors.Is(err, ErrClosed).
type closedError struct{ what string }

func (e *closedError) Error() string { return "core: " + e.what + " closed" }
func (e *closedError) Unwrap() error { return ErrClosed }

// NewEvent returns a clear Event that parks waiting goroutines on Parkers
// from b. It panics with a message starting "core:" if b is nil.
func NewEvent(b Backend) *Event {
	e := &Event{}
	e.q.init(b, "NewEvent")
	return e
}

// Backend returns the Backend the Event parks waiters on.
func (e *Event) Backend() Backend { return e.q.backend }

// Wait waits for the event. In order of precedence, it returns:
//   - ctx.Err() at once if ctx is already done, even if the event is set;
//   - an error satisfying errors.Is(err, ErrClosed) at once if the Event is
//     closed, even if it is set;
//   - nil at once if the event is set;
//   - otherwise it queues and parks, and returns nil when Set or a
//     NotifyOne wakes it, an error satisfying errors.Is(err, ErrClosed) when
//     Close does, ctx.Err() when ctx ends first, or an error wrapping the
//     Backend's if parking failed.
//
// A Wait whose ctx ends at the moment NotifyOne picks it returns ctx.Err()
// and passes the wakeup to the oldest waiter still queued that was already
// queued when the latest NotifyOne was called; if there is none, the
// wakeup wakes nobody, and none of the waiters still queued would have
// had it had the cancellation come first. So a cancellation never loses a
// wakeup: every waiter that would have been woken had the Wait been
// cancelled before NotifyOne is woken. The pass may instead wake a waiter
// that would then have stayed parked (at most one per wakeup turned down;
// see docs/design.md), but the Waits NotifyOne wakes never outnumber the
// NotifyOne calls, and a Wait returns nil only if a NotifyOne or Set was
// called while it was queued. A Wait whose ctx ends at the moment of a Set
// or Close returns ctx.Err(); those woke every waiter, so nothing is passed
// on.
func (e *Event) Wait(ctx context.Context) error {
	// Fast path for a set event and context.Background() or
	// context.TODO(), known by two compares (neverEnds) without a call.
	if e.state.Load() == eventSet && neverEnds(ctx) {
		return nil
	}
	return e.wait(ctx)
}

func (e *Event) wait(ctx context.Context) error {
	if !notDone(ctx) {
		return ctx.Err()
	}
	if st := e.state.Load(); st != 0 {
		return e.stateResult(st)
	}
	w := e.q.get()
	e.q.mu.Lock()
	// Look again under mu: Set and Close change state only under mu, so
	// from here until the push is visible to them no Set can slip between
	// this check and the push (the missed-wakeup window).
	if st := e.state.Load(); st != 0 {
		e.q.mu.Unlock()
		e.q.put(w)
		return e.stateResult(st)
	}
	e.q.pushLocked(w)
	e.q.mu.Unlock()

	status, err := e.q.park(ctx, w)
	if err != nil {
		return err
	}
	if status == notifyClosed {
		return errEventClosed
	}
	return nil // notifyWokeAll (Set) or notifyWokeOne (NotifyOne)
}

// stateResult is Wait's outcome for a non-zero state word: closed wins.
func (e *Event) stateResult(st uint32) error {
	if st&eventClosed != 0 {
		return errEventClosed
	}
	return nil
}

// Set sets the event and wakes every waiter; until Clear, every Wait
// returns at once. Set on a set event does nothing. After Close, Set still
// sets the flag (IsSet reports it) but Wait keeps failing with ErrClosed.
// Set never parks or yields its caller.
func (e *Event) Set() {
	if e.state.Load()&eventSet != 0 {
		return // already set, so (invariant) nobody is queued.
	}
	// Setting the flag and emptying the queue in one critical section keeps
	// the invariant: a waiter either queued before (and is woken here) or
	// looks under mu after (and finds the flag).
	e.q.notifyAll(notifyWokeAll, func() { e.state.Or(eventSet) })
}

// Clear clears the event: Waits that start afterwards park until the next
// Set or NotifyOne. Waiters that a Set has already woken are not affected,
// even if they have not run yet: a Set followed at once by Clear still
// releases every goroutine that was waiting. Clear on a clear event does
// nothing. Clear never parks or yields its caller.
func (e *Event) Clear() {
	if e.state.Load()&eventSet == 0 {
		return
	}
	e.q.mu.Lock()
	e.state.And(^eventSet)
	e.q.mu.Unlock()
}

// NotifyOne wakes the waiter that has waited longest, without setting the
// event; its Wait returns nil. With nobody waiting it does nothing (unlike
// Set, it is not remembered). NotifyOne never parks or yields its caller.
func (e *Event) NotifyOne() { e.q.notifyOne() }

// Close closes the Event. Every queued Wait and every later Wait fails with
// an error satisfying errors.Is(err, ErrClosed) (a later Wait whose ctx is
// already done reports ctx.Err(), which is checked first). Set, Clear and
// NotifyOne keep working on the flag but wake nobody. Close is idempotent
// and never parks or yields its caller.
func (e *Event) Close() {
	e.q.notifyAll(notifyClosed, func() { e.state.Or(eventClosed) })
}

// IsSet reports whether the event is set. The result is a snapshot that
// may be stale by the time it is used.
func (e *Event) IsSet() bool { return e.state.Load()&eventSet != 0 }

// Closed reports whether Close has been called.
func (e *Event) Closed() bool { return e.state.Load()&eventClosed != 0 }

// Waiting returns the number of Waits queued and not yet woken or failed.
// The result is a snapshot that may be stale by the time it is used.
func (e *Event) Waiting() int { return int(e.q.waiting.Load()) }
