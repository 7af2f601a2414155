package shared

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// Process identity and liveness on Linux.
//
// A process is identified by pid<<32 | (start time & 0xffffffff), where
// the start time is field 22 of /proc/<pid>/stat, in clock ticks since
// boot. A PID alone can be reused after its process dies; the pair is
// reused only if a new process gets the same PID exactly a multiple of
// 2^32 ticks (497 days at USER_HZ 100) after the first started, which we
// accept. The identity is published in the region before it can matter: a
// process slot carries it from the moment it is taken, and the lock word
// is the identity itself, so there is no window in which an owner is
// recorded without its identity.
//
// Both numbers are relative to the reader's PID namespace (and its time
// namespace's boot offset), so every process sharing a region must share
// them; Open refuses a region created in another PID namespace.

// selfIdentity returns this process's identity.
func selfIdentity() (uint64, error) {
	pid := os.Getpid()
	start, _, err := readStat(pid)
	if err != nil {
		return 0, fmt.Errorf("shared: reading this process's start time: %w", err)
	}
	return identityOf(pid, start), nil
}

func identityOf(pid int, start uint64) uint64 { return uint64(uint32(pid))<<32 | start&0xffffffff }

// alive reports whether the process with identity id may still run. It
// says false only when sure: the PID is one no process can have (0, or
// above pidLimit), does not exist (ESRCH), is a zombie or dead task, or now
// belongs to a process that started at another time.
// Anything it cannot check (for example /proc mounted with hidepid) counts
// as alive, so a live owner is never robbed.
func alive(id uint64) bool {
	pid := int(id >> 32)
	if pid < 1 || pid > pidLimit {
		// No process has this PID: the word was not written by an owner
		// (kill(2) would read 0 as our process group and a PID past
		// 2^31 as a negative one, and find them alive forever).
		return false
	}
	start, state, err := readStat(pid)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			// Gone, or hidden from us: kill(pid, 0) tells them apart.
			return unix.Kill(pid, 0) != unix.ESRCH
		}
		return true
	}
	if state == 'Z' || state == 'X' || state == 'x' {
		return false // exited; only its parent's wait is pending
	}
	return start&0xffffffff == id&0xffffffff
}

// pidLimit is the largest PID Linux gives (PID_MAX_LIMIT on 64-bit
// kernels; /proc/sys/kernel/pid_max cannot exceed it).
const pidLimit = 1 << 22

// readStat returns the start time (field 22) and state (field 3) of pid
// from /proc/<pid>/stat.
func readStat(pid int) (start uint64, state byte, err error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, err
	}
	// The command name (field 2) is in parentheses and may itself contain
	// spaces and parentheses: parse after the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, fmt.Errorf("shared: malformed /proc/%d/stat", pid)
	}
	f := bytes.Fields(b[i+1:])
	if len(f) < 20 || len(f[0]) != 1 {
		return 0, 0, fmt.Errorf("shared: malformed /proc/%d/stat", pid)
	}
	start, err = strconv.ParseUint(string(f[19]), 10, 64)
	if err != nil {
		return 0, 0, fmt.Errorf("shared: malformed start time in /proc/%d/stat: %w", pid, err)
	}
	return start, f[0][0], nil
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
