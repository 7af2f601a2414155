package shared_test

import (
	"errors"
	"testing"

	iouring "github.com/compio-sync/gosync/backend-iouring"
	"github.com/compio-sync/gosync/shared"
)

// Waiter kinds the multi-process tests run with. A child gets its kind in
// its arguments (waiter=futex|iouring).
var waiterKinds = []string{"futex", "iouring", "mixed"}

// iouringOption returns the option that makes a handle wait through a new
// io_uring backend, and a function to close it; err satisfies
// errors.ErrUnsupported where io_uring futex ops are unavailable.
func iouringOption() (shared.Option, func(), error) {
	b, err := iouring.New()
	if err != nil {
		return nil, nil, err
	}
	return shared.WithWaiter(b.WordWaiter()), func() { b.Close() }, nil
}

// waiterOpts returns the options for a parent handle of kind (mixed: the
// parent uses futex(2), its children alternate), skipping the test if
// io_uring is needed and unavailable.
func waiterOpts(t *testing.T, kind string) []shared.Option {
	t.Helper()
	if kind == "futex" {
		return nil
	}
	opt, closeFn, err := iouringOption()
	if errors.Is(err, errors.ErrUnsupported) {
		t.Skipf("io_uring futex ops unavailable: %v", err)
	}
	if err != nil {
		t.Fatalf("iouring.New() = %v", err)
	}
	t.Cleanup(closeFn)
	if kind == "mixed" {
		return nil
	}
	return []shared.Option{opt}
}

// childWaiter returns the waiter argument for child i of a test of kind.
func childWaiter(kind string, i int) string {
	switch {
	case kind == "iouring", kind == "mixed" && i%2 == 1:
		return "waiter=iouring"
	}
	return "waiter=futex"
}

// iouringAvailable reports whether io_uring futex ops work here.
func iouringAvailable() bool {
	_, closeFn, err := iouringOption()
	if err != nil {
		return false
	}
	closeFn()
	return true
}

// chaosWaiterKind is the waiter kind of TestChaos's children: they
// alternate between the futex(2) and the io_uring waiter where io_uring is
// available, so both are killed mid-wait.
func chaosWaiterKind() string {
	if iouringAvailable() {
		return "mixed"
	}
	return "futex"
}
