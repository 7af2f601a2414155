package main

import (
	"context"
	"fmt"
	"time"

	"github.com/compio-sync/gosync/adaptive"
	generic "github.com/compio-sync/gosync/backend-generic"
	"github.com/compio-sync/gosync/core"
	"github.com/failsafe-go/failsafe-go/adaptivelimiter"
)

// How an admitted request ended, as its caller tells its limiter.
type ending int

const (
	endSucceeded ending = iota // the service answered in time
	endTimedOut                // the service returned ErrServiceTimeout
	endAbandoned               // the caller's deadline passed first
)

// A gate admits requests: acquire waits for a place and returns the
// function that ends the request, or an error when the request is refused
// (shed at once, or its deadline passed while it queued), holding nothing.
type gate interface {
	acquire(ctx context.Context) (end func(ending), err error)
	limit() int
}

// A contender is a named way to build a gate for one cell.
type contender struct {
	name  string
	ours  bool // one of the adaptive module's algorithms: the claims speak for these
	build func(s settings) gate
}

// failsafeName is the peer the claims compare our algorithms with.
const failsafeName = "failsafe-go"

// adaptive reports whether c sets its limit itself: ours and failsafe-go,
// which run every count of a load (a fixed limit runs once).
func (c contender) adaptive() bool { return c.ours || c.name == failsafeName }

// settings are what a contender may know about the service, as its user
// would: the base latency (the round trip they see unloaded) and the
// capacity they used to configure by hand.
type settings struct {
	base     time.Duration
	capacity int
}

// maxWait is the longest the adaptive contenders, ours and failsafe-go's,
// let a request wait for a place: a tenth of the base latency, the same
// for both.
func (s settings) maxWait() time.Duration { return s.base / 10 }

// contenders returns every contender, in report order. The configuration
// of each is what a user who knows the base latency and the nominal
// capacity would choose; docs are in README.md.
func contenders(s settings) []contender {
	high, low := 4*s.capacity, max(1, s.capacity/2)
	return []contender{
		{fmt.Sprintf("fixed-%d", high), false, func(settings) gate { return newFixed(high) }},
		{fmt.Sprintf("fixed-%d", low), false, func(settings) gate { return newFixed(low) }},
		{"aimd", true, func(s settings) gate {
			// AIMD learns only from drops: it is told that a response slower
			// than 1.2x the base latency is one, as a user with a latency
			// objective would (the default, 5 s, only catches failures).
			return newOurs(s, adaptive.AIMD(adaptive.AIMDTimeout(s.base*6/5)))
		}},
		{"vegas", true, func(s settings) gate { return newOurs(s, adaptive.Vegas()) }},
		{"gradient2", true, func(s settings) gate { return newOurs(s, adaptive.Gradient2()) }},
		{failsafeName, false, newFailsafe},
	}
}

// fixedGate is a core.Semaphore with a fixed maximum and no queue bound:
// what a user has today. A queued Acquire gives up at the caller's deadline.
type fixedGate struct{ sem *core.Semaphore }

func newFixed(n int) gate { return fixedGate{core.NewSemaphore(n, generic.New())} }

func (f fixedGate) acquire(ctx context.Context) (func(ending), error) {
	p, err := f.sem.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	return func(ending) { p.Release() }, nil
}

func (f fixedGate) limit() int { return f.sem.MaxPermits() }

// oursGate is an adaptive.Limiter on a core.Semaphore, configured as
// docs/adaptive.md advises: the algorithm Windowed with a window of half
// to one base latency; limits from 8 to 512 starting at the nominal
// capacity (a user replacing a fixed limit starts from it); a queue of at
// most a tenth of the limit; deadline shedding; and each Acquire waiting
// at most a tenth of the base latency, through a context with that
// timeout (failsafe-go's configuration below waits as long). The wait
// bound is what keeps the p99 of admitted work near the unloaded
// latency: a service whose requests all take about as long keeps the
// starts of a full limit in lockstep, so permits come back in bursts a
// round trip apart, and even a short queue can wait most of a round trip
// between two bursts (without the bound, the settled p99 was 1.5x to 2x
// the unloaded latency, with 2 to 7 requests queued ahead of the slowest).
type oursGate struct {
	l       *adaptive.Limiter
	maxWait time.Duration
}

func newOurs(s settings, alg adaptive.Algorithm) gate {
	sem := core.NewSemaphore(s.capacity, generic.New())
	return oursGate{adaptive.New(sem, adaptive.Windowed(alg, adaptive.WindowTime(s.base/2, s.base)),
		adaptive.WithLimits(8, 512, s.capacity), adaptive.WithMaxQueue(0.1), adaptive.WithDeadlineShedding()), s.maxWait()}
}

func (o oursGate) acquire(ctx context.Context) (func(ending), error) {
	// The wait bound: a context of its own, so that deadline shedding
	// also sees it and refuses at once a request it could not grant
	// within it.
	wctx, cancel := context.WithTimeout(ctx, o.maxWait)
	tok, err := o.l.Acquire(wctx)
	cancel()
	if err != nil {
		return nil, err
	}
	return func(e ending) {
		if e == endSucceeded {
			tok.Success()
		} else {
			tok.Drop() // a timeout, the service's or the caller's: overload
		}
	}, nil
}

func (o oursGate) limit() int { return o.l.Limit() }

// failsafeGate is failsafe-go's adaptive limiter, used as its executor
// uses it: AcquirePermitWithMaxWait with the configured maximum wait, then
// Record, or Drop when the caller's context ended. Its configuration
// mirrors ours: the same limits, a recent window of half to one base
// latency with at least 10 samples, and a wait of at most a tenth of the
// base latency (its queue is bounded in time; WithQueueing cannot bound it
// below the limit).
type failsafeGate struct {
	l       adaptivelimiter.AdaptiveLimiter[any]
	maxWait time.Duration
}

func newFailsafe(s settings) gate {
	l := adaptivelimiter.NewBuilder[any]().
		WithLimits(8, 512, uint(s.capacity)).
		WithRecentWindow(s.base/2, s.base, 10).
		WithMaxWaitTime(s.maxWait()).
		Build()
	return failsafeGate{l, s.maxWait()}
}

func (f failsafeGate) acquire(ctx context.Context) (func(ending), error) {
	p, err := f.l.AcquirePermitWithMaxWait(ctx, f.maxWait)
	if err != nil {
		return nil, err
	}
	return func(e ending) {
		if e == endAbandoned {
			p.Drop()
		} else {
			p.Record()
		}
	}, nil
}

func (f failsafeGate) limit() int { return f.l.Limit() }
