package shared_test

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"unsafe"

	"github.com/compio-sync/gosync/shared"
	"golang.org/x/sys/windows"
)

// childHandles lists, in a child's environment, the handle values of the
// files passFiles gave it.
const childHandles = "GOSYNC_SHARED_HANDLES"

// passFiles makes files inheritable by the child alone
// (AdditionalInheritedHandles; Windows has no ExtraFiles) and tells it
// their handle values. The child exits when its stdin reaches EOF, which
// happens when this process dies: Windows has no Pdeathsig.
func passFiles(cmd *exec.Cmd, files []*os.File) {
	if len(files) == 0 {
		return
	}
	var hs []syscall.Handle
	var vals []string
	for _, f := range files {
		hs = append(hs, syscall.Handle(f.Fd()))
		vals = append(vals, strconv.FormatUint(uint64(f.Fd()), 10))
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{AdditionalInheritedHandles: hs}
	cmd.Env = append(cmd.Env, childHandles+"="+strings.Join(vals, ","))
}

// childFile returns the i-th file passFiles gave this child, or nil.
func childFile(i int) *os.File {
	vals := strings.Split(os.Getenv(childHandles), ",")
	if i >= len(vals) {
		return nil
	}
	h, err := strconv.ParseUint(vals[i], 10, 64)
	if err != nil {
		return nil
	}
	return os.NewFile(uintptr(h), fmt.Sprint("passed", i))
}

// childOptions returns the options of this child's handle, waiting through
// a new backend-iocp Backend, and a function that closes the Backend.
func childOptions() ([]shared.Option, func(), error) {
	opt, closeFn, err := iocpOption()
	if err != nil {
		return nil, nil, err
	}
	return []shared.Option{opt}, closeFn, nil
}

// platformOpts are the options every handle of the tests gets first: on
// Windows a Waiter must be given, the iocp WordWaiter.
func platformOpts(t testing.TB) []shared.Option { return waiterOpts(t, "iocp") }

// childWaiter returns the waiter argument for child i of a test of kind.
func childWaiter(string, int) string { return "waiter=iocp" }

// startAttempts is how many times startChild tries to start a child: Wine's
// CreateProcess now and then fails with "Internal error" when many
// children start and die (seen once in about 400 starts of TestChaos on a
// loaded machine), which is not what the tests examine.
const startAttempts = 3

const startRetryReason = "Wine's CreateProcess fails like this now and then under load"

// qpc is QueryPerformanceCounter and QueryPerformanceFrequency, which
// x/sys/windows does not wrap.
var (
	kernel32 = windows.NewLazySystemDLL("kernel32.dll")
	qpc      = kernel32.NewProc("QueryPerformanceCounter")
	qpf      = kernel32.NewProc("QueryPerformanceFrequency")
)

// monoNow returns the performance counter in nanoseconds: one clock for
// every process of the host, so a child's timestamps and the parent's
// compare.
func monoNow() int64 {
	var n, f int64
	qpc.Call(uintptr(unsafe.Pointer(&n)))
	qpf.Call(uintptr(unsafe.Pointer(&f)))
	return n/f*1e9 + n%f*1e9/f
}

// chaosPolls is the polls argument of TestChaos's workers: on, because a
// WordWaiter's wake is lost when the waker held the event's last handle
// and exits (see docs/shared.md), and then only the waiter's poll wakes it.
const chaosPolls = "polls=1"
