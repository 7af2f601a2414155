//go:build !linux

package iouring

import (
	"runtime"

	"github.com/compio-sync/gosync/core"
)

// Backend parks goroutines on io_uring futex waits. io_uring exists only on
// Linux; on this system New always fails and no Backend exists.
type Backend struct{}

// New returns an error satisfying errors.Is(err, errors.ErrUnsupported):
// io_uring exists only on Linux.
func New(opts ...Option) (*Backend, error) {
	return nil, &UnsupportedError{Reason: "io_uring exists only on Linux, not " + runtime.GOOS}
}

// Name returns "iouring".
func (*Backend) Name() string { return "iouring" }

// NewParker panics: no Backend can be created on this system.
func (*Backend) NewParker() core.Parker {
	panic("iouring: NewParker called on a Backend that New did not return (io_uring exists only on Linux)")
}

// Close does nothing and returns nil.
func (*Backend) Close() error { return nil }

var _ core.Backend = (*Backend)(nil)
