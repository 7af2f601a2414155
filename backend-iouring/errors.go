package iouring

import (
	"errors"
	"fmt"
)

// ErrClosed is returned (wrapped) by Park on a Backend that was closed,
// including Parks that were waiting when Close was called.
var ErrClosed = errors.New("iouring: backend closed")

// UnsupportedError is returned by New when this system cannot run the
// backend. It satisfies errors.Is(err, errors.ErrUnsupported); Reason says
// why (kernel too old, io_uring disabled by sysctl, blocked by a sandbox, not
// Linux), and Err, if not nil, is the underlying system error.
type UnsupportedError struct {
	Reason string
	Err    error
}

// Error returns "iouring: unsupported: " followed by the reason and the
// underlying error.
func (e *UnsupportedError) Error() string {
	if e.Err == nil {
		return "iouring: unsupported: " + e.Reason
	}
	return fmt.Sprintf("iouring: unsupported: %s: %v", e.Reason, e.Err)
}

// Is reports whether target is errors.ErrUnsupported.
func (e *UnsupportedError) Is(target error) bool { return target == errors.ErrUnsupported }

// Unwrap returns the underlying system error, or nil.
func (e *UnsupportedError) Unwrap() error { return e.Err }
