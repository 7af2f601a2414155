package shared

// Queue and slot operations. All of them run with the region lock held,
// inside a transaction (every write goes through set32/set64).

// wakeList collects the waiter slots whose state a transaction changed away
// from slotQueued; they are woken after commit and unlock.
type wakeList []uint32

// link encodes a slot index as a head/tail/next/prev link (index + 1; 0 is
// none).
func link(i uint32) uint32 { return i + 1 }

// avail returns the available count, checked: a shrink can take it as
// low as -MaxPermitsLimit, and it never exceeds the maximum.
func (s *Semaphore) avail() int64 {
	return s.countOK(int64(s.r.u64(offAvail).Load()), -MaxPermitsLimit, MaxPermitsLimit, "available permits")
}

func (s *Semaphore) addAvail(d int64) { s.set64(offAvail, uint64(s.avail()+d)) }

// held returns process slot p's journaled held count, checked: a process
// never holds more than the largest maximum.
func (s *Semaphore) held(p uint32) int64 {
	return s.countOK(int64(s.r.u64(s.r.proc(p)+procHeld).Load()), 0, MaxPermitsLimit, "held permits")
}

func (s *Semaphore) addHeld(p uint32, d int64) {
	s.set64(s.r.proc(p)+procHeld, uint64(s.held(p)+d))
}

// pushBack appends waiter slot i to the queue.
func (s *Semaphore) pushBack(i uint32) {
	if s.r.u32(offWaiting).Load() == 0 {
		// Invariant D: before anyone is queued, every pool is drained.
		s.drain(nil)
	}
	o := s.r.slot(i)
	tail := s.r.u32(offTail).Load()
	// Checks: the tail is the last queued slot (no next) and not i, which
	// was free; an empty queue has neither head nor tail.
	if tail == 0 {
		if h := s.r.u32(offHead).Load(); h != 0 {
			s.corrupt("queue tail 0 (empty) with head link %d", h)
		}
	} else if tail == link(i) {
		s.corrupt("queue tail names waiter slot %d, which was free", i)
	} else if n := s.r.u32(s.r.slot(s.queuedAt(tail, "tail")) + slotNext).Load(); n != 0 {
		s.corrupt("queue tail link %d has a next link %d", tail, n)
	}
	s.set32(o+slotPrev, tail)
	s.set32(o+slotNext, 0)
	if tail == 0 {
		s.set32(offHead, link(i))
	} else {
		s.set32(s.r.slot(tail-1)+slotNext, link(i))
	}
	s.set32(offTail, link(i))
	s.set32(offWaiting, s.r.u32(offWaiting).Load()+1)
}

// unlink removes waiter slot i from the queue.
func (s *Semaphore) unlink(i uint32) {
	o := s.r.slot(i)
	prev, next := s.r.u32(o+slotPrev).Load(), s.r.u32(o+slotNext).Load()
	// Checks: both neighbours (or the head and tail) link back to i, so
	// that the writes below keep a well-formed list and stay in the
	// region; waiting counts i.
	if prev == 0 {
		if h := s.r.u32(offHead).Load(); h != link(i) {
			s.corrupt("waiter slot %d has no prev link but the queue head link is %d", i, h)
		}
	} else if l := s.r.u32(s.r.slot(s.slotOf(prev, "prev")) + slotNext).Load(); l != link(i) {
		s.corrupt("waiter slot %d's prev link %d links on to %d", i, prev, l)
	}
	if next == 0 {
		if t := s.r.u32(offTail).Load(); t != link(i) {
			s.corrupt("waiter slot %d has no next link but the queue tail link is %d", i, t)
		}
	} else if l := s.r.u32(s.r.slot(s.slotOf(next, "next")) + slotPrev).Load(); l != link(i) {
		s.corrupt("waiter slot %d's next link %d links back to %d", i, next, l)
	}
	waiting := s.r.u32(offWaiting).Load()
	if waiting == 0 {
		s.corrupt("waiter slot %d is queued while waiting is 0", i)
	}
	if prev == 0 {
		s.set32(offHead, next)
	} else {
		s.set32(s.r.slot(prev-1)+slotNext, next)
	}
	if next == 0 {
		s.set32(offTail, prev)
	} else {
		s.set32(s.r.slot(next-1)+slotPrev, prev)
	}
	s.set32(o+slotPrev, 0)
	s.set32(o+slotNext, 0)
	s.set32(offWaiting, waiting-1)
}

// grant serves the queue from its head while the head's request fits: each
// served slot's permits move from the available count to its process's held
// count, in the same transaction as the slot's change to slotGranted, so
// that a permit is always counted exactly once: available, held by a live
// (or not yet swept) process, or neither only inside an open transaction.
//
// It stops at the first request that does not fit even if smaller ones
// behind it would: head-of-line blocking keeps a large request from
// starving behind a stream of small ones (core.Semaphore makes the same
// choice).
func (s *Semaphore) grant(wake *wakeList) {
	for {
		h := s.r.u32(offHead).Load()
		if h == 0 {
			return
		}
		// Each served slot leaves the queue and stops being queued, so
		// the check that the head is queued also ends a cyclic queue.
		i := s.queuedAt(h, "head")
		o := s.r.slot(i)
		n := s.slotNOf(i)
		if s.avail() < n {
			return
		}
		s.addAvail(-n)
		s.addHeld(s.slotProcOf(i), n)
		s.unlink(i)
		g := s.r.u64(offNextGrant).Load()
		s.set64(offNextGrant, g+1)
		s.set64(o+slotGrant, g)
		s.set32(o+slotState, slotGranted)
		*wake = append(*wake, i)
	}
}

// wake wakes the owners of the slots on the list. Called after unlock.
func (s *Semaphore) wake(wake wakeList) {
	for _, i := range wake {
		s.w.Wake(s.r.u32(s.r.slot(i)+slotState), slotWakers)
	}
}

// slotWakers is how many sleepers a wake of a waiter slot's word wakes.
// The slot has one live waiter, but a wait of a dead process on the same
// word (the slot's previous owner, SIGKILLed while it waited through
// io_uring, whose ring the kernel tears down asynchronously after the
// exit) can still sit ahead of it in the kernel's queue and take a wake of
// one: then the live waiter slept until its own poll. Waking all costs
// nothing more when there is one.
const slotWakers = 1 << 30

// allocSlot takes a free waiter slot for a request of n permits by this
// handle and queues it. It returns false if every slot is in use.
func (s *Semaphore) allocSlot(n int64) (uint32, bool) {
	hint := s.r.u32(offSlotHint)
	start := hint.Load() % s.r.slots
	for k := uint32(0); k < s.r.slots; k++ {
		i := (start + k) % s.r.slots
		o := s.r.slot(i)
		if s.r.u32(o+slotState).Load() != slotFree {
			continue
		}
		hint.Store(i + 1) // a hint only: not journaled
		t := s.r.u64(offNextTicket).Load()
		s.set64(offNextTicket, t+1)
		s.set32(o+slotProc, s.proc)
		s.set64(o+slotN, uint64(n))
		s.set64(o+slotTicket, t)
		s.set32(o+slotState, slotQueued)
		s.pushBack(i)
		return i, true
	}
	return 0, false
}

// reclaim returns everything process slot p holds or is owed and frees it:
// its queued requests leave the queue, requests decided but not collected
// are freed (a granted one's permits are already in held), its held permits
// become available, and the slot is freed. Used for dead processes, whose
// slots nobody sleeps on, and by Detach once none of its goroutines waits.
// The caller serves the queue afterwards.
func (s *Semaphore) reclaim(p uint32) {
	s.returnHoldings(p)
	s.set64(s.r.proc(p)+procIdentity, 0)
}

// returnHook, when set (tests only), runs in returnHoldings between reading
// the pool word and writing it.
var returnHook func()

// returnHoldings is reclaim but for freeing the process slot: what Detach
// does at once (the slot itself is freed when the handle is unreachable).
func (s *Semaphore) returnHoldings(p uint32) {
	for i := uint32(0); i < s.r.slots; i++ {
		o := s.r.slot(i)
		st := s.r.u32(o + slotState).Load()
		if st == slotFree || s.r.u32(o+slotProc).Load() != p {
			continue
		}
		if st == slotQueued {
			s.unlink(i)
		}
		s.set32(o+slotState, slotFree)
	}
	// Its pool is frozen: the process is dead, or the handle is detaching
	// and stole its own pool first (drained: invariant O), so a plain
	// journaled write is safe even while its fast path still runs.
	w := s.pool(p).Load()
	if returnHook != nil {
		returnHook()
	}
	s.addAvail(s.held(p) + poolFree(w) + poolHeld(w))
	s.set64(s.r.proc(p)+procHeld, 0)
	s.set64(s.r.proc(p)+procPool, poolDrained)
}

// serveAndUnlock serves the queue (grant), commits the transaction,
// unlocks, and then wakes every slot on wake and those grant served: the
// ending of every transaction that may have freed permits or decided
// waiters. Waking after unlock means a woken waiter finds the lock free and
// the decision committed.
func (s *Semaphore) serveAndUnlock(wake wakeList) {
	s.grant(&wake)
	s.commit()
	if serveHook != nil {
		serveHook("committed")
	}
	s.unlock()
	if serveHook != nil {
		serveHook("unlocked")
	}
	s.wake(wake)
}

// serveHook, when set (tests only), runs in serveAndUnlock after the
// commit and after the unlock.
var serveHook func(stage string)
