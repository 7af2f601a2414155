//go:build !linux

package shared

import (
	"errors"
	"fmt"
)

var errNoOpen = fmt.Errorf("shared: %w: shared semaphores are implemented on Linux only (a Windows named file mapping is not written yet)", errors.ErrUnsupported)

// Open fails with an error satisfying errors.Is(err, errors.ErrUnsupported):
// the region file, the liveness oracle and the futex Waiter are Linux-only.
func Open(name string, permits int, opts ...Option) (*Semaphore, error) {
	return nil, errNoOpen
}

// OpenExisting fails like Open.
func OpenExisting(name string, opts ...Option) (*Semaphore, error) { return nil, errNoOpen }

// Remove fails like Open.
func Remove(name string, opts ...Option) error { return errNoOpen }
