//go:build !linux

package iouring

import (
	"context"
	"runtime"
	"sync/atomic"

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

// A WordWaiter waits on words in shared memory through io_uring; on this
// system none can be created (New always fails).
type WordWaiter struct{}

// WordWaiter returns a WordWaiter whose calls fail: no Backend exists here.
func (*Backend) WordWaiter() *WordWaiter { return &WordWaiter{} }

// Wait fails with an error satisfying errors.Is(err, errors.ErrUnsupported).
func (*WordWaiter) Wait(context.Context, *atomic.Uint32, uint32) error {
	return &UnsupportedError{Reason: "io_uring exists only on Linux, not " + runtime.GOOS}
}

// Wake fails with an error satisfying errors.Is(err, errors.ErrUnsupported).
func (*WordWaiter) Wake(*atomic.Uint32, int) error {
	return &UnsupportedError{Reason: "io_uring exists only on Linux, not " + runtime.GOOS}
}
