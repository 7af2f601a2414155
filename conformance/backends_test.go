package conformance_test

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/compio-sync/gosync/core"
)

// This file holds the backends the suite is tested against: a correct but
// unusual one built on sync.Cond, which must pass, and a zoo of mutants,
// each breaking one clause of the Parker contract, which must fail.

// condBackend parks on a sync.Cond; context cancellation is delivered with
// context.AfterFunc, which broadcasts the Cond.
type condBackend struct{}

func (condBackend) Name() string { return "cond" }

func (condBackend) NewParker() core.Parker {
	p := &condParker{}
	p.cond.L = &p.mu
	return p
}

type condParker struct {
	mu    sync.Mutex
	cond  sync.Cond
	token bool
}

func (p *condParker) Park(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.token && ctx.Done() != nil {
		stop := context.AfterFunc(ctx, func() {
			p.mu.Lock()
			p.cond.Broadcast()
			p.mu.Unlock()
		})
		defer stop()
		for !p.token && ctx.Err() == nil {
			p.cond.Wait()
		}
	}
	for !p.token {
		if err := ctx.Err(); err != nil {
			return err
		}
		p.cond.Wait()
	}
	p.token = false
	return nil
}

func (p *condParker) Unpark() {
	p.mu.Lock()
	p.token = true
	p.cond.Signal()
	p.mu.Unlock()
}

// chanParker is the reference design the mutants distort: the token is the
// one element of a buffered channel.
type chanParker struct{ token chan struct{} }

func newChanParker() *chanParker { return &chanParker{token: make(chan struct{}, 1)} }

func (p *chanParker) Park(ctx context.Context) error {
	select {
	case <-p.token:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (p *chanParker) Unpark() {
	select {
	case p.token <- struct{}{}:
	default:
	}
}

// mutant is a Backend whose Parkers come from a function, so that each
// mutant is a few lines.
type mutant struct {
	name      string
	newParker func() core.Parker
}

func (m *mutant) Name() string           { return m.name }
func (m *mutant) NewParker() core.Parker { return m.newParker() }

// dropEveryN drops every nth Unpark of the backend.
func dropEveryN(n int64) core.Backend {
	var count atomic.Int64
	return &mutant{name: "drops-unparks", newParker: func() core.Parker {
		inner := newChanParker()
		return &funcParker{park: inner.Park, unpark: func() {
			if count.Add(1)%n == 0 {
				return
			}
			inner.Unpark()
		}}
	}}
}

// loseEarlyToken keeps a token only if a goroutine is inside Park.
func loseEarlyToken() core.Backend {
	return &mutant{name: "loses-early-token", newParker: func() core.Parker {
		inner := newChanParker()
		var parked atomic.Bool
		return &funcParker{
			park: func(ctx context.Context) error {
				parked.Store(true)
				defer parked.Store(false)
				return inner.Park(ctx)
			},
			unpark: func() {
				if parked.Load() {
					inner.Unpark()
				}
			},
		}
	}}
}

// spuriousNil returns nil without a token on every 5th Park.
func spuriousNil() core.Backend {
	return &mutant{name: "spurious-nil", newParker: func() core.Parker {
		inner := newChanParker()
		var calls atomic.Int64
		return &funcParker{
			park: func(ctx context.Context) error {
				if calls.Add(1)%5 == 0 {
					return nil
				}
				return inner.Park(ctx)
			},
			unpark: inner.Unpark,
		}
	}}
}

// ignoresCtx waits for a token whatever the context does.
func ignoresCtx() core.Backend {
	return &mutant{name: "ignores-ctx", newParker: func() core.Parker {
		inner := newChanParker()
		return &funcParker{
			park:   func(context.Context) error { <-inner.token; return nil },
			unpark: inner.Unpark,
		}
	}}
}

// swallowOnCancel returns ctx.Err() but also consumes a pending token.
func swallowOnCancel() core.Backend {
	return &mutant{name: "swallows-token-on-cancel", newParker: func() core.Parker {
		inner := newChanParker()
		return &funcParker{
			park: func(ctx context.Context) error {
				err := inner.Park(ctx)
				if err != nil {
					select {
					case <-inner.token: // the bug: the token goes with the error.
					default:
					}
				}
				return err
			},
			unpark: inner.Unpark,
		}
	}}
}

// wakesTwo expresses "one Unpark wakes two parkers" for a Parker-per-goroutine
// design: the backend keeps its Parkers in a registry, as a shared futex
// word or wait queue would, and an Unpark also leaves a token in another
// Parker that is parked at the time.
func wakesTwo() core.Backend {
	var mu sync.Mutex
	var all []*registered
	return &mutant{name: "wakes-two", newParker: func() core.Parker {
		r := &registered{chanParker: newChanParker()}
		mu.Lock()
		all = append(all, r)
		mu.Unlock()
		return &funcParker{
			park: func(ctx context.Context) error {
				r.parked.Add(1)
				defer r.parked.Add(-1)
				return r.Park(ctx)
			},
			unpark: func() {
				r.Unpark()
				mu.Lock()
				defer mu.Unlock()
				for _, o := range all {
					if o != r && o.parked.Load() > 0 {
						o.Unpark()
						return
					}
				}
			},
		}
	}}
}

type registered struct {
	*chanParker
	parked atomic.Int32
}

// delayWake delivers every token 50 ms after Unpark.
func delayWake() core.Backend {
	return &mutant{name: "delays-wakes", newParker: func() core.Parker {
		inner := newChanParker()
		return &funcParker{
			park:   inner.Park,
			unpark: func() { time.AfterFunc(50*time.Millisecond, inner.Unpark) },
		}
	}}
}

// leakGoroutine starts a helper goroutine per Parker that never exits.
func leakGoroutine() core.Backend {
	return &mutant{name: "leaks-goroutine", newParker: func() core.Parker {
		inner := newChanParker()
		never := make(chan struct{})
		go func() { <-never }()
		return inner
	}}
}

type funcParker struct {
	park   func(context.Context) error
	unpark func()
}

func (p *funcParker) Park(ctx context.Context) error { return p.park(ctx) }
func (p *funcParker) Unpark()                        { p.unpark() }
