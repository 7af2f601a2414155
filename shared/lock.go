package shared

import (
	"context"
	"runtime"
	"slices"
	"time"
)

// The region lock and its journal.
//
// Every change to the semaphore state, the queue and the process and
// waiter slots is made by the holder of the region lock, inside a
// transaction. The lock word holds the holder's identity (see
// identity_linux.go and identity_windows.go), so when a holder dies,
// SIGKILL included, its waiters can tell: a waiter that has seen the same
// owner for lockPoll (on its own clock, whether its Waiter slept, woke
// early or failed) checks the owner's liveness (an owner word no live
// handle can have reads as dead, see identity_linux.go), and if the owner is dead it takes the lock over with a CAS on
// the same owner word (so of several such waiters exactly one wins).
//
// A transaction writes through an undo journal: before a word changes, its
// offset and old value are appended to the journal, and the journal length
// is published before the word is written. Commit sets the length to 0.
// Whoever takes the lock and finds a non-zero journal length (a holder died
// mid-transaction) restores the recorded old values newest first, which
// rolls the interrupted update back completely; if it dies while doing so,
// the next owner repeats the restore, which is idempotent (the journal is
// only cleared at the end). So every transaction either happened entirely
// or not at all.
//
// Nothing reacts to a transaction before it commits: wakes are issued after
// commit and unlock, and a waiter that sees its slot change re-reads it
// under the lock before acting (see Semaphore.await), so a rolled-back
// grant is never acted on.

const (
	// lockContended is set in the owner word by a waiter before it sleeps;
	// unlock then wakes one sleeper. A waiter that died leaves at most one
	// spurious wake behind: the bit is cleared by the next unlock.
	lockContended = 1 << 63

	// lockPoll is how long a lock waiter sleeps before it checks that the
	// owner is alive. Holds last microseconds; only a dead (or stopped)
	// owner makes a waiter poll.
	lockPoll = 20 * time.Millisecond

	// lockSpins is how many times a lock waiter yields before sleeping.
	lockSpins = 4

	// lockFallbackSleep is how long a lock waiter sleeps between looks when
	// its Waiter fails.
	lockFallbackSleep = 100 * time.Microsecond
)

// lock takes the region lock for s's process, recovering it from a dead
// owner if need be, and rolls back an interrupted transaction. It fails,
// not holding the lock, if ctx ends first, returning ctx.Err() (if the
// Waiter fails it polls), or if the region is corrupt (a journal that no
// transaction wrote, or a region marked corrupt), returning an error
// wrapping ErrCorrupt.
func (s *Semaphore) lock(ctx context.Context) error {
	// Invariant: the owner word is 0 exactly when nobody holds the lock.
	tookOver := false
	if !s.r.u64(offLockOwner).CompareAndSwap(0, s.id) {
		var err error
		if tookOver, err = s.lockSlow(ctx); err != nil {
			return err
		}
	}
	raceAcquire()
	// Invariant: a non-zero journal length under a freshly taken lock means
	// the previous owner died inside a transaction (a live owner always
	// commits before unlocking).
	if s.r.u32(offJournalLen).Load() != 0 {
		if err := s.rollback(); err != nil {
			s.markCorrupt(err)
			s.unlock()
			return err
		}
	}
	// A region marked corrupt stays so (region_check.go): nothing is done
	// under its lock any more.
	if s.isCorrupt() {
		s.unlock()
		return s.errCorrupt()
	}
	if tookOver {
		// The dead owner may have committed decisions it never woke
		// their waiters for (it dies between commit and unlock).
		s.wakeDecided()
	}
	return nil
}

// lockAlways is lock for paths that must complete (releases, abandon,
// Close): with no ctx to end, it fails only if the region is corrupt,
// returning an error wrapping ErrCorrupt.
func (s *Semaphore) lockAlways() error { return s.lock(context.Background()) }

// lockSlow is lock's contended path; tookOver reports that the lock was
// taken over from a dead owner.
func (s *Semaphore) lockSlow(ctx context.Context) (tookOver bool, err error) {
	owner := s.r.u64(offLockOwner)
	seq := s.r.u32(offLockSeq)
	// The liveness check runs on a deadline of our own, lockPoll after we
	// first saw the current owner, whatever the Waiter did meanwhile: a
	// Waiter that fails at once (a closed backend) must not keep a dead
	// owner's lock from being taken over.
	var seen uint64 // the owner (without the contended bit) since
	var since time.Time
	for spin := 0; ; spin++ {
		o := owner.Load()
		if o == 0 {
			// Take it with the contended bit: others may sleep, and our
			// unlock must wake them (the sleeper that set the bit may be us).
			if owner.CompareAndSwap(0, s.id|lockContended) {
				return false, nil
			}
			continue
		}
		if spin < lockSpins {
			runtime.Gosched()
			continue
		}
		if err := ctx.Err(); err != nil {
			return false, err
		}
		if id := o &^ lockContended; id != seen {
			seen, since = id, time.Now()
		}
		if time.Since(since) >= lockPoll {
			if !s.live.alive(seen) {
				// The owner is dead. The CAS against its exact word makes
				// one taker win; the journal is rolled back by lock.
				if owner.CompareAndSwap(o, s.id|lockContended) {
					s.recoveredLocks.Add(1)
					return true, nil
				}
				continue
			}
			since = time.Now() // alive: look again a poll from now
		}
		if o&lockContended == 0 && !owner.CompareAndSwap(o, o|lockContended) {
			continue
		}
		// Load the sequence, then re-check the owner: an unlock between the
		// two bumps the sequence, so the wait below returns at once instead
		// of missing the wake.
		v := seq.Load()
		if owner.Load() != o|lockContended {
			continue
		}
		wctx, cancel := context.WithDeadline(ctx, since.Add(lockPoll))
		err := s.w.Wait(wctx, seq, v)
		cancel()
		if err != nil && wctx.Err() == nil {
			// The Waiter cannot wait (for example its io_uring backend was
			// closed). Holds are short: poll instead of failing, so that a
			// Release never fails for want of a Waiter.
			time.Sleep(lockFallbackSleep)
		}
	}
}

// wakeDecided wakes every waiter slot that is decided (granted, closed,
// too large or detached) and not yet collected by its waiter. Called by
// whoever recovers from a dead process: the lock's taker, a sweep that
// reclaimed, Open taking a dead handle's slot. A process that dies after
// committing a transaction and before its wakes (which come after the
// unlock) leaves the waiters it decided asleep until their own poll; this
// wakes them now. A wake of a waiter that is already awake is spurious
// and harmless (a woken waiter re-checks its slot under the lock).
func (s *Semaphore) wakeDecided() {
	for i := uint32(0); i < s.r.slots; i++ {
		state := s.r.u32(s.r.slot(i) + slotState)
		switch state.Load() {
		case slotGranted, slotClosed, slotTooLarge, slotDetached:
			s.w.Wake(state, slotWakers)
		}
	}
}

// unlock releases the region lock. The transaction must be committed.
func (s *Semaphore) unlock() {
	// Invariant: the journal is empty whenever the owner word is 0. Every
	// path commits (or markCorrupt clears the journal) before unlocking,
	// so a length here was written by someone else while we held the
	// lock: mark the region corrupt rather than panic with it held.
	if s.r.u32(offJournalLen).Load() != 0 {
		s.r.u32(offCorrupt).Store(1)
		s.r.u32(offJournalLen).Store(0)
	}
	raceRelease()
	if s.r.u64(offLockOwner).Swap(0)&lockContended != 0 {
		// Bump after the Swap: a sleeper that loaded the old sequence
		// before our Swap either sees the owner change or fails its
		// FUTEX_WAIT on the new sequence.
		s.r.u32(offLockSeq).Add(1)
		s.w.Wake(s.r.u32(offLockSeq), 1)
	}
}

// set64 writes v to the 64-bit word at off, journaled.
func (s *Semaphore) set64(off uintptr, v uint64) {
	w := s.r.u64(off)
	old := w.Load()
	if old == v {
		return
	}
	s.journal(uint64(off)|journalWide, old)
	w.Store(v)
}

// set32 writes v to the 32-bit word at off, journaled.
func (s *Semaphore) set32(off uintptr, v uint32) {
	w := s.r.u32(off)
	old := w.Load()
	if old == v {
		return
	}
	s.journal(uint64(off), uint64(old))
	w.Store(v)
}

// journal appends one undo entry. Invariant: the entry is complete before
// the length that covers it is published, and the length is published
// before the word it describes changes; so recovery restores every word
// that may have changed, and nothing else.
//
// It returns the entry's offset (for a steal entry whose expected value a
// retried CAS rewrites, see drain).
func (s *Semaphore) journal(off uint64, old uint64) uintptr {
	n := s.r.u32(offJournalLen).Load()
	if n >= s.r.journalCap {
		// No correct transaction is this long (see newLayout): the state
		// it walked was corrupt.
		s.corrupt("transaction exceeds the journal (%d entries)", s.r.journalCap)
	}
	e := s.r.journalOff + uintptr(n)*journalEntrySize
	s.r.u64(e).Store(off)
	s.r.u64(e + 8).Store(old)
	s.r.u32(offJournalLen).Store(n + 1)
	return e
}

// commit makes the open transaction permanent: once the length is 0, no
// recovery undoes it.
func (s *Semaphore) commit() { s.r.u32(offJournalLen).Store(0) }

// rollback undoes the interrupted transaction of a dead lock owner, newest
// entry first, then clears the journal. Called with the lock held. It
// checks the whole journal before it writes anything, and returns an
// error wrapping ErrCorrupt, changing nothing, if the length or an entry
// cannot be what a transaction wrote (see readEntry).
func (s *Semaphore) rollback() error {
	es, err := s.journalEntries()
	if err != nil {
		return err
	}
	s.undo(es)
	s.r.u32(offJournalLen).Store(0)
	s.rolledBack.Add(1)
	return nil
}

// undo restores the words of checked journal entries, newest first.
func (s *Semaphore) undo(es []journalEntry) {
	for _, e := range slices.Backward(es) {
		switch {
		case e.stl:
			// A steal of a pool word: undone only if its CAS landed, which
			// the word itself tells (see pool.go). Idempotent like the rest.
			s.r.u64(e.at).CompareAndSwap(stealOf(e.old), e.old)
		case e.wide:
			s.r.u64(e.at).Store(e.old)
		default:
			s.r.u32(e.at).Store(uint32(e.old))
		}
	}
}
