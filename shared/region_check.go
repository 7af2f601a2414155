package shared

import (
	"fmt"
)

// Checks of what is read from the region.
//
// Any process that can open the file can write any word of the region, so
// nothing read from it is used as an index, an offset or a loop bound
// before it is checked: queue links (head, tail, next, prev) are in
// 1..slots, process numbers below procs (the slot numbers of identities
// too: identity_linux.go reads one naming no slot of its own as dead),
// journal lengths within the journal's capacity, journal entries name an
// aligned word of the state, counts stay within what correct operations
// produce, and a walk of the queue ends within slots steps. A check that fails is corruption: it
// calls corrupt, which panics with a corruption value while the lock is
// held; every operation that takes the lock defers recoverCorrupt, which
// marks the region corrupt, unlocks and turns the panic into the
// operation's error. So the panic never leaves the package and never
// leaves the lock held, and every later operation in every process fails
// with ErrCorrupt (lock refuses a region marked corrupt).

// corruption is the panic value of a failed check (see corrupt).
type corruption struct{ err error }

// corrupt reports a failed check of a word read from the region. Called
// only with the region lock held, by code under a deferred recoverCorrupt.
func (s *Semaphore) corrupt(format string, args ...any) {
	panic(corruption{fmt.Errorf("shared %q: %w: "+format, append([]any{s.name, ErrCorrupt}, args...)...)})
}

// recoverCorrupt, deferred by an operation before it takes the region
// lock, turns a corruption panic raised while it holds the lock into an
// error: it marks the region corrupt, unlocks, and stores the error in
// *err (if err is not nil). Any other panic goes on unchanged.
func (s *Semaphore) recoverCorrupt(err *error) {
	v := recover()
	if v == nil {
		return
	}
	c, ok := v.(corruption)
	if !ok {
		panic(v)
	}
	s.markCorrupt(c.err)
	s.unlock()
	if err != nil {
		*err = c.err
	}
}

// markCorrupt records, with the lock held, that the region is corrupt:
// every later lock (in any process) fails with ErrCorrupt. The open
// transaction, if any, is rolled back as far as its journal can be
// trusted, and the journal is cleared, so that unlock and the next owner
// find it committed. Every pool is frozen (its drained bit set), so that
// every fast path, in every process, falls to the lock and fails there;
// and every waiter slot's word is woken, so that queued Acquires, which
// look at the mark whenever they wake, fail now instead of at their poll.
func (s *Semaphore) markCorrupt(err error) {
	s.broken.CompareAndSwap(nil, &err)
	// The mark first: a check that failed inside the rollback below
	// must still leave the region marked.
	s.r.u32(offCorrupt).Store(1)
	if es, err := s.journalEntries(); err == nil {
		s.undo(es)
	}
	s.r.u32(offJournalLen).Store(0)
	for p := uint32(0); p < s.r.procs; p++ {
		s.pool(p).Or(poolDrained)
	}
	for i := uint32(0); i < s.r.slots; i++ {
		s.w.Wake(s.r.u32(s.r.slot(i)+slotState), slotWakers)
	}
}

// isCorrupt reports whether the region is marked corrupt. A snapshot; the
// mark is never cleared.
func (s *Semaphore) isCorrupt() bool { return s.r.u32(offCorrupt).Load() != 0 }

// errCorrupt returns the error of a region marked corrupt: what this
// handle found, or, if another handle or process marked it, a general one.
func (s *Semaphore) errCorrupt() error {
	if e := s.broken.Load(); e != nil {
		return *e
	}
	return fmt.Errorf("shared %q: %w: marked corrupt by an earlier operation (remove the file and open a new semaphore)", s.name, ErrCorrupt)
}

// Err returns nil while the region is sound, or an error satisfying
// errors.Is(err, ErrCorrupt) once an operation of any handle, in any
// process, found it corrupt (see ErrCorrupt). It reads one word and takes
// no lock; after Detach it still answers.
func (s *Semaphore) Err() error {
	if !s.enter() {
		if e := s.broken.Load(); e != nil {
			return *e
		}
		return nil
	}
	defer s.leave()
	if s.isCorrupt() {
		return s.errCorrupt()
	}
	return nil
}

// slotOf converts a queue link (head, tail, next, prev) to a waiter slot
// index, checking that it names a slot of the region. what names the link
// for the error.
func (s *Semaphore) slotOf(l uint32, what string) uint32 {
	if l == 0 || l > s.r.slots {
		s.corrupt("%s link %d outside 1..%d", what, l, s.r.slots)
	}
	return l - 1
}

// queuedAt converts link l (non-zero) to the index of a slot that must be
// queued, checking both.
func (s *Semaphore) queuedAt(l uint32, what string) uint32 {
	i := s.slotOf(l, what)
	if st := s.r.u32(s.r.slot(i) + slotState).Load(); st != slotQueued {
		s.corrupt("%s link %d names waiter slot %d in state %d, not queued", what, l, i, st)
	}
	return i
}

// slotProcOf returns the process slot that waiter slot i belongs to,
// checked.
func (s *Semaphore) slotProcOf(i uint32) uint32 {
	p := s.r.u32(s.r.slot(i) + slotProc).Load()
	if p >= s.r.procs {
		s.corrupt("waiter slot %d belongs to process slot %d, outside 0..%d", i, p, s.r.procs-1)
	}
	return p
}

// slotNOf returns the permits queued waiter slot i asks for, checked:
// 1..MaxPermitsLimit (AcquireN queues only such requests).
func (s *Semaphore) slotNOf(i uint32) int64 {
	n := int64(s.r.u64(s.r.slot(i) + slotN).Load())
	if n < 1 || n > MaxPermitsLimit {
		s.corrupt("waiter slot %d asks for %d permits, outside 1..%d", i, n, int64(MaxPermitsLimit))
	}
	return n
}

// countOK checks a count read from the region against the range correct
// operations keep it in.
func (s *Semaphore) countOK(v, lo, hi int64, what string) int64 {
	if v < lo || v > hi {
		s.corrupt("%s %d outside %d..%d", what, v, lo, hi)
	}
	return v
}

// journalEntry is one undo entry as read from the region.
type journalEntry struct {
	at   uintptr // the word's offset
	old  uint64
	wide bool // a 64-bit word
	stl  bool // a steal entry (see pool.go)
}

// readEntry reads journal entry k and checks that it names a word a
// transaction writes: aligned to its width, inside the semaphore state
// (max .. next grant) or the process and waiter slots, and a steal entry
// names a 64-bit word. It returns an error wrapping ErrCorrupt otherwise.
func (s *Semaphore) readEntry(k uint32) (journalEntry, error) {
	e := s.r.journalOff + uintptr(k)*journalEntrySize
	off, old := s.r.u64(e).Load(), s.r.u64(e+8).Load()
	je := journalEntry{old: old, wide: off&journalWide != 0, stl: off&journalSteal != 0}
	raw := off &^ (journalWide | journalSteal)
	width := uint64(4)
	if je.wide {
		width = 8
	}
	inState := raw >= offMax && raw+width <= offNextGrant+8
	inSlots := raw >= uint64(s.r.procsOff) && raw+width <= uint64(s.r.size)
	if raw%width != 0 || !inState && !inSlots || je.stl && !je.wide {
		return journalEntry{}, fmt.Errorf("shared %q: %w: journal entry %d names offset %#x (width %d, steal %t), not an aligned word of the state", s.name, ErrCorrupt, k, off, width, je.stl)
	}
	je.at = uintptr(raw)
	return je, nil
}

// journalEntries reads the journal of the open transaction, checking its
// length and every entry it covers (readEntry), without changing
// anything. It returns an error wrapping ErrCorrupt if any check fails.
func (s *Semaphore) journalEntries() ([]journalEntry, error) {
	n := s.r.u32(offJournalLen).Load()
	if n > s.r.journalCap {
		return nil, fmt.Errorf("shared %q: %w: journal length %d exceeds its capacity %d", s.name, ErrCorrupt, n, s.r.journalCap)
	}
	es := make([]journalEntry, n)
	for k := range n {
		e, err := s.readEntry(k)
		if err != nil {
			return nil, err
		}
		es[k] = e
	}
	return es, nil
}
