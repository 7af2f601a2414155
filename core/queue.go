package core

import (
	"context"
	"fmt"
	"sync/atomic"
)

// A waiter is one queued AcquireN. Waiters and their Parkers are recycled
// through Semaphore.waiters.
type waiter struct {
	n      int64
	parker Parker

	// epoch numbers the waiter's queued uses. The waiter's own goroutine
	// advances it under Semaphore.mu just before it queues, so whoever
	// decides the outcome (under mu too) reads the current use's value.
	epoch uint16

	// behind records that the waiter queued behind another one: evidence
	// that the semaphore is contended, which is when Release yields after
	// handing it permits, WithThroughputOverFairness (see unlockAndWake).
	behind bool
	// bubbled marks a waiter made inside a testing/synctest bubble: it
	// never goes back to the pool (see bubble.go).
	bubbled bool
	// status is epoch<<statusEpochShift | outcome (waiterQueued,
	// waiterGranted, ...), written under Semaphore.mu by decide before the
	// Unpark that follows any outcome. A status whose epoch is not the
	// current one is an earlier use's, and means waiterQueued: so queueing
	// costs no store to status, only the outcome does. Every queued use
	// ends with a status of its own epoch (unlink decides it), so
	// a stale status is always exactly one epoch behind and can never
	// match after the epoch wraps. The waiter reads it after Park returns;
	// the Parker's happens-before guarantee would suffice, but an atomic
	// keeps a backend that breaks it from turning into a data race on the
	// outcome.
	status atomic.Uint32

	// prev and next link the queue, under Semaphore.mu. Once the waiter is
	// unlinked, next links the wake list instead (see wakeList), which keeps
	// a waiter at 48 bytes.
	prev, next *waiter
}

const (
	waiterQueued   uint32 = iota // in the queue, owed nothing yet
	waiterGranted                // dequeued: holds n permits
	waiterClosed                 // dequeued by Close
	waiterTooLarge               // dequeued by a shrink below n

	// statusEpochShift places the epoch above the outcome in status.
	statusEpochShift = 2
	// epochMask keeps the epoch to its 16 bits (a waiter stays at 48
	// bytes); its width does not matter, since a stale status is always
	// exactly one epoch behind.
	epochMask = 1<<16 - 1
)

// decide records outcome for the waiter's current use. Called with
// Semaphore.mu held, before the waiter is unparked.
func (w *waiter) decide(outcome uint32) {
	w.status.Store(uint32(w.epoch)<<statusEpochShift | outcome)
}

// outcome returns the outcome decided for the waiter's current use, or
// waiterQueued if none is.
func (w *waiter) outcome() uint32 {
	st := w.status.Load()
	if st>>statusEpochShift != uint32(w.epoch) {
		return waiterQueued
	}
	return st & (1<<statusEpochShift - 1)
}

// wakeList is a chain of dequeued waiters, linked through next (they are no
// longer in the queue), to be unparked once Semaphore.mu is released. Unparking outside the lock keeps
// a slow backend (a system call per Unpark) from lengthening the critical
// section.
type wakeList struct {
	first, last *waiter
	behind      bool // some waiter on the list had queued behind another
}

// push appends w, which must already be unlinked from the queue.
func (l *wakeList) push(w *waiter) {
	w.next = nil
	l.behind = l.behind || w.behind
	if l.last == nil {
		l.first = w
	} else {
		l.last.next = w
	}
	l.last = w
}

// wake unparks every waiter on the list and reports whether there were any.
func (l *wakeList) wake() bool {
	w := l.first
	for w != nil {
		// Read the link before Unpark: once unparked, the waiter may be
		// recycled and queued again, rewriting next.
		next := w.next
		w.next = nil // no stale link keeps a dropped waiter alive from the pool
		w.parker.Unpark()
		w = next
	}
	return l.first != nil
}

// getWaiter returns a waiter and its Parker: from the pool, or, inside a
// testing/synctest bubble, a new one (see bubble.go). (The pool's Get and
// Put cost about 110 instructions per queued grant, but no atomic; a spare
// waiter kept on the queue's line saved 76 of them for two atomics, and no
// time on a one-processor convoy: docs/design.md.)
func (s *Semaphore) getWaiter() *waiter {
	x, bubbled := getPooled(&s.waiters)
	w := x.(*waiter)
	w.bubbled = bubbled
	return w
}

// putWaiter returns w to the pool, unless it was made inside a bubble.
func (s *Semaphore) putWaiter(w *waiter) {
	if !w.bubbled {
		s.waiters.Put(w)
	}
}

// pushBack appends w to the queue. Called with s.mu held.
func (s *Semaphore) pushBack(w *waiter) {
	w.behind = s.tail != nil
	w.prev, w.next = s.tail, nil
	if s.tail == nil {
		s.head = w
	} else {
		s.tail.next = w
	}
	s.tail = w
	s.waiting++
}

// unlink removes w from the queue and decides its outcome (waiterQueued
// for an abandoned wait): every queued use ends with a status of its own
// epoch, which is what keeps a stale status one use behind (see
// waiter.status). Called with s.mu held.
func (s *Semaphore) unlink(w *waiter, outcome uint32) {
	w.decide(outcome)
	if w.prev == nil {
		s.head = w.next
	} else {
		w.prev.next = w.next
	}
	if w.next == nil {
		s.tail = w.prev
	} else {
		w.next.prev = w.prev
	}
	w.prev, w.next = nil, nil
	s.waiting--
}

// acquireSlow queues for n permits (n > 0) and parks until the outcome is
// decided. See AcquireN for the outcomes.
func (s *Semaphore) acquireSlow(ctx context.Context, n int) (Permit, error) {
	// Take a waiter before locking: creating a Parker may allocate or make
	// a system call, which must not lengthen the critical section.
	w := s.getWaiter()
	w.n = int64(n)

	s.mu.Lock()
	// Before anything is decided, every free permit goes back to the word:
	// w may have to queue, and L1 (stripes.go) requires the lanes off by
	// the time flagQueued is set. Until they are engaged again (under mu,
	// with no waiter queued) no lane operation can succeed.
	s.drainLanesLocked()
	// Closed comes first: after Close every Acquire reports ErrClosed,
	// whatever it asks for. flagClosed is set only under mu.
	if s.state.Load()&flagClosed != 0 {
		s.mu.Unlock()
		s.putWaiter(w)
		s.count(AcquireClosed)
		return Permit{}, ErrClosed
	}
	if max := maxOf(s.cfg.Load()); int64(n) > max {
		s.mu.Unlock()
		s.putWaiter(w)
		s.count(AcquireTooLarge)
		return s.tooLargeFailure(ctx, n, fmt.Errorf("%w: AcquireN(%d) with MaxPermits %d", ErrTooLarge, n, max))
	}
	for {
		// flagClosed cannot appear now: it is set only under mu, which we
		// hold, and was clear above.
		st := s.state.Load()
		queued := st&flagQueued != 0
		if !queued && availOf(st) >= int64(n) {
			// Permits came back between the fast path and here.
			if s.state.CompareAndSwap(st, st-permitsDelta(int64(n))) {
				s.mu.Unlock()
				s.putWaiter(w)
				s.count(AcquireGranted)
				return Permit{sem: s, n: n}, nil
			}
			continue
		}
		// w must queue. The bound is judged here, under mu, before w
		// becomes visible: a refused caller leaves the word and the queue as
		// it found them, and a waiter already queued is never refused.
		if s.queueFullLocked() {
			s.mu.Unlock()
			s.putWaiter(w)
			s.count(AcquireQueueFull)
			return Permit{}, ErrQueueFull
		}
		if queued {
			break // join the existing queue: grants happen under mu.
		}
		// Set flagQueued with a CAS that also proves avail < n still holds:
		// a Release that slipped in after the load makes the CAS fail and we
		// look again. This is the re-check after becoming visible whose
		// absence lost wakeups in compio-sync. From here on no fast-path
		// Acquire takes from the word, and every Release comes to mu (its
		// CAS requires the flag clear), where it finds w.
		if s.state.CompareAndSwap(st, st|flagQueued) {
			break
		}
	}
	// A new use: every status written so far is an earlier use's, which
	// outcome reads as waiterQueued.
	w.epoch = (w.epoch + 1) & epochMask
	s.pushBack(w)
	// Under mu, with w in the queue: the Observer attached now is the one
	// w reports to (see queuedObservation).
	obs := s.queuedObservation()
	s.mu.Unlock()
	since := obs.start()

	for {
		err := w.parker.Park(ctx)
		if err != nil {
			p, err := s.abandon(ctx, w, err)
			obs.waited(since, n, failureResult(ctx, err))
			return p, err
		}
		switch w.outcome() {
		case waiterGranted:
			s.putWaiter(w)
			obs.waited(since, n, AcquireGranted)
			return Permit{sem: s, n: n, queued: true}, nil
		case waiterClosed:
			s.putWaiter(w)
			obs.waited(since, n, AcquireClosed)
			return Permit{}, ErrClosed
		case waiterTooLarge:
			max := s.MaxPermits()
			s.putWaiter(w)
			obs.waited(since, n, AcquireTooLarge)
			return s.tooLargeFailure(ctx, n, fmt.Errorf("%w: AcquireN(%d) after SetMaxPermits(%d)", ErrTooLarge, n, max))
		}
		// Still queued: the backend returned without a token, breaking the
		// Parker contract. Park again rather than fail a correct program;
		// conformance.Run reports such a backend.
	}
}

// tooLargeFailure is the outcome of an AcquireN of n, more than MaxPermits,
// that holds nothing and is in no queue: WithTooLarge's function's error,
// or err, an ErrTooLarge, without the option or if the function returns
// nil.
func (s *Semaphore) tooLargeFailure(ctx context.Context, n int, err error) (Permit, error) {
	if f := s.tooLarge; f != nil {
		if ferr := f(ctx, n); ferr != nil {
			return Permit{}, ferr
		}
	}
	return Permit{}, err
}

// abandon finishes an acquireSlow whose Park failed with err: ctx ended or
// the backend failed. It returns the caller's error and leaves nothing held.
func (s *Semaphore) abandon(ctx context.Context, w *waiter, err error) (Permit, error) {
	ctxEnded := err == ctx.Err()
	if !ctxEnded {
		err = fmt.Errorf("core: %s backend: Park failed: %w", s.backend.Name(), err)
	}
	var wake wakeList
	s.mu.Lock()
	status := w.outcome()
	switch status {
	case waiterQueued:
		// Nobody has dequeued w, so nobody will Unpark it. Leave the queue
		// and, since w may have been the head that held back smaller
		// waiters behind it, serve them now (x/sync once left them waiting for
		// the next Release).
		s.unlink(w, waiterQueued)
		s.grantLocked(&wake)
	case waiterGranted:
		// Granted in a race with the failure: the caller gets an error, so
		// the permits go back, to the next waiters first. The lanes may
		// have engaged since the grant (it cleared flagQueued) and counted
		// these permits as held: returnLocked drains them first.
		s.returnLocked(w.n, &wake)
	}
	s.mu.Unlock()
	wake.wake()

	switch {
	case !ctxEnded:
		// The backend failed: drop the Parker, it may be broken.
	case status == waiterQueued:
		// No token is pending or coming: safe to reuse.
		s.putWaiter(w)
	default:
		// Whoever dequeued w unparks it after unlocking mu, so a token is
		// pending or coming. Recycling the Parker would let that token wake
		// a later waiter spuriously, and waiting here for it would tie this
		// caller's return to the releaser (or, with a faulty backend, hang
		// it). Drop the waiter instead: this race is rare, and the releaser
		// still holds w, so its late Unpark lands on a Parker nobody uses.
	}
	return Permit{}, err
}

// releaseSlow returns n > 0 permits under mu, handing them to queued
// waiters (releaseLocked), and wakes those it granted; queued is as for
// unlockAndWake. It reports false and the permits held, changing nothing,
// if more than the held permits would be released. The handoff where a
// queue is served one grant at a time (exactly the head's n, nothing free,
// waiters left behind it) takes a short path that decides the same as
// releaseLocked in about a third of the instructions.
func (s *Semaphore) releaseSlow(n int64, queued bool) (held int64, ok bool) {
	s.mu.Lock()
	if st, w := s.state.Load(), s.head; st&flagQueued != 0 && availOf(st) == 0 && w != nil && w.n == n && w != s.tail {
		// The handoff of a queue served one permit set at a time: n is
		// exactly what the head needs, nothing is free, and waiters stay
		// behind it. releaseLocked would decide the same (grant the head
		// alone, leave the word as it was), in more steps. n is held:
		// held = max - 0, and a queued waiter's n is at most max (a
		// shrink below it dequeues it). With flagQueued set the lanes are
		// off (L1) and nothing writes the word but under mu.
		s.unlink(w, waiterGranted)
		s.mu.Unlock()
		w.parker.Unpark()
		if s.yieldAfterHandoff {
			yield()
		}
		return n, true
	}
	var wake wakeList
	if held, ok = s.releaseLocked(n, &wake); !ok {
		s.mu.Unlock()
		return held, false
	}
	s.unlockAndWake(&wake, queued)
	return held, true
}

// panicOverRelease panics for a Release of n permits while held were held:
// with WithOverReleasePanic's message if the Semaphore has one.
func (s *Semaphore) panicOverRelease(n, held int64) {
	if s.overReleaseMsg != "" {
		panic(s.overReleaseMsg)
	}
	panic(fmt.Sprintf("core: Release of %d permits, more than are held (%d)", n, held))
}

// unlockAndWake unlocks mu and unparks the waiters on wake. By default that
// is all: the releasing goroutine keeps running, and a woken waiter runs when
// the releaser next blocks or another processor picks it up, exactly as a
// buffered channel's receive readies a blocked sender.
//
// A Semaphore created WithThroughputOverFairness then yields when it is
// contended, so that a woken waiter runs at once. Contended means: a woken
// waiter had queued behind another one, waiters remain queued, or the
// releaser itself got its permits through the queue (releaserQueued; known
// only for a Permit). A lone waiter that queued on an empty queue, released
// to by a goroutine that never waited, is woken without the yield: the yield
// would push it to another P, whose idle thread the kernel must wake first
// (about 11 us instead of 0.6 us here).
func (s *Semaphore) unlockAndWake(wake *wakeList, releaserQueued bool) {
	if !s.yieldAfterHandoff {
		s.mu.Unlock()
		wake.wake()
		return
	}
	// Read under mu: waiters are still queued after this grant.
	stillQueued := s.state.Load()&flagQueued != 0
	s.mu.Unlock()
	if wake.wake() && (wake.behind || stillQueued || releaserQueued) {
		yield()
	}
}

// returnLocked adds back n permits that the caller is known to hold and
// grants what it can to the queue. Called with s.mu held.
func (s *Semaphore) returnLocked(n int64, wake *wakeList) { s.releaseLocked(n, wake) }

// grantLocked serves the queue from its head while the head's request fits,
// moving each served waiter to wake, and clears flagQueued when the queue
// empties. Called with s.mu held.
//
// It stops at the first waiter that does not fit, even if smaller waiters
// behind it would: this head-of-line blocking is what keeps a large request
// from starving behind a stream of small ones (x/sync's notifyWaiters makes
// the same choice). The cost is that free permits may sit idle while the
// head waits for enough of them.
func (s *Semaphore) grantLocked(wake *wakeList) { s.releaseLocked(0, wake) }

// releaseLocked returns n >= 0 permits to the word and serves the queue
// with them, as grantLocked describes, in one CAS: a Release that hands
// its permits to the head of the queue pays for one read-modify-write of
// the word, not an add and then a grant. It reports false, changing
// nothing, if n is more than the held permits it returns held. Called with
// s.mu held. It drains the lanes first: then every free permit is in the
// word, so held is exact (cfg cannot change under mu), and the permits go
// to a word that no lane credit counts as held (L2: a return into a word
// with flagLanes set would leave the credits counting permits nobody
// holds, for an over-release to spend).
func (s *Semaphore) releaseLocked(n int64, wake *wakeList) (held int64, ok bool) {
	s.drainLanesLocked()
	limit := maxOf(s.cfg.Load())
	for {
		st := s.state.Load()
		if held = limit - availOf(st); n > held {
			return max(held, 0), false
		}
		// Decide the grants against one snapshot of the word and commit
		// them with one CAS: fast-path Acquires may take from the word
		// while nobody is queued, and a CAS that fails because of one just
		// decides again. (Releases come here, under mu, whenever waiters
		// are queued.)
		avail := availOf(st) + n
		var take int64
		last := (*waiter)(nil)
		if st&flagQueued != 0 {
			for w := s.head; w != nil && avail-take >= w.n; w = w.next {
				take += w.n
				last = w
			}
		}
		next := st + permitsDelta(n-take)
		if st&flagQueued != 0 && (s.head == nil || last == s.tail) {
			// Clearing the flag hands the word back to the fast paths;
			// it is part of the same CAS as the last grant.
			next &^= flagQueued
		}
		if next == st && last == nil {
			return held, true // nothing to return, and the head does not fit.
		}
		// A handoff of exactly what the head needs, with more waiters
		// behind it, leaves the word as it was (flagQueued set, the same
		// count): then it needs no CAS, since nothing else writes a word
		// with flagQueued set while we hold mu. Every lock-free CAS on the
		// word (the Acquire and TryAcquire fast paths, add, TryRelease,
		// TryAcquireUpTo, a lane engagement) requires flagQueued clear in
		// the word it replaces, and every other writer holds mu. Skipping
		// it keeps the word's line read-shared while a queue is served: the
		// goroutines that find the queue load it on every call.
		if next != st && !s.state.CompareAndSwap(st, next) {
			continue
		}
		for last != nil {
			w := s.head
			s.unlink(w, waiterGranted)
			wake.push(w)
			if w == last {
				break
			}
		}
		return held, true
	}
}
