package shared_test

import (
	"testing"

	iocp "github.com/compio-sync/gosync/backend-iocp"
	"github.com/compio-sync/gosync/shared"
)

// Waiter kinds the multi-process tests run with on Windows: only the
// completion port's WordWaiter exists here.
var waiterKinds = []string{"iocp"}

// iocpOption returns the option that makes a handle wait through a new
// backend-iocp Backend's WordWaiter, and a function to close the Backend.
func iocpOption() (shared.Option, func(), error) {
	b, err := iocp.New()
	if err != nil {
		return nil, nil, err
	}
	return shared.WithWaiter(b.WordWaiter()), func() { b.Close() }, nil
}

// waiterOpts returns the options for a parent handle of kind: the iocp
// WordWaiter, on a Backend closed when the test ends.
func waiterOpts(t testing.TB, kind string) []shared.Option {
	t.Helper()
	opt, closeFn, err := iocpOption()
	if err != nil {
		t.Fatalf("iocp.New() = %v", err)
	}
	t.Cleanup(closeFn)
	return []shared.Option{opt}
}

// chaosWaiterKind is the waiter kind of TestChaos's children.
func chaosWaiterKind() string { return "iocp" }
