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
