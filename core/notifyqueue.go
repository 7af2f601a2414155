package core

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
)

// notifyQueue is the FIFO of goroutines parked in Event.Wait or Cond.Wait,
// with the wakeup rules both share: wake the oldest waiter, wake them all,
// and pass a single wakeup on when the waiter it was given to is cancelled
// at the same moment. Unlike the Semaphore's queue it carries no permits,
// so there is no lock-free word to keep consistent with it: every change
// of the queue and of a waiter's status happens under mu.
type notifyQueue struct {
	backend Backend

	// mu protects the list, tickets, and every status change of a queued
	// waiter. Event also changes its state word under mu, so that "is the
	// event set" and "is anyone queued" are decided together.
	mu         sync.Mutex
	head, tail *notifyWaiter
	// tickets counts the waiters ever pushed; a waiter's ticket is its
	// position in that sequence, so tickets grow from head to tail.
	tickets uint64
	// notified is the value tickets had when the latest single wakeup
	// (notifyOne) took mu: the waiters with a ticket up to it were queued
	// when that wakeup was given. A turned-down wakeup goes to one of them
	// (see abandon).
	notified uint64

	// waiting counts the queued waiters; written under mu, read without it
	// by Waiting and by the notifiers' empty-queue fast paths.
	waiting atomic.Int64

	// pool recycles waiters and their Parkers, as Semaphore.waiters does.
	pool sync.Pool
}

// A notifyWaiter is one goroutine queued in Wait.
type notifyWaiter struct {
	parker Parker

	// status is written under notifyQueue.mu, before the Unpark that
	// follows any change away from notifyQueued; the waiter reads it after
	// Park returns (an atomic for the same reason as waiter.status).
	status atomic.Int32
	// bubbled marks a waiter made inside a testing/synctest bubble: it
	// never goes back to the pool (see bubble.go).
	bubbled bool

	// ticket is the waiter's place in the order of pushes (under mu).
	ticket uint64

	// prev and next link the queue under mu; once unlinked, next links a
	// notifyList instead.
	prev, next *notifyWaiter
}

const (
	notifyQueued  int32 = iota // in the queue
	notifyWokeOne              // dequeued by a single wakeup (Signal, NotifyOne): passed on if turned down
	notifyWokeAll              // dequeued by Broadcast or Set
	notifyClosed               // dequeued by Event.Close
)

func (q *notifyQueue) init(b Backend, what string) {
	if b == nil {
		panic(fmt.Sprintf("core: %s with a nil Backend", what))
	}
	q.backend = b
	q.pool.New = func() any {
		p := b.NewParker()
		if p == nil {
			panic(fmt.Sprintf("core: backend %q returned a nil Parker", b.Name()))
		}
		return &notifyWaiter{parker: p}
	}
}

// get returns a waiter ready to push. Call it before taking mu: creating a
// Parker may allocate or make a system call.
func (q *notifyQueue) get() *notifyWaiter {
	// Inside a synctest bubble, a new waiter with a Parker made there,
	// which never goes back to the pool (see bubble.go).
	x, bubbled := getPooled(&q.pool)
	w := x.(*notifyWaiter)
	w.bubbled = bubbled
	w.status.Store(notifyQueued)
	return w
}

// put returns w to the pool, unless it was made inside a bubble.
func (q *notifyQueue) put(w *notifyWaiter) {
	if !w.bubbled {
		q.pool.Put(w)
	}
}

// pushLocked appends w to the queue. Called with mu held.
func (q *notifyQueue) pushLocked(w *notifyWaiter) {
	q.tickets++
	w.ticket = q.tickets
	w.prev, w.next = q.tail, nil
	if q.tail == nil {
		q.head = w
	} else {
		q.tail.next = w
	}
	q.tail = w
	q.waiting.Add(1)
}

// unlinkLocked removes w from the queue. Called with mu held.
func (q *notifyQueue) unlinkLocked(w *notifyWaiter) {
	if w.prev == nil {
		q.head = w.next
	} else {
		w.prev.next = w.next
	}
	if w.next == nil {
		q.tail = w.prev
	} else {
		w.next.prev = w.prev
	}
	w.prev, w.next = nil, nil
	q.waiting.Add(-1)
}

// wakeOneLocked dequeues the head onto wake, marked notifyWokeOne, if it
// was already queued when the latest single wakeup was given (its ticket
// is at most notified). Called with mu held.
func (q *notifyQueue) wakeOneLocked(wake *notifyList) {
	w := q.head
	if w == nil || w.ticket > q.notified {
		return
	}
	q.unlinkLocked(w)
	w.status.Store(notifyWokeOne)
	wake.push(w)
}

// wakeAllLocked dequeues every waiter onto wake with the given status.
// Called with mu held.
func (q *notifyQueue) wakeAllLocked(status int32, wake *notifyList) {
	for w := q.head; w != nil; w = q.head {
		q.unlinkLocked(w)
		w.status.Store(status)
		wake.push(w)
	}
}

// notifyOne wakes the waiter that has waited longest, if any (Cond.Signal,
// Event.NotifyOne). It never parks or yields the caller.
func (q *notifyQueue) notifyOne() {
	// A waiter whose push happened before this call (for a Cond: before
	// the caller took the Locker the waiter released) is counted here: it
	// incremented waiting under mu before that.
	if q.waiting.Load() == 0 {
		return
	}
	var wake notifyList
	q.mu.Lock()
	// Every waiter queued now may have this wakeup, or a wakeup turned
	// down later (see abandon); a waiter that queues after this unlock
	// may not, until the next single wakeup.
	q.notified = q.tickets
	q.wakeOneLocked(&wake)
	q.mu.Unlock()
	wake.wake()
}

// notifyAll wakes every waiter with the given status, running locked (if
// not nil) under mu first, in the same critical section. It never parks or
// yields the caller.
func (q *notifyQueue) notifyAll(status int32, locked func()) {
	var wake notifyList
	q.mu.Lock()
	if locked != nil {
		locked()
	}
	q.wakeAllLocked(status, &wake)
	q.mu.Unlock()
	wake.wake()
}

// park parks w, which the caller pushed, until it is dequeued, and returns
// the status it was dequeued with and a nil error; or, if ctx ends or the
// backend fails first, the caller's error (see abandon).
func (q *notifyQueue) park(ctx context.Context, w *notifyWaiter) (int32, error) {
	for {
		if err := w.parker.Park(ctx); err != nil {
			return notifyQueued, q.abandon(ctx, w, err)
		}
		if status := w.status.Load(); status != notifyQueued {
			// Dequeued, and the notifier's Unpark was consumed by this
			// Park: no token is pending, so the Parker is safe to reuse.
			q.put(w)
			return status, nil
		}
		// Still queued: the backend returned without a token, breaking the
		// Parker contract. Park again rather than return without a wakeup;
		// conformance.Run reports such a backend.
	}
}

// abandon finishes a park whose Park failed with err: ctx ended or the
// backend failed. It returns ctx.Err(), or the backend's error wrapped, and
// leaves no wakeup swallowed.
func (q *notifyQueue) abandon(ctx context.Context, w *notifyWaiter, err error) error {
	ctxEnded := err == ctx.Err()
	if !ctxEnded {
		err = fmt.Errorf("core: %s backend: Park failed: %w", q.backend.Name(), err)
	}
	var wake notifyList
	q.mu.Lock()
	status := w.status.Load()
	switch status {
	case notifyQueued:
		// Nobody dequeued w, so nobody will Unpark it: leave the queue.
		q.unlinkLocked(w)
	case notifyWokeOne:
		// A single wakeup reached w in a race with the failure. The caller
		// gets an error, so the wakeup was not used: pass it on, as
		// AcquireN passes on permits granted in such a race. To whom:
		// had w left before the wakeup, it and each single wakeup given
		// since would each have gone one waiter further down the queue,
		// and the one left over to a waiter queued when one of them was
		// given, at the latest when the latest was given: a ticket up to
		// notified. So the oldest such waiter still queued is woken, and
		// no waiter stays parked that the earlier cancellation would have
		// woken (no wakeup is lost). If none is queued, none would have
		// been woken. The pass can wake a waiter that the earlier
		// cancellation would not have reached, when a wakeup in between
		// found nobody further in the queue who was waiting when it was
		// given: at most one such waiter per turned-down wakeup, and the
		// count holds (a pass consumes the turned-down wakeup), so Waits
		// woken by single wakeups never outnumber them. Telling the two
		// cases apart would need the history of every wakeup since.
		q.wakeOneLocked(&wake)
	}
	// notifyWokeAll and notifyClosed woke every waiter: nothing to pass on.
	q.mu.Unlock()
	wake.wake()

	if ctxEnded && status == notifyQueued {
		// No token is pending or coming: safe to reuse.
		q.put(w)
	}
	// Otherwise drop w: after a backend failure its Parker may be broken,
	// and after a raced wakeup the notifier's Unpark is pending or coming
	// and would wake a later user of the Parker spuriously (see
	// Semaphore.abandon).
	return err
}

// notifyList is a chain of dequeued waiters, linked through next, to be
// unparked once mu is released: a slow backend's Unpark (a system call)
// never lengthens the critical section.
type notifyList struct{ first, last *notifyWaiter }

func (l *notifyList) push(w *notifyWaiter) {
	w.next = nil
	if l.last == nil {
		l.first = w
	} else {
		l.last.next = w
	}
	l.last = w
}

// wake unparks every waiter on the list, in order. It never parks or
// yields the caller.
func (l *notifyList) wake() {
	for w := l.first; w != nil; {
		// Read the link before Unpark: once unparked, the waiter may be
		// recycled and queued again, rewriting next.
		next := w.next
		w.next = nil
		w.parker.Unpark()
		w = next
	}
}
