//go:build !windows

package iocp

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync/atomic"

	"github.com/compio-sync/gosync/core"
)

// Backend is the I/O completion port backend. On this GOOS it cannot be
// created: [New] always fails.
type Backend struct{}

// New fails on every GOOS but Windows with an error satisfying
// errors.Is(err, errors.ErrUnsupported), after checking opts (an invalid
// option is reported first). It never returns a non-nil Backend here.
func New(opts ...Option) (*Backend, error) {
	if _, err := newConfig(opts); err != nil {
		return nil, err
	}
	return nil, fmt.Errorf("iocp: I/O completion ports exist only on Windows, this is GOOS=%s (use backend-generic): %w",
		runtime.GOOS, errors.ErrUnsupported)
}

// Name returns "iocp".
func (*Backend) Name() string { return "iocp" }

// NewParker panics: no Backend can be created on this GOOS, so a call means
// the caller built one by hand instead of with New.
func (*Backend) NewParker() core.Parker {
	panic("iocp: NewParker on GOOS=" + runtime.GOOS + ": the backend works only on Windows; create it with New and check its error")
}

// Close does nothing and returns nil.
func (*Backend) Close() error { return nil }

var _ core.Backend = (*Backend)(nil)

// A WordWaiter waits on words in shared memory through the completion port;
// on this GOOS every call fails with an error satisfying
// errors.Is(err, errors.ErrUnsupported).
type WordWaiter struct{}

// WordWaiter returns a WordWaiter whose calls fail: no Backend exists here.
func (*Backend) WordWaiter() *WordWaiter { return &WordWaiter{} }

var errNoWordWaiter = fmt.Errorf("iocp: WordWaiter: named events and completion ports exist only on Windows, this is GOOS=%s: %w",
	runtime.GOOS, errors.ErrUnsupported)

// AddRegion fails with an error satisfying errors.Is(err, errors.ErrUnsupported).
func (*WordWaiter) AddRegion(string, []byte) error { return errNoWordWaiter }

// RemoveRegion does nothing.
func (*WordWaiter) RemoveRegion([]byte) {}

// Wait fails with an error satisfying errors.Is(err, errors.ErrUnsupported).
func (*WordWaiter) Wait(context.Context, *atomic.Uint32, uint32) error { return errNoWordWaiter }

// Wake fails with an error satisfying errors.Is(err, errors.ErrUnsupported).
func (*WordWaiter) Wake(*atomic.Uint32, int) error { return errNoWordWaiter }
