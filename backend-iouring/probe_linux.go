package iouring

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/compio-sync/gosync/backend-iouring/internal/ring"
	"golang.org/x/sys/unix"
)

// openRing creates the ring and explains a failure: the errno alone
// (EPERM, ENOSYS) does not tell a user what to change.
func openRing(cfg *config) (*ring.Ring, error) {
	var r *ring.Ring
	err := cfg.fakeSetupErr
	if err == nil {
		r, err = ring.New(ring.Config{Entries: cfg.entries, CQEntries: cfg.cqEntries, Flags: ring.SetupClamp | ring.SetupSubmitAll})
	}
	if err == nil {
		if r.Features()&ring.FeatNoDrop == 0 {
			r.Close()
			return nil, &UnsupportedError{Reason: "kernel " + kernelRelease() + " lacks IORING_FEAT_NODROP (Linux 5.5+); futex ops need Linux 6.7+"}
		}
		return r, nil
	}
	switch {
	case errors.Is(err, unix.ENOSYS):
		return nil, &UnsupportedError{Reason: "io_uring_setup is not implemented: kernel " + kernelRelease() + " built without io_uring, or a sandbox (seccomp) hides it", Err: err}
	case errors.Is(err, unix.EPERM):
		switch v := readSysctl(cfg.sysctlPath); v {
		case "2":
			return nil, &UnsupportedError{Reason: "io_uring is disabled by sysctl kernel.io_uring_disabled=2", Err: err}
		case "1":
			return nil, &UnsupportedError{Reason: "io_uring is restricted by sysctl kernel.io_uring_disabled=1 and this process is not in kernel.io_uring_group", Err: err}
		default:
			return nil, &UnsupportedError{Reason: "io_uring_setup is denied although sysctl kernel.io_uring_disabled=" + v + ": a sandbox (seccomp profile, container runtime) blocks it", Err: err}
		}
	case errors.Is(err, unix.EINVAL):
		return nil, &UnsupportedError{Reason: "kernel " + kernelRelease() + " rejects the ring parameters (too old for io_uring futex ops, which need Linux 6.7+)", Err: err}
	}
	return nil, fmt.Errorf("iouring: %w", err)
}

// probe checks IORING_REGISTER_PROBE for the futex ops and ASYNC_CANCEL.
func probe(cfg *config, r *ring.Ring) error {
	p, err := r.Probe()
	if err != nil {
		return &UnsupportedError{Reason: "kernel " + kernelRelease() + " cannot probe io_uring opcodes (older than 5.6; futex ops need Linux 6.7+)", Err: err}
	}
	for _, op := range []struct {
		code uint8
		name string
	}{{ring.OpFutexWait, "IORING_OP_FUTEX_WAIT"}, {ring.OpFutexWake, "IORING_OP_FUTEX_WAKE"}, {ring.OpAsyncCancel, "IORING_OP_ASYNC_CANCEL"}} {
		if cfg.fakeProbeMissing && op.code != ring.OpAsyncCancel || !p.Supports(op.code) {
			return &UnsupportedError{Reason: fmt.Sprintf("kernel %s does not support %s (op %d): io_uring futex operations need Linux 6.7 or newer", kernelRelease(), op.name, op.code)}
		}
	}
	return nil
}

func readSysctl(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "unknown (" + err.Error() + ")"
	}
	return strings.TrimSpace(string(b))
}

func kernelRelease() string {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return "(unknown release)"
	}
	return unix.ByteSliceToString(u.Release[:])
}
