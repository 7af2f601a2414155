package shared

import (
	"runtime"
	"sync/atomic"
)

// Process pools: the lock-free fast path.
//
// Every process slot has a pool word packing {drained bit, free permits,
// held permits}. Free pool permits are this handle's to take; held pool
// permits are held by it, like the journaled held count of the process
// slot. The accounting invariant is therefore
//
//	available + Σ over attached slots (held + pool free + pool held) = max
//
// A handle that acquires n permits while its pool has n free moves them
// from free to held with one CAS on its own word, and a release moves
// them back the same way: no region lock, no journal, and no window in
// which a SIGKILL loses a permit, because held and free change in the
// same atomic step and a dead process's pool is returned whole
// (free + held) when it is swept.
//
// Permits enter a pool only under the region lock: a lock-path Acquire
// counts what it takes in its own pool's held part, and a lock-path
// Release whose permits nobody waits for puts them in its pool's free
// part, clearing the drained bit ("undraining"). Permits leave a pool for
// the global count only under the lock too: a steal (drain) moves a
// pool's free permits to available and sets its drained bit.
//
// Invariants (checked by CheckInvariants under the lock):
//
//	D. While any request is queued, or the semaphore is closed, every
//	   attached pool is drained. So no fast Acquire barges past a queued
//	   request (the fast path needs an undrained pool), and no fast
//	   Release keeps permits a queued request is owed (released permits
//	   go through the lock and are granted in FIFO order). It holds
//	   because every transaction that makes waiting non-zero or sets
//	   closed drains every pool first (pushBack, Close), and a pool is
//	   undrained only under the lock when nobody waits, the semaphore is
//	   open and available is not negative (canPool).
//	F. A drained pool has no free permits (a steal takes them all; only
//	   an undraining adds free ones).
//	O. A drained pool word is changed only by the holder of the region
//	   lock; an undrained one only by its owner: by fast-path CASes,
//	   which conserve free + held and never touch the drained bit, and
//	   under the lock by CASes (casOwnPool); and by a steal, one CAS that
//	   sets the drained bit.
//
// Crash recovery. A fast-path CAS is one atomic step: it landed or not.
// Lock-path changes to pool words are journaled like every other write
// and rolled back when their transaction's owner dies (see lock.go), with
// two twists that O makes sound:
//   - The owner's own undrained word may change under the transaction by
//     the owner's fast path. Rollback restores the value journaled before
//     the first CAS; the owner is dead, and the changes made since by its
//     fast path conserved free + held, so the restored word counts exactly
//     the permits the rest of the rolled-back transaction expects.
//   - A steal of another process's undrained word is journaled as a steal
//     entry {offset, expected old value} before its CAS, and rolled back
//     with CompareAndSwap(stealOf(old), old): if the word is stealOf(old),
//     the CAS landed (only a lock holder sets the drained bit, and the
//     stealer saw it clear), and the word has been frozen since (O), so
//     restoring old undoes exactly the steal; otherwise the CAS never
//     landed, the owner may have moved on, and the word is left alone.
//     A retried steal CAS rewrites the same entry's old value: the entry
//     always names the only CAS that may have landed.

const (
	// poolDrained is the drained bit of a pool word.
	poolDrained = 1 << 63
	// poolShift places the free count above the held count.
	poolShift = 32
	// poolMax bounds free + held of one pool. Larger amounts are counted
	// in the journaled held count of the process slot instead.
	poolMax = 1<<31 - 1
	// poolHeldMask selects the held count.
	poolHeldMask = 1<<poolShift - 1
)

func poolFree(w uint64) int64 { return int64(w>>poolShift) & poolMax }

func poolHeld(w uint64) int64 { return int64(w & poolHeldMask) }

// stealOf is the word a steal makes of old: drained, no free permits, the
// same held permits.
func stealOf(old uint64) uint64 { return poolDrained | old&poolHeldMask }

// pool returns process slot p's pool word.
func (s *Semaphore) pool(p uint32) *atomic.Uint64 { return s.r.u64(s.r.proc(p) + procPool) }

// fastAcquire takes n permits from this handle's pool without the region
// lock, if the pool is undrained (so nobody is queued, invariant D) and
// has n free. It reports whether it did.
func (s *Semaphore) fastAcquire(n int64) (ok bool) {
	w := s.poolw
	for {
		old := w.Load()
		if old&poolDrained != 0 || poolFree(old) < n {
			break
		}
		// free -= n, held += n in one step: a SIGKILL on either side of
		// the CAS leaves free + held, what the sweep returns, unchanged.
		if w.CompareAndSwap(old, old-uint64(n)<<poolShift+uint64(n)) {
			raceAcquire()
			ok = true
			break
		}
	}
	// w points into the mapping, which a detached handle's cleanup
	// unmaps once s is unreachable: s must stay reachable until our last
	// access through w.
	runtime.KeepAlive(s)
	return ok
}

// fastRelease returns n permits held in this handle's pool to its free
// part without the region lock, if the pool is undrained (nobody is
// queued, so nobody is owed them) and holds n. It reports whether it did.
func (s *Semaphore) fastRelease(n int64) (ok bool) {
	w := s.poolw
	for {
		old := w.Load()
		if old&poolDrained != 0 || poolHeld(old) < n {
			break
		}
		if w.CompareAndSwap(old, old+uint64(n)<<poolShift-uint64(n)) {
			ok = true
			break
		}
	}
	runtime.KeepAlive(s) // as in fastAcquire
	return ok
}

// canPool reports whether permits released or acquired under the lock may
// go to this handle's pool and the pool may be undrained: nobody waits
// (invariant D), the semaphore is open (D), available is not negative (a
// shrink's debt is paid from releases first), and the handle is not
// detaching: Detach freezes the pool with a steal before it waits for the
// operations in flight, and one of them that undrained it afterwards would
// let the handle's fast path take permits while Detach returns the pool
// (its read and write of the word are not one CAS). Called with the lock
// held.
func (s *Semaphore) canPool() bool {
	return s.r.u32(offWaiting).Load() == 0 && s.r.u32(offClosed).Load() == 0 && s.avail() >= 0 && !s.detached()
}

// casOwnPool changes this handle's pool word under the lock, inside the
// transaction, to f(old), retrying while the handle's fast path changes
// it. f reports false to change nothing; casOwnPool then reports false.
// The value first seen is journaled (plain entry): if this process dies
// before commit, the rollback restores it, which counts the same permits
// as the word did at any later moment (invariant O: the fast path only
// moves permits between free and held). Called with the lock held.
func (s *Semaphore) casOwnPool(f func(old uint64) (uint64, bool)) bool {
	off := s.r.proc(s.proc) + procPool
	w := s.r.u64(off)
	old := w.Load()
	nw, ok := f(old)
	if !ok {
		return false
	}
	if nw == old {
		return true
	}
	s.journal(uint64(off)|journalWide, old)
	for !w.CompareAndSwap(old, nw) {
		old = w.Load()
		if nw, ok = f(old); !ok {
			// Nothing changed: the journaled value counts the same permits
			// as the word does now, so a rollback of it is harmless.
			return false
		}
	}
	return true
}

// creditHeld counts n permits, just taken from available, as held by this
// handle: in its pool (undrained if canPool, so that their release and
// the next acquire take the fast path) when they fit, else in the
// journaled held count. Called with the lock held, inside the transaction.
func (s *Semaphore) creditHeld(n int64) {
	pooled := s.canPool()
	if !s.casOwnPool(func(old uint64) (uint64, bool) {
		if poolFree(old)+poolHeld(old)+n > poolMax {
			return 0, false
		}
		nw := old + uint64(n)
		if pooled {
			nw &^= poolDrained
		}
		return nw, true
	}) {
		s.addHeld(s.proc, n)
	}
}

// debitHeld removes n permits from what this handle holds, the journaled
// held count first, then its pool's held part. It reports false, changing
// nothing, if the handle holds fewer. Called with the lock held.
func (s *Semaphore) debitHeld(n int64) bool {
	k := min(n, s.held(s.proc))
	if rest := n - k; rest > 0 && !s.casOwnPool(func(old uint64) (uint64, bool) {
		return old - uint64(rest), poolHeld(old) >= rest
	}) {
		return false
	}
	if k > 0 {
		s.addHeld(s.proc, -k)
	}
	return true
}

// placeReleased puts n released permits in this handle's pool's free part
// (undrained) if canPool and they fit, or else in available, to be served
// to the queue by the caller. Called with the lock held.
func (s *Semaphore) placeReleased(n int64) {
	if s.canPool() && s.casOwnPool(func(old uint64) (uint64, bool) {
		if poolFree(old)+poolHeld(old)+n > poolMax {
			return 0, false
		}
		return (old + uint64(n)<<poolShift) &^ poolDrained, true
	}) {
		return
	}
	s.addAvail(n)
}

// stealHook, when set (tests only), is called by drain at each stage of
// a steal: stageJournaled after the steal entry is published, before the
// CAS; stageStolen after the CAS landed, before available is credited.
type stealHook func(stage int)

const (
	stageJournaled = iota
	stageStolen
)

// drain steals the free permits of every attached pool into available and
// sets every pool's drained bit: done before the first request queues and
// when the global view must be exact (Close, SetMaxPermits, a lock-path
// Acquire that finds available short). Called with the lock held, inside
// a transaction; see the package comment above for its crash recovery.
func (s *Semaphore) drain(hook stealHook) {
	for p := uint32(0); p < s.r.procs; p++ {
		if s.r.u64(s.r.proc(p)+procIdentity).Load() != 0 {
			s.steal(p, hook)
		} // else a free slot: its pool is empty (reclaim, attach)
	}
}

// steal drains process slot p's pool: its free permits join available and
// its drained bit is set, with one CAS. Called with the lock held, inside
// a transaction.
func (s *Semaphore) steal(p uint32, hook stealHook) {
	off := s.r.proc(p) + procPool
	w := s.r.u64(off)
	entry := uintptr(0)
	for {
		old := w.Load()
		if old&poolDrained != 0 {
			return // frozen (O) and empty (F): nothing to steal
		}
		// The steal entry is published before the CAS, and names the exact
		// old value the CAS expects (see the package comment).
		if entry == 0 {
			entry = s.journal(uint64(off)|journalWide|journalSteal, old)
		} else {
			s.r.u64(entry + 8).Store(old)
		}
		if hook != nil {
			hook(stageJournaled)
		}
		if w.CompareAndSwap(old, stealOf(old)) {
			if hook != nil {
				hook(stageStolen)
			}
			if f := poolFree(old); f > 0 {
				s.addAvail(f)
			}
			return
		}
	}
}

// poolsFree returns the free permits of every attached pool: a snapshot,
// read without the lock.
func (s *Semaphore) poolsFree() int64 {
	var sum int64
	for p := uint32(0); p < s.r.procs; p++ {
		o := s.r.proc(p)
		if s.r.u64(o+procIdentity).Load() != 0 {
			sum += poolFree(s.r.u64(o + procPool).Load())
		}
	}
	return sum
}
