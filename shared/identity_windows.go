package shared

import (
	"errors"
	"fmt"

	"golang.org/x/sys/windows"
)

// Process identity and liveness on Windows.
//
// A process is identified by pid<<32 | (creation time in milliseconds since
// the Unix epoch & 0xffffffff), the creation time read with
// GetProcessTimes. A PID alone is reused soon after its process dies (and
// its last handle is closed); the pair is reused only if a new process gets
// the same PID with a creation time in the same millisecond modulo 2^32 ms
// (49.7 days), which we accept. Windows keeps creation times at the clock
// tick (about 15.6 ms), so a finer unit would not help; a coarser one would
// shorten the cycle. PIDs are system-wide on Windows (there are no PID
// namespaces), so pidNamespace is 0.

// selfIdentity returns this process's identity.
func selfIdentity() (uint64, error) {
	pid := windows.GetCurrentProcessId()
	if pid == 0 || pid >= 1<<31 {
		// Bit 63 of an identity is the lock's contended bit.
		return 0, fmt.Errorf("shared: process id %d does not fit an identity (%w)", pid, errors.ErrUnsupported)
	}
	created, err := creationMillis(windows.CurrentProcess())
	if err != nil {
		return 0, fmt.Errorf("shared: reading this process's creation time (GetProcessTimes): %w", err)
	}
	return uint64(pid)<<32 | created&0xffffffff, nil
}

// creationMillis returns the creation time of process h in milliseconds
// since the Unix epoch.
func creationMillis(h windows.Handle) (uint64, error) {
	var created, exited, kernel, user windows.Filetime
	if err := windows.GetProcessTimes(h, &created, &exited, &kernel, &user); err != nil {
		return 0, err
	}
	return uint64(created.Nanoseconds() / 1e6), nil
}

// alive reports whether the process with identity id may still run. It
// says false only when sure: no process has the PID (OpenProcess fails with
// ERROR_INVALID_PARAMETER), the process has exited (its handle is
// signalled; the object lingers while some handle to it is open), or the
// PID now belongs to a process created at another time. Anything it cannot
// check (access denied, GetProcessTimes failing) counts as alive, so a
// live owner is never robbed.
func alive(id uint64) bool {
	pid := uint32(id >> 32)
	h, err := windows.OpenProcess(windows.PROCESS_QUERY_LIMITED_INFORMATION|windows.SYNCHRONIZE, false, pid)
	if err != nil {
		return err != windows.ERROR_INVALID_PARAMETER
	}
	defer windows.CloseHandle(h)
	if ev, err := windows.WaitForSingleObject(h, 0); err == nil && ev == windows.WAIT_OBJECT_0 {
		return false
	}
	created, err := creationMillis(h)
	if err != nil {
		return true
	}
	return created&0xffffffff == id&0xffffffff
}

func pidNamespace() uint64 { return 0 }

// liveness is a handle's liveness oracle on Windows: the identity of its
// process, the same for every handle of the process and every slot.
type liveness struct{ self uint64 }

func newLiveness(int, uint32) (liveness, error) {
	id, err := selfIdentity()
	return liveness{self: id}, err
}

// claim returns the process's identity for slot p: a slot is free while
// its identity word is 0, which the caller checks under the region lock.
func (l liveness) claim(*region, uint32) (uint64, bool) { return l.self, true }

func (l liveness) unclaim(uint32) {}

func (l liveness) alive(id uint64) bool { return alive(id) }

// aliveAt reports whether id, read from process slot p, is alive: on
// Windows an identity names a process, not a slot.
func (l liveness) aliveAt(_ uint32, id uint64) bool { return alive(id) }
