package shared_test

import (
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"github.com/compio-sync/gosync/shared"
	"golang.org/x/sys/unix"
)

// passFiles gives files to the child as fds 3, 4, ... and has the kernel
// SIGKILL it when this process dies (Pdeathsig).
func passFiles(cmd *exec.Cmd, files []*os.File) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	cmd.ExtraFiles = files
}

// childFile returns the i-th file passFiles gave this child.
func childFile(i int) *os.File { return os.NewFile(uintptr(3+i), "passed") }

// childOptions returns the options of this child's handle (io_uring for
// waiter=iouring in its arguments, futex(2) otherwise) and a function that
// releases what they hold.
func childOptions() ([]shared.Option, func(), error) {
	if !strings.Contains(os.Getenv(childArgs), "waiter=iouring") {
		return nil, func() {}, nil
	}
	opt, closeFn, err := iouringOption()
	if err != nil {
		return nil, nil, err
	}
	return []shared.Option{opt}, closeFn, nil
}

// platformOpts are the options every handle of the tests gets first: none
// on Linux (FutexWaiter is the default).
func platformOpts(testing.TB) []shared.Option { return nil }

// startAttempts is how many times startChild tries to start a child: once
// (a failed fork/exec here is a real failure).
const startAttempts = 1

const startRetryReason = ""

// monoNow returns CLOCK_MONOTONIC in nanoseconds: one clock for every
// process of the host, so a child's timestamps and the parent's compare.
func monoNow() int64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		panic(err)
	}
	return ts.Nano()
}

// chaosPolls is the polls argument of TestChaos's workers: off, so that
// a recovery that rests on a waiter's own poll stalls the test.
const chaosPolls = "polls=0"
