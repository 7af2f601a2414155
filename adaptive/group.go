package adaptive

import (
	"context"
	"fmt"
	"sync"

	"github.com/compio-sync/gosync/core"
)

// A Group runs functions, each holding a weight of permits of a
// core.Semaphore while it runs, and collects the first error, like
// golang.org/x/sync/errgroup with a weighted limit. Make one with
// NewGroup; a Group is safe for concurrent use, but Go calls from one
// goroutine are what make the FIFO order meaningful.
type Group struct {
	sem    *core.Semaphore
	ctx    context.Context
	cancel context.CancelCauseFunc
	wg     sync.WaitGroup
	once   sync.Once
	err    error
}

// NewGroup returns a Group whose functions take permits from sem, and the
// context they run with: it is derived from ctx and canceled when a
// function returns an error, when a Go gives up on its permits, or when
// Wait returns.
func NewGroup(ctx context.Context, sem *core.Semaphore) (*Group, context.Context) {
	if sem == nil {
		panic("adaptive: NewGroup with a nil semaphore")
	}
	ctx, cancel := context.WithCancelCause(ctx)
	return &Group{sem: sem, ctx: ctx, cancel: cancel}, ctx
}

// Go waits, in the semaphore's FIFO order, for weight permits, then runs
// f(ctx) in a new goroutine with them and releases them when f returns.
// A Go returns as soon as f has started, or as soon as it gave up. The
// queue is strict FIFO: a light Go queued behind a heavy one waits for it,
// so Go calls made one after another from one goroutine start in that
// order.
//
// Go gives up, without running f and holding nothing, when the group's
// context ends while it waits or before f would start (after another function's error, or the
// parent context's end), or when the semaphore refuses the request (closed,
// weight larger than its maximum, queue full). The first failure, of Go or
// of any f, is the one Wait returns, and it cancels the group's context;
// a Go that gives up because that context already ended records nothing
// new, except when it ended from the parent: then the error is the
// parent's context.Cause. Go panics with a message starting "adaptive:" if
// weight < 1 or f is nil.
func (g *Group) Go(weight int, f func(ctx context.Context) error) {
	if weight < 1 {
		panic(fmt.Sprintf("adaptive: Group.Go(%d, f): weight must be at least 1", weight))
	}
	if f == nil {
		panic("adaptive: Group.Go with a nil function")
	}
	p, err := g.sem.AcquireN(g.ctx, weight)
	if err == nil && g.ctx.Err() != nil {
		// Granted, but the context has ended too: a waiter that had not
		// parked yet when both the cancel and the grant came may be woken
		// by either. f must not start after a failure or a cancel, so the
		// permits go back.
		p.Release()
		err = g.ctx.Err()
	}
	if err != nil {
		// A failed AcquireN holds nothing (core's contract).
		if cause := context.Cause(g.ctx); cause != nil {
			err = cause
		}
		g.fail(err)
		return
	}
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		defer p.Release()
		if err := f(g.ctx); err != nil {
			g.fail(err)
		}
	}()
}

// fail records the first error and cancels the group's context with it.
func (g *Group) fail(err error) {
	g.once.Do(func() {
		g.err = err
		g.cancel(err)
	})
}

// Wait waits for every function Go started, cancels the group's context,
// and returns the first error of a function or of a Go that gave up, or
// nil if there was none. Every permit is back in the semaphore when Wait
// returns.
func (g *Group) Wait() error {
	g.wg.Wait()
	g.cancel(context.Canceled)
	g.once.Do(func() {}) // makes g.err's last write visible to this read
	return g.err
}
