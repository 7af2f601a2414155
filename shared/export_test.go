package shared

import (
	"fmt"
	"time"
)

// Order returns the ticket (queueing order) and grant order of a Permit
// granted through the queue, and ok false for one taken on the fast path.
func (p Permit) Order() (ticket, grant uint64, ok bool) {
	return p.ticket, p.grant, p.queued
}

// Fast reports whether the Permit was taken from the handle's pool
// without the region lock.
func (p Permit) Fast() bool { return p.fast }

// HangInsideSteal takes the region lock and starts a drain (a steal of
// every pool's free permits), and at stage ("journaled": the steal entry
// of the first undrained pool is published, its CAS not yet made;
// "stolen": that CAS landed, available not yet credited) calls ready(true)
// and never returns: the test kills the process, and the next owner of
// the lock must roll the steal back exactly. It first waits up to wait
// until another handle's pool is undrained; if none is, it calls
// ready(false) after the drain and hangs there, its steals uncommitted.
func (s *Semaphore) HangInsideSteal(stage string, wait time.Duration, ready func(inside bool)) {
	want := map[string]int{"journaled": stageJournaled, "stolen": stageStolen}[stage]
	hang := func(inside bool) {
		ready(inside)
		for {
			time.Sleep(time.Hour)
		}
	}
	for deadline := time.Now().Add(wait); ; {
		// Look without the lock first: a waiter for the lock is woken by
		// lock-path operations, which run mostly while pools are drained.
		if !s.otherPoolUndrained() && time.Now().Before(deadline) {
			time.Sleep(100 * time.Microsecond)
			continue
		}
		s.lockAlways()
		if s.otherPoolUndrained() || time.Now().After(deadline) {
			break
		}
		s.unlock()
	}
	s.drain(func(st int) {
		if st == want {
			hang(true)
		}
	})
	// No undrained pool: die with the completed steals uncommitted.
	hang(false)
}

// otherPoolUndrained reports whether an attached handle other than s has
// an undrained pool (a snapshot unless the lock is held).
func (s *Semaphore) otherPoolUndrained() bool {
	for p := uint32(0); p < s.r.procs; p++ {
		if p != s.proc && s.r.u64(s.r.proc(p)+procIdentity).Load() != 0 && s.pool(p).Load()&poolDrained == 0 {
			return true
		}
	}
	return false
}

// SetReturnHook makes Detach call f while it returns the handle's pool,
// between reading the pool word and writing it (nil: no hook). Not safe to
// call while handles detach.
func SetReturnHook(f func()) { returnHook = f }

// RecoveryCounts returns how many locks this handle took over from dead
// owners, how many interrupted transactions it rolled back, and how many
// dead processes it reclaimed.
func (s *Semaphore) RecoveryCounts() (locks, rollbacks, reclaimed int64) {
	return s.recoveredLocks.Load(), s.rolledBack.Load(), s.reclaimed.Load()
}

// HangInsideLock takes the region lock, writes half of a nonsense
// transaction (all permits gone, a phantom waiter), calls ready, and never
// returns: the test then kills the process, and the next owner of the lock
// must roll the transaction back.
func (s *Semaphore) HangInsideLock(ready func()) {
	s.lockAlways()
	s.addAvail(-s.avail() - 1000)
	s.set32(offWaiting, s.r.u32(offWaiting).Load()+7)
	s.addHeld(s.proc, 1<<40)
	ready()
	for {
		time.Sleep(time.Hour)
	}
}

// SweepNow looks for dead processes at once, ignoring the throttle, and
// reports whether it reclaimed any.
func (s *Semaphore) SweepNow() bool { return s.sweepNow() }

// CheckInvariants verifies, under the region lock, the invariants every
// committed transaction preserves:
//   - every permit is counted once: available + sum of held, pool free
//     and pool held == max;
//   - pool invariants D and F (pool.go): while anyone is queued or the
//     semaphore is closed every attached pool is drained, and a drained
//     pool has no free permits;
//   - the queue is a well-formed doubly linked list from head to tail whose
//     length is the waiting count, whose slots are all slotQueued, in
//     increasing ticket order, and which holds every slotQueued slot;
//   - every slot in use and every held permit belongs to an attached
//     process slot.
func (s *Semaphore) CheckInvariants() (err error) {
	if !s.enter() {
		return fmt.Errorf("handle detached")
	}
	defer s.leave()
	if err := s.lockAlways(); err != nil {
		return err
	}
	defer s.recoverCorrupt(&err)
	err = s.checkInvariants()
	s.unlock()
	return err
}

// checkInvariants is CheckInvariants with the lock held.
func (s *Semaphore) checkInvariants() error {
	r := s.r
	max := int64(r.u64(offMax).Load())
	sum := s.avail()
	mustDrain := r.u32(offWaiting).Load() != 0 || r.u32(offClosed).Load() != 0
	for p := uint32(0); p < r.procs; p++ {
		w := s.pool(p).Load()
		h := s.held(p)
		if h < 0 {
			return fmt.Errorf("process slot %d holds %d permits", p, h)
		}
		h += poolFree(w) + poolHeld(w)
		if r.u64(r.proc(p)+procIdentity).Load() == 0 {
			if h != 0 {
				return fmt.Errorf("free process slot %d holds %d permits (pool %#x)", p, h, w)
			}
			continue
		}
		if w&poolDrained != 0 && poolFree(w) != 0 {
			return fmt.Errorf("process slot %d: drained pool with %d free permits (invariant F)", p, poolFree(w))
		}
		if mustDrain && w&poolDrained == 0 {
			return fmt.Errorf("process slot %d: undrained pool %#x while %d queued, closed %d (invariant D)", p, w, r.u32(offWaiting).Load(), r.u32(offClosed).Load())
		}
		sum += h
	}
	if sum != max {
		return fmt.Errorf("available %d + held = %d, want max %d", s.avail(), sum, max)
	}
	var n, prev uint32
	var lastTicket uint64
	for h := r.u32(offHead).Load(); h != 0; h = r.u32(r.slot(h-1) + slotNext).Load() {
		if h > r.slots {
			return fmt.Errorf("queue link %d outside 1..%d", h, r.slots)
		}
		o := r.slot(h - 1)
		if st := r.u32(o + slotState).Load(); st != slotQueued {
			return fmt.Errorf("queued slot %d in state %d", h-1, st)
		}
		if p := r.u32(o + slotPrev).Load(); p != prev {
			return fmt.Errorf("slot %d prev link %d, want %d", h-1, p, prev)
		}
		if t := r.u64(o + slotTicket).Load(); n > 0 && t <= lastTicket {
			return fmt.Errorf("slot %d ticket %d after ticket %d: queue out of order", h-1, t, lastTicket)
		} else {
			lastTicket = t
		}
		prev = h
		n++
		if n > r.slots {
			return fmt.Errorf("queue longer than the %d slots: a cycle", r.slots)
		}
	}
	if t := r.u32(offTail).Load(); t != prev {
		return fmt.Errorf("tail %d, want %d", t, prev)
	}
	if w := r.u32(offWaiting).Load(); w != n {
		return fmt.Errorf("waiting %d, queue length %d", w, n)
	}
	var queued uint32
	for i := uint32(0); i < r.slots; i++ {
		o := r.slot(i)
		st := r.u32(o + slotState).Load()
		if st == slotFree {
			continue
		}
		if st == slotQueued {
			queued++
		}
		if p := r.u32(o + slotProc).Load(); p >= r.procs || r.u64(r.proc(p)+procIdentity).Load() == 0 {
			return fmt.Errorf("slot %d (state %d) belongs to free process slot %d", i, st, p)
		}
	}
	if queued != n {
		return fmt.Errorf("%d slots queued, %d in the queue", queued, n)
	}
	return nil
}

// SlotStateOffset returns the offset in the region of waiter slot i's
// state word, the word a request queued in that slot waits on.
func (s *Semaphore) SlotStateOffset(i uint32) uintptr { return s.r.slot(i) + slotState }

// SetCreateHook makes Open call f after it made the file of a semaphore it
// creates and before it initialized it (nil: no hook). A test child hangs
// there and is killed: a creator dying inside Open.
func SetCreateHook(f func()) { createHook = f }

// SetServeHook makes every transaction that ends by serving the queue call
// f("committed") after its commit and before its unlock, and
// f("unlocked") after its unlock and before it wakes the waiters it
// decided (nil: no hook). A test child hangs there and is killed: a
// process dying between a commit and its wakes.
func SetServeHook(f func(stage string)) { serveHook = f }

// SetReclaimHook makes every handle of this process call f with the
// identity of each dead handle it reclaims, once the waiters the reclaim
// decided and those the dead handle decided were woken; by is "sweep" or
// "open" (nil: no hook). Not safe to call while handles run.
func SetReclaimHook(f func(id uint64, by string)) { reclaimHook = f }

// Identity returns the handle's identity, as a reclaim hook reports it.
func (s *Semaphore) Identity() uint64 { return s.id }

// DisableWaiterPolls makes every queued request of this process sleep
// until it is woken or its ctx ends, never looking for dead processes on
// its own. Call it before any handle is opened; it cannot be undone.
func DisableWaiterPolls() { noWaiterPolls = true }

// Attached reports whether a process slot holds identity id: false once a
// reclaim of that handle has committed (a reclaim that rolled back leaves
// the identity in place).
func (s *Semaphore) Attached(id uint64) bool {
	for p := uint32(0); p < s.r.procs; p++ {
		if s.r.u64(s.r.proc(p)+procIdentity).Load() == id {
			return true
		}
	}
	return false
}
