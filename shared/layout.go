package shared

import (
	"fmt"
	"sync/atomic"
	"unsafe"
)

// The region layout (version 3; version 1 had 32-byte process slots
// without pool words; version 2 identified processes by PID and start
// time instead of handles by slot and OFD lock, and had no identity
// nonce). Every field is accessed only through sync/atomic, at its
// natural alignment; 64-bit fields sit at multiples of 8 so that they are
// atomic on 32-bit targets too (the mapping is page aligned). All
// integers are in the host's byte order: a region is shared by the
// processes of one host.
//
//	offset  size  field
//	header, written once by the creator; magic last (it publishes the rest)
//	   0     8    magic "GOSYNCSM"
//	   8     4    version (3)
//	  12     4    header size (256)
//	  16     4    process slots (P)
//	  20     4    waiter slots (S)
//	  24     4    journal capacity (J = 12S + 6P + 64 entries)
//	  28     4    reserved
//	  32     8    total size in bytes
//	  40     8    PID namespace inode of the creator (0: unknown)
//	the lock, on its own cache line
//	  64     8    lock owner: 0, or the owner's identity | lockContended
//	  72     4    lock sequence: the futex word lock waiters sleep on
//	  76     4    journal length: entries of the open transaction
//	the semaphore state (written only under the lock, through the journal)
//	 128     8    max permits
//	 136     8    available permits (signed; negative after a shrink)
//	 144     4    closed (0 or 1)
//	 148     4    queue head (waiter slot index + 1; 0: empty)
//	 152     4    queue tail (same encoding)
//	 156     4    waiting: number of queued waiter slots
//	 160     8    next ticket: the order in which requests queued
//	 168     8    next grant: the order in which queued requests were granted
//	 176     4    corrupt: 0, or 1 once a check found the region corrupt
//	              (written under the lock, never journaled: no rollback
//	              undoes it; see region_check.go)
//	hints, written outside the lock (never trusted for correctness)
//	 192     8    last sweep for dead processes (Unix nanoseconds)
//	 200     4    next free waiter slot to try
//	 204     4    identity nonce: last nonce given to a handle (Linux)
//	 256    16*J  journal: {offset | width bit, old value}
//	  ..    64*P  process slots: {identity u64, held u64, pool u64 (see
//	              pool.go), reserved}, one cache line each
//	  ..    48*S  waiter slots: {state u32, proc u32, n u64, next u32,
//	              prev u32, ticket u64, grant u64, reserved}
const (
	regionMagic   uint64 = 0x4d53434e5953_4f47 // "GOSYNCSM" little-endian
	regionVersion uint32 = 3
	headerSize           = 256

	offMagic      = 0
	offVersion    = 8
	offHeaderSize = 12
	offProcs      = 16
	offSlots      = 20
	offJournalCap = 24
	offSize       = 32
	offPidNS      = 40

	offLockOwner  = 64
	offLockSeq    = 72
	offJournalLen = 76

	offMax        = 128
	offAvail      = 136
	offClosed     = 144
	offHead       = 148
	offTail       = 152
	offWaiting    = 156
	offNextTicket = 160
	offNextGrant  = 168
	offCorrupt    = 176

	offLastSweep = 192
	offSlotHint  = 200
	offNonce     = 204

	journalEntrySize = 16
	procSize         = 64 // a cache line each: pools of different processes never share one
	slotSize         = 48

	// Process slot fields.
	procIdentity = 0
	procHeld     = 8
	procPool     = 16

	// Waiter slot fields.
	slotState  = 0
	slotProc   = 4
	slotN      = 8
	slotNext   = 16
	slotPrev   = 20
	slotTicket = 24
	slotGrant  = 32

	// journalWide marks a journal entry for a 64-bit word.
	journalWide = 1 << 63
	// journalSteal marks the entry of a steal of a pool word, rolled back
	// only if the steal's CAS landed (see pool.go).
	journalSteal = 1 << 62
)

// Waiter slot states. The state word is also the futex word its owner
// sleeps on, so every transition away from slotQueued changes it.
const (
	slotFree     uint32 = iota // not in use
	slotQueued                 // in the queue, owed nothing yet
	slotGranted                // dequeued; its n permits were added to its process's held count
	slotClosed                 // dequeued by Close
	slotTooLarge               // dequeued by a shrink below n
	slotDetached               // dequeued because its handle detached
)

// Limits on the counts chosen at creation.
const (
	// DefaultWaiterSlots is the number of waiter slots of a region created
	// without WithWaiterSlots: how many Acquires, in all processes
	// together, can be queued at once.
	DefaultWaiterSlots = 1024
	// DefaultProcessSlots is the number of process slots of a region
	// created without WithProcessSlots: how many handles (one per Open) can
	// be attached at once.
	DefaultProcessSlots = 128

	maxSlots = 1 << 20
)

// layout is the geometry of one region, derived from its counts.
type layout struct {
	procs, slots, journalCap uint32
	journalOff, procsOff     uintptr
	slotsOff, size           uintptr
}

func newLayout(procs, slots uint32) layout {
	// Worst-case transaction: one that sweeps dead processes and then
	// grants every remaining queued slot. A granted slot costs 9 entries
	// (available, held, unlink: head, next's prev, own next, waiting; next
	// grant, grant order, state), a swept one 5 (unlink, state), a swept
	// process 4 (available, held, pool, identity), a drain 2 per pool
	// (steal, available); the rest is a few header and own-pool words.
	j := 12*slots + 6*procs + 64
	l := layout{procs: procs, slots: slots, journalCap: j}
	l.journalOff = headerSize
	l.procsOff = l.journalOff + uintptr(j)*journalEntrySize
	l.slotsOff = l.procsOff + uintptr(procs)*procSize
	l.size = l.slotsOff + uintptr(slots)*slotSize
	return l
}

// region is a mapped semaphore region.
type region struct {
	mem  []byte
	base unsafe.Pointer
	layout
}

func newRegion(mem []byte, l layout) *region {
	if uintptr(len(mem)) < l.size {
		panic(fmt.Sprintf("shared: region of %d bytes, layout needs %d", len(mem), l.size))
	}
	return &region{mem: mem, base: unsafe.Pointer(unsafe.SliceData(mem)), layout: l}
}

func (r *region) u32(off uintptr) *atomic.Uint32 {
	return (*atomic.Uint32)(unsafe.Add(r.base, off))
}

func (r *region) u64(off uintptr) *atomic.Uint64 {
	return (*atomic.Uint64)(unsafe.Add(r.base, off))
}

// proc returns the offset of process slot i.
func (r *region) proc(i uint32) uintptr { return r.procsOff + uintptr(i)*procSize }

// slot returns the offset of waiter slot i.
func (r *region) slot(i uint32) uintptr { return r.slotsOff + uintptr(i)*slotSize }

// initialize writes a fresh region with max permits. The caller is its only
// user (it just created the file); magic is stored last, so an opener that
// sees the magic sees the whole header.
func (r *region) initialize(max int64, pidNS uint64) {
	r.u32(offVersion).Store(regionVersion)
	r.u32(offHeaderSize).Store(headerSize)
	r.u32(offProcs).Store(r.procs)
	r.u32(offSlots).Store(r.slots)
	r.u32(offJournalCap).Store(r.journalCap)
	r.u64(offSize).Store(uint64(r.size))
	r.u64(offPidNS).Store(pidNS)
	r.u64(offMax).Store(uint64(max))
	r.u64(offAvail).Store(uint64(max))
	r.u64(offMagic).Store(regionMagic)
}

// readLayout validates the header of an existing region of size bytes and
// returns its layout, or an error wrapping ErrInvalid that says what is
// wrong. It only reads.
func readLayout(mem []byte) (layout, error) {
	size := uintptr(len(mem))
	if size < headerSize {
		return layout{}, errShort{int64(size)}
	}
	h := &region{mem: mem, base: unsafe.Pointer(unsafe.SliceData(mem))}
	if m := h.u64(offMagic).Load(); m != regionMagic {
		if m == 0 {
			return layout{}, fmt.Errorf("%w: no magic number (not initialized: its creator may still be writing it, or died doing so)", ErrInvalid)
		}
		return layout{}, fmt.Errorf("%w: magic %#x, want %#x (another kind of file)", ErrInvalid, m, regionMagic)
	}
	if v := h.u32(offVersion).Load(); v != regionVersion {
		return layout{}, fmt.Errorf("%w: layout version %d, this package reads version %d", ErrInvalid, v, regionVersion)
	}
	if hs := h.u32(offHeaderSize).Load(); hs != headerSize {
		return layout{}, fmt.Errorf("%w: header size %d, want %d", ErrInvalid, hs, headerSize)
	}
	procs, slots := h.u32(offProcs).Load(), h.u32(offSlots).Load()
	if procs == 0 || procs > maxSlots || slots == 0 || slots > maxSlots {
		return layout{}, fmt.Errorf("%w: %d process slots and %d waiter slots, want 1 to %d each", ErrInvalid, procs, slots, maxSlots)
	}
	l := newLayout(procs, slots)
	if j := h.u32(offJournalCap).Load(); j != l.journalCap {
		return layout{}, fmt.Errorf("%w: journal capacity %d, want %d for this layout", ErrInvalid, j, l.journalCap)
	}
	if s := h.u64(offSize).Load(); s != uint64(l.size) || size != l.size {
		return layout{}, fmt.Errorf("%w: size %d (header says %d), layout needs %d (truncated or corrupt)", ErrInvalid, size, s, l.size)
	}
	return l, nil
}
