//go:build !linux

package shared

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
)

// FutexWaiter waits with futex(2), which exists only on Linux; here every
// call fails with an error satisfying errors.Is(err, errors.ErrUnsupported).
type FutexWaiter struct{}

var errNoFutex = fmt.Errorf("shared: FutexWaiter: %w: futex(2) is Linux-only", errors.ErrUnsupported)

// Wait fails with an error satisfying errors.Is(err, errors.ErrUnsupported).
func (FutexWaiter) Wait(context.Context, *atomic.Uint32, uint32) error { return errNoFutex }

// Wake fails with an error satisfying errors.Is(err, errors.ErrUnsupported).
func (FutexWaiter) Wake(*atomic.Uint32, int) error { return errNoFutex }

// defaultWaiter fails: off Linux no Waiter works without a backend (on
// Windows, backend-iocp's WordWaiter).
func defaultWaiter() (Waiter, error) {
	return nil, fmt.Errorf("shared: %w: no default Waiter off Linux; on Windows open with shared.WithWaiter(b.WordWaiter()) and a backend-iocp Backend b", errors.ErrUnsupported)
}
