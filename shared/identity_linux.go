package shared

import (
	"fmt"
	"sync"

	"golang.org/x/sys/unix"
)

// Handle identity and liveness on Linux: an OFD lock the kernel holds for
// exactly the life of the handle's process.
//
// Every handle opens the region file itself (an open file description of
// its own, close-on-exec) and, before it takes a process slot p, takes an
// exclusive OFD lock (F_OFD_SETLK) on byte livenessLockBase+p of the file,
// through that description. The kernel drops the lock when the last
// descriptor of the description closes: when the handle's slot is freed
// (releaseSlot), or when the process exits or is killed (SIGKILL
// included), or when it execs (the descriptor is close-on-exec, and the
// new program knows nothing of the handle). Nothing else drops it: not a
// zombie thread group leader whose other threads run (they share the
// descriptor table), not PID reuse, hidepid, or a time or PID namespace
// (the lock is a property of the file, not of a PID). A process that is
// stopped or frozen keeps it: it is alive.
//
// The handle's identity, which it publishes in its process slot and
// writes into the lock word, is (p+1)<<32 | nonce, the nonce taken from a
// counter in the region, so that identities of successive holders of one
// slot differ (until the counter wraps after 2^32 attaches; a stale
// identity is compared only while its holder is being reclaimed, which
// takes milliseconds).
//
// A handle's identity is alive while the byte of its slot is locked, as
// F_OFD_GETLK reports through the asking handle's own description (which
// does not see its own locks, so the handles of this process record the
// bytes they hold in claimed and answer for those from there). The byte
// of a slot is locked only by the handle that claimed it, from before it
// uses its identity to after it stopped: an identity whose byte is free is
// dead. A handle that claims the byte of a dead holder whose identity is
// still in the lock word knows (from claimed) that identity is not its
// own, so it takes the lock over; other processes, seeing the byte locked,
// wait for it to do so.
//
// An identity is read from the region, which any process that can open the
// file can write (see region_check.go), so its slot is checked before it
// names a byte: an identity whose slot number is not one of the region's
// process slots (p+1 == 0, or p >= the number of slots) is one no live
// handle can have, and reads as dead, as an identity whose byte is free
// does. A lock word holding such an identity is taken over as from a dead
// owner, instead of every process waiting for it forever.

// livenessLockBase is the file offset of the liveness byte of process
// slot 0: past the end of any region (OFD locks may lie beyond EOF and are
// advisory: they never affect the mapping).
const livenessLockBase = 1 << 40

// liveness is a handle's liveness oracle and lock: the region file, open
// (O_CLOEXEC) for as long as the handle's slot is held (the handle's
// unmap closes it, after releaseSlot unclaimed the slot).
type liveness struct {
	fd    int
	file  fileKey
	procs uint32 // the region's process slots: identities past them are dead
}

// fileKey identifies a region file within this process's claimed bytes.
type fileKey struct{ dev, ino uint64 }

type claimKey struct {
	file fileKey
	slot uint32
}

// claimed maps the liveness bytes this process holds to the identity of
// the handle holding each.
var claimed sync.Map // claimKey -> uint64

// newLiveness returns the oracle of a handle of the region file fd, which
// must stay open while the handle holds a slot, for a region of procs
// process slots.
func newLiveness(fd int, procs uint32) (liveness, error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return liveness{}, fmt.Errorf("shared: stat of the region file: %w", err)
	}
	return liveness{fd: fd, file: fileKey{uint64(st.Dev), st.Ino}, procs: procs}, nil
}

// claim takes the liveness byte of process slot p for a new handle and
// returns the handle's identity; ok is false if another handle (in any
// process) holds the byte.
func (l liveness) claim(r *region, p uint32) (id uint64, ok bool) {
	lk := l.flock(unix.F_WRLCK, p)
	if unix.FcntlFlock(uintptr(l.fd), unix.F_OFD_SETLK, &lk) != nil {
		return 0, false
	}
	// The nonce counter is a word any process can write: a nonce that
	// would give the identity the slot or the lock word still holds (a
	// dead holder's, not yet reclaimed) is skipped, so that the new
	// handle never mistakes a dead identity for its own. At most three
	// nonces are skipped (0 and those two).
	prev := r.u64(r.proc(p) + procIdentity).Load()
	owner := r.u64(offLockOwner).Load() &^ lockContended
	for {
		id = uint64(p+1)<<32 | uint64(r.u32(offNonce).Add(1))
		if uint32(id) != 0 && id != prev && id != owner {
			break
		}
	}
	claimed.Store(claimKey{l.file, p}, id)
	return id, true
}

// unclaim gives back the liveness byte of slot p, which the handle no
// longer uses: its identity is dead from here on.
func (l liveness) unclaim(p uint32) {
	claimed.Delete(claimKey{l.file, p})
	lk := l.flock(unix.F_UNLCK, p)
	unix.FcntlFlock(uintptr(l.fd), unix.F_OFD_SETLK, &lk)
}

// alive reports whether the handle with identity id may still run. It
// says false only when sure: the identity names no process slot of the
// region (no handle can have it), or the liveness byte of its slot is
// free, or held by another handle of this process. If the kernel cannot
// be asked, it says true, so a live owner is never robbed.
func (l liveness) alive(id uint64) bool {
	p := uint32(id>>32) - 1 // slot+1 == 0 wraps to past every slot
	if p >= l.procs {
		return false
	}
	if mine, ok := claimed.Load(claimKey{l.file, p}); ok {
		return mine.(uint64) == id
	}
	lk := l.flock(unix.F_WRLCK, p)
	if unix.FcntlFlock(uintptr(l.fd), unix.F_OFD_GETLK, &lk) != nil {
		return true
	}
	return lk.Type != unix.F_UNLCK
}

// aliveAt reports whether id, read from the identity word of process slot
// p, is a live handle's: a handle publishes its identity only in its own
// slot, so an identity naming another slot is one no live handle can have
// there, and dead.
func (l liveness) aliveAt(p uint32, id uint64) bool {
	return id>>32 == uint64(p)+1 && l.alive(id)
}

func (l liveness) flock(typ int16, p uint32) unix.Flock_t {
	return unix.Flock_t{Type: typ, Whence: 0, Start: livenessLockBase + int64(p), Len: 1}
}

// pidNamespace returns the inode of this process's PID namespace, or 0 if
// it cannot be read.
func pidNamespace() uint64 {
	var st unix.Stat_t
	if unix.Stat("/proc/self/ns/pid", &st) != nil {
		return 0
	}
	return st.Ino
}
