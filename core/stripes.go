package core

import (
	"runtime"
	"sync/atomic"
	"unsafe"
)

// Stripes: the fast path for plentiful permits.
//
// With one state word, every Acquire and Release on every core is a
// read-modify-write of the same cache line, so the line moves between cores
// on every operation. A Semaphore can instead keep free permits in lanes:
// one padded word per lane, a lane per processor (rounded up to a power of
// two), chosen by the processor's id (laneTokenHere). A goroutine takes
// permits from its processor's lane and returns them there, so two cores
// that each have free permits in their own lane never touch a shared line.
// The lanes engage when the contention signal says several goroutines take
// from the word in turn, and step aside when one processor works alone (see
// noteTaker and checkAlone below); WithStripes forces them on whenever they
// may be.
//
// Every free permit is in exactly one place: the state word's available
// count or one lane's count (held permits are in neither). Permits move
// between those places only in ways that never leave them in flight
// outside the mutex:
//
//   - engageLanesLocked, under mu, takes the word's free permits out (up
//     to laneLimit a lane) in the CAS that sets flagLanes, and stores them
//     into the lanes as it turns each on, before it publishes the lane
//     set and unlocks mu.
//   - While the lanes are engaged, Acquire takes from its lane (a CAS on
//     the lane), else steals from another lane (a CAS on that lane), else
//     drains them in the slow path: never from the word, so that every
//     take is credited to a lane (L2, below). Release puts into a lane
//     with the credit for it, its own first (a CAS), else adds to the word
//     under mu with the lanes drained (addSlow).
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
// flagLanes in the state word (state.go) is set under mu before any lane
// is turned on and cleared only after all are off: while it is clear every
// free permit is in the word, which keeps TryRelease and a failing
// TryAcquire exact without the mutex, and sends the fast paths to the lanes
// with one test of a word they load anyway. The lanes cost the fast paths
// nothing while they are off, except the contention signal's load and
// compare.

// laneOn is bit 0 of a lane word: the lane accepts takes and puts. Bits 1
// to 24 count the permits in the lane (laneShift); bits 25 to 48 the
// lane's credit (laneCreditShift, below); bits 49 to 63 count, modulo
// 2^15, the takes and puts that succeeded on it (laneOpsShift), for the
// step-aside check.
//
// The credit is what keeps a Release(n) of more permits than are held out
// of the lanes, so that it is caught at the Release, exactly as without
// lanes:
//
//	L2: while a lane set is engaged, the credits of its lanes add up to
//	    exactly the permits held.
//
// A take (or a steal) raises its lane's credit by what it took, in the
// same CAS; a put needs a lane whose credit is at least n and lowers it
// by n, in the same CAS; the engagement credits the lanes, lane 0 first,
// with the permits held at its instant, when every free permit is in the
// word. Nothing else changes what is held while the lanes are engaged: no
// Acquire takes from the word then, and no Release adds to it (add's CAS
// requires flagLanes clear; any other return of permits, a cancelled
// waiter's grant included, goes under mu through releaseLocked, which
// drains the lanes first). So the credits add up to exactly the permits held,
// and a put into a lane proves that at least n permits were held just
// before it, which is all that a Release of n permits must prove (x/sync's
// rule: the count of held permits must not go below 0). A Release that
// finds no lane with enough credit goes to the word under mu with the
// lanes drained, where held is exact (addSlow). A take that would carry a
// lane's credit past the field's top (laneLimit) fails instead, and the
// engagement does not happen if what is held does not fit the lanes'
// credits: a credit never saturates, so a legitimate Release never panics.
const laneOn uint64 = 1

const (
	laneShift       = 1
	laneFieldBits   = 24
	laneCreditShift = laneShift + laneFieldBits
	laneOpsShift    = laneCreditShift + laneFieldBits
	laneOp          = uint64(1) << laneOpsShift
	// laneLimit is the most permits a lane holds and the most credit it
	// records: 2^24-1. A Semaphore with more permits than its lanes can
	// hold keeps the rest in the word, where the drain of an Acquire that
	// finds the lanes dry collects them.
	laneLimit = 1<<laneFieldBits - 1
)

// laneCheckEvery is how many operations on one lane pass between two
// step-aside checks on it: a power of two, at most 2^14 (a lane's
// operation count wraps at 2^15). A variable only so that core's tests can
// make the lanes step aside constantly; a lane set reads it once, when it
// is created (laneSet.checkMask).
var laneCheckEvery uint64 = 1024

// lanePermitsOf returns the permits a lane word holds.
func lanePermitsOf(w uint64) int64 { return int64(w >> laneShift & laneLimit) }

// laneCreditOf returns the credit a lane word records (L2).
func laneCreditOf(w uint64) int64 { return int64(w >> laneCreditShift & laneLimit) }

// laneCanTake reports whether lane word w is on and can give n permits
// and take n more credit.
func laneCanTake(w uint64, n int64) bool {
	return w&laneOn != 0 && lanePermitsOf(w) >= n && laneCreditOf(w)+n <= laneLimit
}

// laneTook returns lane word w after a take of n permits (laneCanTake):
// n fewer permits, n more credit, one more operation.
func laneTook(w uint64, n int64) uint64 {
	return w - uint64(n)<<laneShift + uint64(n)<<laneCreditShift + laneOp
}

// lanePad is the size of a lane: two 64-byte cache lines, so that adjacent-
// line prefetching does not couple two lanes either.
const lanePad = 128

// A lane is one word of free permits, alone in its cache lines.
type lane struct {
	w atomic.Uint64 // laneOn | count<<laneShift | credit<<laneCreditShift | ops<<laneOpsShift
	// seen is what the other lanes' operation counts added up to at this
	// lane's last step-aside check.
	seen atomic.Uint64
	_    [lanePad - 16]byte
}

// A laneSet is the lanes of one Semaphore: a power of two of them. It is
// created under mu by engageLanes and never changes size; a SetMaxPermits
// that would want another size gets a new set at the next engagement.
type laneSet struct {
	owner *Semaphore
	mask  uint32
	limit int64 // the most permits one lane may hold: its share of max, at most laneLimit
	max   int64 // the maximum the set was sized for
	// checkMask is laneCheckEvery-1: an operation that brings a lane's
	// count to a multiple of laneCheckEvery makes the step-aside check.
	checkMask uint64
	lanes     []lane
}

// laneToken is the stripe index of one processor (P): goroutines running
// on one processor use the same token, so the same lane, and two
// processors use different ones. A token whose lane CAS loses moves to the
// next lane (xsync's rehash). idx is atomic because goroutines of one
// processor (one after another, or preempted mid-operation) and, with
// more than len(laneTokenTable) processors, several processors share it.
type laneToken struct {
	idx atomic.Uint32
}

// laneTokenTable holds the tokens, one per processor id (modulo its
// length), each starting on the lane of its own index so that processors
// start on distinct lanes. Padded, so that a token's rare write does not
// touch its neighbours' line.
var laneTokenTable [256]struct {
	laneToken
	_ [lanePad - 4]byte
}

func init() {
	for i := range laneTokenTable {
		laneTokenTable[i].idx.Store(uint32(i))
	}
}

// laneTokenHere returns the token of the processor the caller runs on. The
// processor id comes from runtime.procPin, unpinned at once: it is only a
// hint (a goroutine that moves to another processor before its lane CAS
// still operates correctly, on another processor's lane). Before this, the
// token came from a sync.Pool (xsync/v3's technique), whose Get and Put
// cost a goroutine alone on the lanes more than the lane CAS itself.
func laneTokenHere() *laneToken {
	pid := procPin()
	procUnpin()
	return &laneTokenTable[uint(pid)%uint(len(laneTokenTable))].laneToken
}

// procPin and procUnpin are the runtime's (sync.Pool's own per-P index).
// The runtime keeps them linkable from outside the standard library and
// promises not to change their signatures, as for the other linknamed
// symbols widely used outside the standard library.
//
//go:linkname procPin runtime.procPin
func procPin() int

//go:linkname procUnpin runtime.procUnpin
func procUnpin()

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
func newLaneSet(s *Semaphore, max int64) *laneSet {
	n := laneCount(max)
	if n < 2 {
		return nil
	}
	return &laneSet{
		owner:     s,
		mask:      uint32(n - 1),
		limit:     min((max+int64(n)-1)/int64(n), laneLimit),
		max:       max,
		checkMask: laneCheckEvery - 1,
		lanes:     make([]lane, n),
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
		if !laneCanTake(w, n) {
			return false
		}
		// L2: the same CAS credits the lane with what it takes.
		if next := laneTook(w, n); ln.w.CompareAndSwap(w, next) {
			if next>>laneOpsShift&l.checkMask == 0 {
				l.checkAlone(idx & l.mask)
			}
			return true
		}
		t.idx.Store(idx + 1)
	}
	return false
}

// put puts n permits into a lane, the lane of token t first, and reports
// whether it did. A lane takes them only if it is on (else the permits must
// go to the word, where a queued waiter finds them), has at least n credit
// (L2: else the put cannot prove that n permits are held, and the caller
// decides with every free permit in the word), and stays within its
// field (laneLimit). The credit decides where the permits go back: to the
// lane they were taken from, or one whose holders have not returned
// theirs yet, so a lane may end up with more than its share of the
// maximum; other processors then steal from it.
func (l *laneSet) put(t *laneToken, n int64) bool {
	i := t.idx.Load() & l.mask
	for range len(l.lanes) {
		ln := &l.lanes[i]
		for {
			w := ln.w.Load()
			if w&laneOn == 0 || lanePermitsOf(w)+n > laneLimit || laneCreditOf(w) < n {
				break
			}
			// Fails if the lane was drained since the load: the drain has
			// already summed the lane, so the permits must not land in
			// it. L2: the credit falls by what is put, in the same CAS.
			if next := w + uint64(n)<<laneShift - uint64(n)<<laneCreditShift + laneOp; ln.w.CompareAndSwap(w, next) {
				if next>>laneOpsShift&l.checkMask == 0 {
					l.checkAlone(i)
				}
				return true
			}
		}
		// Permits taken on one processor and returned on another: the
		// credit is in the lane they came from (or another holder's).
		i = (i + 1) & l.mask
	}
	return false
}

// steal takes n permits from any lane that holds them, starting after the
// lane of token t, and reports whether it did.
func (l *laneSet) steal(t *laneToken, n int64) bool {
	idx := t.idx.Load()
	for i := range uint32(len(l.lanes)) {
		ln := &l.lanes[(idx+1+i)&l.mask]
		for {
			w := ln.w.Load()
			if !laneCanTake(w, n) {
				break
			}
			// L2: credited to the lane the permits came from.
			if ln.w.CompareAndSwap(w, laneTook(w, n)) {
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
		sum += lanePermitsOf(l.lanes[i].w.Load())
	}
	return sum
}

// checkAlone is the step-aside check, made by the operation that brought
// lane i's operation count to a multiple of laneCheckEvery: if no other
// lane has seen an operation since lane i's last check, one processor is
// working alone, and the lanes only cost it their price (a processor id
// lookup and a lane CAS per operation, about 1.3x the word's
// Acquire+Release), so they step aside.
// Operation counts only grow (modulo 2^15 each, far more than
// laneCheckEvery operations apart), so an unchanged sum means no other lane
// moved.
func (l *laneSet) checkAlone(i uint32) {
	var others uint64
	for j := range l.lanes {
		if uint32(j) != i {
			others += l.lanes[j].w.Load() >> laneOpsShift
		}
	}
	if l.lanes[i].seen.Swap(others) == others {
		l.owner.stepAside(l)
	}
}

// takeLane takes n permits from the caller's lane, or failing that from any
// lane if steal is set, and reports whether it did.
func (s *Semaphore) takeLane(l *laneSet, n int64, steal bool) bool {
	t := laneTokenHere()
	return l.take(t, n) || steal && l.steal(t, n)
}

// engageLanes turns the lanes on if nobody is queued, the Semaphore is not
// closed or observed, and its maximum is large enough to stripe on this
// machine. It is called when the contention signal asks (takerChanged), at
// creation WithStripes, and, WithStripes, by every AcquireN or TryAcquireN
// that took its permits from the word outside mu (the lanes were off: a
// queue has come and gone, or a resize ran), so forced lanes are on soon
// after they may be. It gives up
// at once if mu is busy, since a busy mutex means a slow path is running
// that may drain them again; a later signal tries again.
//
// st is the word the caller last loaded: if it or the maximum already rules
// the lanes out, engageLanes returns without touching the mutex.
func (s *Semaphore) engageLanes(st uint64) {
	if !lanesAllowed(st) || s.lanes.Load() != nil || maxOf(s.cfg.Load()) < minStripedPermits || s.lanesUnavailable.Load() || !s.mu.TryLock() {
		return
	}
	s.engageLanesLocked()
	s.mu.Unlock()
}

// engageLanesLocked is engageLanes with mu held.
func (s *Semaphore) engageLanesLocked() {
	if s.lanes.Load() != nil || s.lanesUnavailable.Load() {
		return
	}
	max := maxOf(s.cfg.Load())
	if max < minStripedPermits {
		// A resize since engageLanes looked: not a reason to give up on
		// the lanes for good, as newLaneSet's nil below is.
		return
	}
	l := s.laneMem
	if l == nil || l.max != max {
		// A new size: the old set's lanes are all off and stay off, so a
		// goroutine still holding its pointer fails over to the word. (A
		// set reused for the same size is turned on again below: a stale
		// holder then operates on the new engagement, whose lane words
		// say all it needs, as any holder's would.)
		if l = newLaneSet(s, max); l == nil {
			// max >= minStripedPermits, so GOMAXPROCS is 1: do not
			// come back on every Acquire to find that out again.
			s.lanesUnavailable.Store(true)
			return
		}
		s.laneMem = l
	}
	// flagLanes first, with a CAS that proves the word still allows the
	// lanes and moves the free permits out of the word, into the lanes
	// below: L1 is established here, since flagQueued and flagClosed are
	// set only under mu, which we hold, so they stay clear until a drain
	// turns the lanes off again. From the CAS on, a decision that needs
	// every free permit in the word (TryRelease, a failing TryAcquire, a
	// Release that no lane takes) goes under mu, and one that loaded the
	// word before fails its CAS (add's included). No Acquire takes from a
	// word with flagLanes set, so the permits moved are in flight only
	// under mu, until the stores below.
	lanes := int64(len(l.lanes))
	var held, free int64
	for {
		w := s.state.Load()
		// At the CAS every free permit is in the word (flagLanes is clear
		// and no lane is on) and mu keeps the maximum still, so the
		// permits held are exactly max - available. They must fit the
		// lanes' credits (L2, exact only if no credit saturates). The
		// word never holds more than the maximum (every Release is judged
		// before it commits), but a count that did would make held
		// negative: no lanes then.
		held = max - availOf(w)
		if !lanesAllowed(w) || held < 0 || held > lanes*laneLimit {
			return
		}
		free = min(availOf(w), l.limit*lanes)
		if s.state.CompareAndSwap(w, (w-permitsDelta(free))|flagLanes) {
			break
		}
	}
	// Every lane is off and empty here (drainLanesLocked left them so, and
	// nobody writes an off lane), so plain stores lose nothing. The free
	// permits are spread evenly (each lane's share is at most limit, since
	// free <= limit*lanes); the credit of what is held fills lane 0 first
	// (a holder's Release(n) needs n of credit in one lane), then the next.
	// Operation counts start again from 0, and so do the step-aside
	// checks.
	for i := range l.lanes {
		share := free / lanes
		if int64(i) < free%lanes {
			share++
		}
		credit := min(held, laneLimit)
		held -= credit
		l.lanes[i].seen.Store(0)
		l.lanes[i].w.Store(laneOn | uint64(share)<<laneShift | uint64(credit)<<laneCreditShift)
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
	return st&(flagClosed|flagQueued|flagObserved|flagLanes) == 0 && availOf(st) >= 0
}

// drainLanesLocked turns every lane off and moves the permits they held
// into the word. Called with mu held before anything that needs every free
// permit in the word: acquireSlow (before it decides anything), Close,
// SetMaxPermits, an observer, TryAcquireUpTo, a failing TryAcquire, and
// every return of permits under mu (releaseLocked: TryRelease, a Release
// that no lane takes, a waiter's grant given back). With the lanes off it
// is one load.
func (s *Semaphore) drainLanesLocked() {
	if l := s.lanes.Load(); l != nil {
		s.drainLanes(l)
	}
}

// drainLanes is drainLanesLocked for the engaged set l.
func (s *Semaphore) drainLanes(l *laneSet) {
	// New operations stop choosing lanes; ones that already loaded l fail
	// their CAS on an off lane and go to the word.
	s.lanes.Store(nil)
	var sum int64
	for i := range l.lanes {
		// The swap and every successful lane CAS are ordered on the lane
		// word: a take or put either happened before (and is in old) or
		// fails after (and goes to the word). Nothing is counted twice or
		// lost. The credits go with the lanes: L2 binds an engaged set
		// only.
		sum += lanePermitsOf(l.lanes[i].w.Swap(0))
	}
	// The contention signal starts again (a Semaphore created WithStripes
	// keeps its mark: it engages again whenever allowed).
	if !s.striped {
		s.takerChanges.Store(0)
	}
	// Every lane is off: clear flagLanes, in the same CAS that adds what
	// they held. L1 held until the swaps: flagQueued is clear, so no
	// waiter is owed these permits and no grant is needed. (No Release
	// writes a word with flagLanes set, but a CAS costs nothing more here
	// than a store and needs no argument.)
	for {
		st := s.state.Load()
		if s.state.CompareAndSwap(st, (st+permitsDelta(sum))&^flagLanes) {
			return
		}
	}
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

// The contention signal: who takes from the word.
//
// The lanes cost one goroutine working alone about 1.3x the word's fast
// path, and save cores that fight over the word its cache line's transfer
// on every operation (tens of nanoseconds). So they should be on exactly
// when several goroutines take from the word in turn, and a lost CAS does
// not say so (the window between the load and the CAS is a few nanoseconds
// of a 40 ns transfer: two cores hammering one word almost never lose one).
// What does say so is the identity of the taker: each take from the word
// (its CAS has just made the line exclusive to this core) compares a tag
// of the calling goroutine with the tag of the last taker, kept in
// Semaphore.taker on the same line. A goroutine working alone finds its
// own tag every time and pays one load and a compare, no store. Each
// change of taker stores the new tag and a count of changes; after
// engageAfterChanges changes the lanes engage. While they are engaged the
// word is not taken from on the fast path, and the step-aside check
// (laneSet.checkAlone) turns them off again when only one lane is in use.
//
// The tag is the address of the public method's receiver (AcquireN's or
// TryAcquireN's s: callerSite), shifted so that goroutines (whose stacks
// are at least 2 KiB apart) differ and one goroutine calling from one place
// does not. The receiver's home is in the caller's frame (where the
// register ABI spills it, or where the stack ABI passes it), so one call
// site has one tag whichever internal path took from the word (the fast
// path, acquireN's loop, tryAcquireN's) and however deep that path's own
// frames are: a tag read in those frames would differ between the paths
// whenever a 2 KiB boundary fell between them, and one goroutine would
// count as two takers in turn. It is a heuristic: a goroutine that takes
// from very different stack depths may count as two,
// and two goroutines on one processor count as two although they do not
// move the line between cores (but they switch goroutines between takes,
// which costs far more than a lane). Neither is wrong, only slower for a
// while: both end in lanes that step aside.

// engageAfterChanges is how many changes of taker engage the lanes. A
// variable only so that core's tests can make the lanes engage constantly.
var engageAfterChanges uint32 = 64

const (
	// takerTagShift drops the low bits of a stack address: one goroutine
	// at one call depth keeps its tag.
	takerTagShift = 11
	// takerForced marks a Semaphore created WithStripes: no shifted
	// address is this tag, so every take from the word reaches
	// takerChanged, which engages the lanes whenever allowed.
	takerForced = ^uintptr(0)
)

// callerSite returns where the receiver of a public method lives: pass
// &s from AcquireN or TryAcquireN, whose receiver's home is in the caller's
// frame. Only the address is kept, as a number: s does not escape.
func callerSite(s **Semaphore) uintptr { return uintptr(unsafe.Pointer(s)) }

// noteTaker feeds the contention signal after a take from the word: it
// compares the tag of site (callerSite of the public method that took)
// with the last taker's. It is small enough to inline into the fast paths:
// a load of a word on the line the take's CAS holds, a compare, and no
// store unless the taker changed.
func (s *Semaphore) noteTaker(site uintptr) {
	if tag := site >> takerTagShift; s.taker.Load() != tag {
		s.takerChanged(tag)
	}
}

// takerChanged records a change of taker to tag and engages the lanes
// after engageAfterChanges of them. Two racing changes may count once:
// the signal is a heuristic.
func (s *Semaphore) takerChanged(tag uintptr) {
	if s.striped { // taker holds takerForced, which no take matches
		s.engageLanes(s.state.Load())
		return
	}
	s.taker.Store(tag)
	if s.takerChanges.Add(1) < engageAfterChanges {
		return
	}
	s.takerChanges.Store(0)
	s.engageLanes(s.state.Load())
}

// stepAside turns the lanes of set l off, found to be used by one
// processor alone, unless the Semaphore was created WithStripes or mu is
// busy (a later check tries again).
func (s *Semaphore) stepAside(l *laneSet) {
	if s.striped || s.lanes.Load() != l || !s.mu.TryLock() {
		return
	}
	if s.lanes.Load() == l {
		s.drainLanesLocked()
	}
	s.mu.Unlock()
}
