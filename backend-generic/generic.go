// Package generic is the pure-Go backend for gosync's core.Semaphore. It
// works on every GOOS and is the default choice: its Parker parks a goroutine
// on a one-slot channel, so a wakeup is a goroutine handoff inside the Go
// scheduler (about 150 ns on a 2-core machine) and never a system call.
//
// Use it by passing New() to core.NewSemaphore:
//
//	sem := core.NewSemaphore(10, generic.New())
//
// Package semaphore, below this one, is a drop-in replacement for
// golang.org/x/sync/semaphore built on the same backend.
package generic

import (
	"context"

	"github.com/compio-sync/gosync/core"
)

// Backend is the pure-Go backend. Its zero value is ready to use and it is
// safe for concurrent use.
type Backend struct{}

// New returns the pure-Go backend. It never fails.
func New() *Backend { return &Backend{} }

// Name returns "generic".
func (*Backend) Name() string { return "generic" }

// NewParker returns a Parker with no token pending. Creating it allocates
// one channel; Park/Unpark cycles after that allocate nothing.
func (*Backend) NewParker() core.Parker { return make(parker, 1) }

// parker keeps its token as the one element a one-slot channel can hold: a
// send that finds the slot full is dropped, which coalesces Unparks, and a
// receive consumes the token. A channel send happens before the receive that
// completes, which gives the Parker contract's memory guarantee. Being a
// channel itself (not a struct holding one) keeps a parked waiter's memory
// to the channel alone.
type parker chan struct{}

// Park returns nil after consuming the token, or ctx.Err() if ctx ends first,
// leaving a later token in the channel. When both are ready, select picks
// one at random; either outcome is allowed by the contract.
func (p parker) Park(ctx context.Context) error {
	done := ctx.Done()
	if done == nil { // context.Background and friends can never end.
		<-p
		return nil
	}
	select {
	case <-p:
		return nil
	case <-done:
		return ctx.Err()
	}
}

// Unpark leaves the token unless one is already pending.
func (p parker) Unpark() {
	select {
	case p <- struct{}{}:
	default: // a token is pending: coalesce.
	}
}

var _ core.Backend = (*Backend)(nil)
