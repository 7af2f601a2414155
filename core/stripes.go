package core

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
)

// Stripes: the fast path for plentiful permits (WithStripes).
//
// With one state word, every Acquire and Release on every core is a
// read-modify-write of the same cache line, so the line moves between cores
// on every operation. A Semaphore created WithStripes can instead keep free
// permits in lanes: one padded word per lane, a lane per processor (rounded
// up to a power of two), chosen through a per-P token from a sync.Pool (the
// technique of github.com/puzpuzpuz/xsync/v3's striped Counter). A
// goroutine takes permits from its processor's lane and returns them there,
// so two cores that each have free permits in their own lane never touch a
// shared line.
//
// Every free permit is in exactly one place: the state word's available
// count or one lane's count (held permits are in neither). Permits move
// between those places only in ways that never leave them in flight
// outside the mutex:
//
//   - Acquire takes from its lane (a CAS on the lane), else from the word
//     (the ordinary CAS), else steals from another lane (a CAS on that
//     lane); Release puts into its lane (a CAS) unless the lane is full or
//     off, else adds to the word as before.
//   - drainLanesLocked, under mu, swaps every lane to off-and-empty and adds
//     what they held to the word.
//
// The invariant that keeps every queue semantic (no barging, TryAcquire
// fails while anyone is queued, strict FIFO with direct handoff):
//
//	L1: while any lane is on, flagQueued and flagClosed are clear.
//
// Lanes are turned on only by engageLanes, under mu, after it saw both
// flags clear; both flags are set only under mu, and only after
// drainLanesLocked has turned every lane off. A lane operation succeeds only
// by a CAS that requires its lane to be on, so it happens at an instant
// when no waiter is queued and the Semaphore is not closed: it cannot barge
// past a waiter or succeed after Close. Once a waiter must queue, every
// permit is back in the word and the queue works exactly as without lanes.
//
// Lanes are engaged whenever they may be (see engageLanes). A Semaphore
// created without WithStripes pays a load of the lanes pointer (nil, on the
// state word's line) and nothing else.

// laneOn is bit 0 of a lane word: the lane accepts takes and puts. The
// count of permits in the lane is the rest of the word (laneShift).
const laneOn uint64 = 1

const laneShift = 1

// lanePad is the size of a lane: two 64-byte cache lines, so that adjacent-
// line prefetching does not couple two lanes either.
const lanePad = 128

// A lane is one word of free permits, alone in its cache lines.
type lane struct {
	w atomic.Uint64 // laneOn | count<<laneShift
	_ [lanePad - 8]byte
}

// A laneSet is the lanes of one Semaphore: a power of two of them. It is
// created under mu by engageLanes and never changes size; a SetMaxPermits
// that would want another size gets a new set at the next engagement.
type laneSet struct {
	mask  uint32
	limit int64 // the most permits one lane may hold
	max   int64 // the maximum the set was sized for
	lanes []lane
}

// laneToken is the per-P stripe index that sync.Pool's per-P cache hands
// out (xsync's ptoken): goroutines running on one processor mostly get the
// same token, so they use the same lane, and two processors use different
// ones. A token whose lane CAS loses moves to the next lane. idx is atomic
// because tokens live in a fixed table (below) and two processors can hold
// the same one.
type laneToken struct {
	idx atomic.Uint32
}

// laneTokenTable holds every token, so that the pool's New never
// allocates: the pool loses its tokens at every garbage collection (and
// drops a quarter of its Puts under the race detector), and a fast path
// that allocated then would not be allocation-free. Padded, so that a
// token's rare write does not touch its neighbours' line.
var laneTokenTable [256]struct {
	laneToken
	_ [lanePad - 4]byte
}

// nextLaneToken numbers new tokens, so that the first tokens (one per P
// once the pool is warm) land on distinct lanes instead of colliding at
// random.
var nextLaneToken atomic.Uint32

var laneTokens = sync.Pool{New: func() any {
	i := nextLaneToken.Add(1) - 1
	t := &laneTokenTable[i%uint32(len(laneTokenTable))].laneToken
	t.idx.Store(i)
	return t
}}

// minStripedPermits is the smallest maximum that stripes: two lanes of two
// permits.
const minStripedPermits = 4

// laneCount returns the number of lanes for a Semaphore with max permits: a
// lane per processor rounded up to a power of two, but at most max/2 lanes
// (so that each lane can hold at least two permits), rounded down to a
// power of two. Fewer than 2 lanes means no striping.
func laneCount(max int64) int {
	procs := runtime.GOMAXPROCS(0)
	n := 1
	for n < procs {
		n <<= 1
	}
	for n > 1 && int64(n) > max/2 {
		n >>= 1
	}
	return n
}

// newLaneSet returns a set of off, empty lanes for max permits, or nil if
// max is too small to stripe on this machine.
func newLaneSet(max int64) *laneSet {
	n := laneCount(max)
	if n < 2 {
		return nil
	}
	return &laneSet{
		mask:  uint32(n - 1),
		limit: (max + int64(n) - 1) / int64(n),
		max:   max,
		lanes: make([]lane, n),
	}
}

// take takes n permits from the lane of token t, and reports whether it
// did. A CAS lost to another goroutine on the same lane moves t to the next
// lane (xsync's rehash), so processors that collided spread out.
func (l *laneSet) take(t *laneToken, n int64) bool {
	for range len(l.lanes) {
		idx := t.idx.Load()
		ln := &l.lanes[idx&l.mask]
		w := ln.w.Load()
		// L1: the CAS below requires the lane to be on, which proves no
		// waiter is queued and the Semaphore is not closed at its instant.
		// (An off lane also holds 0 permits, since the drain swaps it to 0
		// and put refuses an off lane, so the count test alone would fail
		// the take too; TestDrainFailsStaleLaneOperations checks both.)
		if w&laneOn == 0 || int64(w>>laneShift) < n {
			return false
		}
		if ln.w.CompareAndSwap(w, w-uint64(n)<<laneShift) {
			return true
		}
		t.idx.Store(idx + 1)
	}
	return false
}

// put puts n permits into the lane of token t, and reports whether it did.
// It refuses if the lane is off (the permits must go to the word, where a
// queued waiter finds them) or would hold more than limit (the permits are
// then free for every processor through the word).
func (l *laneSet) put(t *laneToken, n int64) bool {
	ln := &l.lanes[t.idx.Load()&l.mask]
	for {
		w := ln.w.Load()
		if w&laneOn == 0 || int64(w>>laneShift)+n > l.limit {
			return false
		}
		// Fails if the lane was drained since the load: the drain has
		// already summed the lane, so the permits must not land in it.
		if ln.w.CompareAndSwap(w, w+uint64(n)<<laneShift) {
			return true
		}
	}
}

// steal takes n permits from any lane that holds them, starting after the
// lane of token t, and reports whether it did.
func (l *laneSet) steal(t *laneToken, n int64) bool {
	idx := t.idx.Load()
	for i := range uint32(len(l.lanes)) {
		ln := &l.lanes[(idx+1+i)&l.mask]
		for {
			w := ln.w.Load()
			if w&laneOn == 0 || int64(w>>laneShift) < n {
				break
			}
			if ln.w.CompareAndSwap(w, w-uint64(n)<<laneShift) {
				return true
			}
		}
	}
	return false
}

// sum returns the permits in the lanes, read one lane after another.
func (l *laneSet) sum() int64 {
	var sum int64
	for i := range l.lanes {
		sum += int64(l.lanes[i].w.Load() >> laneShift)
	}
	return sum
}

// takeLane takes n permits from the caller's lane, or failing that from any
// lane if steal is set, and reports whether it did.
func (s *Semaphore) takeLane(l *laneSet, n int64, steal bool) bool {
	t := laneTokens.Get().(*laneToken)
	ok := l.take(t, n) || steal && l.steal(t, n)
	laneTokens.Put(t)
	return ok
}

// putLane puts n released permits into the caller's lane if the lanes are
// engaged and it has room, and reports whether it did.
func (s *Semaphore) putLane(n int64) bool {
	l := s.lanes.Load()
	if l == nil {
		return false
	}
	t := laneTokens.Get().(*laneToken)
	ok := l.put(t, n)
	laneTokens.Put(t)
	return ok
}

// engageLanes turns the lanes on, if the Semaphore was created WithStripes,
// nobody is queued, it is not closed or observed, and its maximum is large
// enough to stripe on this machine. It is called when NewSemaphore creates
// a striped Semaphore and by every Acquire that took its permits from the
// word of a striped Semaphore (the lanes were off: a queue has come and
// gone, or a resize ran), so the lanes are on whenever they may be. It gives
// up at once if mu is busy, since a busy mutex means a slow path is running
// that may drain them again; a later Acquire tries again.
//
// Engaging on contention only (a lost CAS on the word) was tried first and
// dropped: two cores moving the word's line back and forth rarely make a
// CAS fail (the window between the load and the CAS is a few nanoseconds
// of a 40 ns transfer), so the lanes often never engaged where they were
// needed.
//
// st is the word the caller last loaded: if it or the maximum already rules
// the lanes out, engageLanes returns without touching the mutex (a
// Semaphore of fewer than minStripedPermits would otherwise take it on every
// Acquire).
func (s *Semaphore) engageLanes(st uint64) {
	if !s.striped || !lanesAllowed(st) || s.lanes.Load() != nil || maxOf(s.cfg.Load()) < minStripedPermits || s.lanesUnavailable.Load() || !s.mu.TryLock() {
		return
	}
	s.engageLanesLocked()
	s.mu.Unlock()
}

// engageLanesLocked is engageLanes with mu held.
func (s *Semaphore) engageLanesLocked() {
	if !s.striped || s.lanes.Load() != nil || s.lanesUnavailable.Load() {
		return
	}
	// L1 is established here: the flags are set only under mu, which we
	// hold, so they stay clear until a drain turns the lanes off again.
	if !lanesAllowed(s.state.Load()) {
		return
	}
	max := maxOf(s.cfg.Load())
	l := s.laneMem
	if l == nil || l.max != max {
		// A new size: the old set's lanes are all off and stay off, so a
		// goroutine still holding its pointer fails over to the word.
		if l = newLaneSet(max); l == nil {
			// max >= minStripedPermits, so GOMAXPROCS is 1: do not
			// come back on every Acquire to find that out again.
			s.lanesUnavailable.Store(true)
			return
		}
		s.laneMem = l
	}
	// Every lane is off and empty here (drainLanesLocked left them so, and
	// nobody writes an off lane), so plain stores lose nothing.
	for i := range l.lanes {
		l.lanes[i].w.Store(laneOn)
	}
	s.lanes.Store(l)
}

// lanesAllowed reports whether the word st allows the lanes to engage:
// nobody queued, not closed, not observed (L1), and no deficit. A deficit
// (available < 0 after a shrink below what is in use) must be paid back by
// releases into the word before anyone is granted again; lanes would let a
// release go to a lane and an Acquire take it there. Available only falls
// by takes that leave it >= 0, and a shrink drains first, so a word that
// engaged without a deficit keeps none while the lanes are on.
func lanesAllowed(st uint64) bool {
	return st&(flagClosed|flagQueued|flagObserved) == 0 && availOf(st) >= 0
}

// drainLanesLocked turns every lane off and moves the permits they held
// into the word. Called with mu held before anything that needs every free
// permit in the word: queueing a waiter, Close, SetMaxPermits, an observer,
// TryAcquireUpTo, a failing TryAcquire and TryRelease. If the word then
// holds more permits than the maximum, an earlier Release(n) over-released
// into a lane (see WithStripes): it takes the excess back and returns it,
// for the caller to panic with overReleaseAtDrain once mu is unlocked.
func (s *Semaphore) drainLanesLocked() (excess int64) {
	l := s.lanes.Load()
	if l == nil {
		return 0
	}
	// New operations stop choosing lanes; ones that already loaded l fail
	// their CAS on an off lane and go to the word.
	s.lanes.Store(nil)
	var sum int64
	for i := range l.lanes {
		// The swap and every successful lane CAS are ordered on the lane
		// word: a take or put either happened before (and is in old) or
		// fails after (and goes to the word). Nothing is counted twice or
		// lost.
		sum += int64(l.lanes[i].w.Swap(0) >> laneShift)
	}
	if sum == 0 {
		return 0
	}
	// L1 held until the swaps: flagQueued is clear, so no waiter is owed
	// these permits and no grant is needed. mu excludes a resize, so state
	// and cfg describe the same epoch, and the add's result says exactly
	// whether the word now holds more than the maximum. The count is read
	// as the word before the add plus sum, not from the result's permit
	// field: lanes can together hold a few permits more than the maximum,
	// so an over-release into them near MaxPermitsLimit can carry the
	// 46-bit field past its top to a negative count, which would hide the
	// excess and leave a deficit that no Acquire gets past (afterAdd
	// guards a Release's add the same way).
	st := s.state.Add(permitsDelta(sum))
	if excess = availOf(st-permitsDelta(sum)) + sum - maxOf(s.cfg.Load()); excess <= 0 {
		return 0
	}
	// As overReleased does: take the excess back (a fast Acquire may have
	// been granted part of it meanwhile; the counts of a Semaphore that
	// over-released cannot be trusted).
	s.state.Add(-permitsDelta(excess))
	return excess
}

// drainOrPanicLocked drains the lanes; if that shows an earlier
// over-release, it unlocks mu and panics.
func (s *Semaphore) drainOrPanicLocked() {
	if excess := s.drainLanesLocked(); excess > 0 {
		s.mu.Unlock()
		panic(s.overReleaseAtDrain(excess))
	}
}

// overReleaseAtDrain is the panic message for an over-release that a drain
// found: WithOverReleasePanic's message if set.
func (s *Semaphore) overReleaseAtDrain(excess int64) string {
	if s.overReleaseMsg != "" {
		return s.overReleaseMsg
	}
	return fmt.Sprintf("core: an earlier Release returned %d more permits than were held (found when the stripes drained; see WithStripes)", excess)
}

// lanePermits returns the permits in the lanes if they are engaged, and
// whether they are.
func (s *Semaphore) lanePermits() (int64, bool) {
	l := s.lanes.Load()
	if l == nil {
		return 0, false
	}
	return l.sum(), true
}
