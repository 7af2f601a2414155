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

// livenessLockBase is the file offset of the liveness byte of process
// slot 0: past the end of any region (OFD locks may lie beyond EOF and are
// advisory: they never affect the mapping).
const livenessLockBase = 1 << 40

// liveness is a handle's liveness oracle and lock: the region file, open
// (O_CLOEXEC) for as long as the handle's slot is held (the handle's
// unmap closes it, after releaseSlot unclaimed the slot).
type liveness struct {
	fd   int
	file fileKey
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
// must stay open while the handle holds a slot.
func newLiveness(fd int) (liveness, error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return liveness{}, fmt.Errorf("shared: stat of the region file: %w", err)
	}
	return liveness{fd: fd, file: fileKey{uint64(st.Dev), st.Ino}}, nil
}

// claim takes the liveness byte of process slot p for a new handle and
// returns the handle's identity; ok is false if another handle (in any
// process) holds the byte.
func (l liveness) claim(r *region, p uint32) (id uint64, ok bool) {
	lk := l.flock(unix.F_WRLCK, p)
	if unix.FcntlFlock(uintptr(l.fd), unix.F_OFD_SETLK, &lk) != nil {
		return 0, false
	}
	nonce := r.u32(offNonce).Add(1)
	for nonce == 0 {
		nonce = r.u32(offNonce).Add(1)
	}
	id = uint64(p+1)<<32 | uint64(nonce)
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
// says false only when sure: the liveness byte of its slot is free, or
// held by another handle of this process. If the kernel cannot be asked,
// it says true, so a live owner is never robbed.
func (l liveness) alive(id uint64) bool {
	p := uint32(id>>32) - 1
	if mine, ok := claimed.Load(claimKey{l.file, p}); ok {
		return mine.(uint64) == id
	}
	lk := l.flock(unix.F_WRLCK, p)
	if unix.FcntlFlock(uintptr(l.fd), unix.F_OFD_GETLK, &lk) != nil {
		return true
	}
	return lk.Type != unix.F_UNLCK
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
