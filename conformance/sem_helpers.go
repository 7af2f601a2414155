package conformance

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"
)

// pollInterval is how often the suite polls a condition (Waiting() reaching
// a count, say), scaled by TimeScale: an implementation whose Waiting is a
// network read is polled less often.
const pollInterval = 50 * time.Microsecond

// result is what an asynchronous AcquireN returned.
type result struct {
	p   Permit
	err error
}

// acquireAsync starts AcquireN(ctx, n) on a new goroutine and returns the
// channel its result arrives on.
func acquireAsync(ctx context.Context, s semaphore, n int) <-chan result {
	c := make(chan result, 1)
	go func() {
		p, err := s.AcquireN(ctx, n)
		c <- result{p, err}
	}()
	return c
}

// enqueue starts AcquireN(ctx, n) and waits until it is queued, so that
// waiters queue in a known order. It returns false if the call returned
// instead of queueing, or did not queue within the bound (both reported),
// or if the subtest's context ended first.
func (e *env) enqueue(ctx context.Context, s semaphore, n int) (<-chan result, bool) {
	e.t.Helper()
	before := s.Waiting()
	c := acquireAsync(ctx, s, n)
	ok := untilQueued(e, fmt.Sprintf("AcquireN(ctx, %d)", n), s.Waiting, before, c, func(r result) {
		e.t.Errorf("AcquireN(ctx, %d) with %d permits available and %d waiting = (Permit{%d}, %v), want it to queue", n, s.AvailablePermits(), before, r.p.Count(), r.err)
	})
	return c, ok
}

// await waits for an asynchronous result that should come at once; ok is
// false if it did not come within the bound (reported as a hang) or the
// subtest's context ended first. The Permit of a missing result is empty.
func (e *env) await(c <-chan result) (r result, ok bool) {
	e.t.Helper()
	if r, ok = recv(e, c, "an AcquireN that should have returned"); !ok {
		r.p = noPermit{}
	}
	return r, ok
}

// stillBlocked reports whether c has no result within blockWindow (scaled by
// TimeScale); a result that does arrive is returned for the failure message.
func (e *env) stillBlocked(c <-chan result) (result, bool) {
	select {
	case r := <-c:
		return r, false
	case <-time.After(e.scaled(blockWindow)):
		return result{p: noPermit{}}, true
	}
}

// waitUntil polls cond until it holds; false if it does not within the
// bound (reported as a hang of what) or the subtest's context ended first.
func (e *env) waitUntil(what string, cond func() bool) bool {
	e.t.Helper()
	deadline := time.Now().Add(e.bound())
	for !cond() {
		select {
		case <-e.ctx.Done():
			return false
		case <-time.After(e.scaled(pollInterval)):
		}
		if time.Now().After(deadline) {
			e.hung(fmt.Sprintf("%s: not after %v", what, e.bound()))
			return false
		}
	}
	return true
}

// counts is a snapshot of a Semaphore's introspection, for got/want
// comparisons.
type counts struct {
	Max, InUse, Available, Waiting int
}

func countsOf(s semaphore) counts {
	return counts{Max: s.MaxPermits(), InUse: s.InUse(), Available: s.AvailablePermits(), Waiting: s.Waiting()}
}

func (c counts) String() string {
	return fmt.Sprintf("{Max %d, InUse %d, Available %d, Waiting %d}", c.Max, c.InUse, c.Available, c.Waiting)
}

// checkCounts fails the subtest if s's introspection is not want.
//
// After a hang has unwound the subtest (its context is done) the counts are
// whatever the unwinding left, so it checks nothing and returns false.
func (e *env) checkCounts(s semaphore, what string, want counts) bool {
	e.t.Helper()
	if e.ctx.Err() != nil {
		return false
	}
	if got := countsOf(s); got != want {
		e.t.Errorf("%s: counts = %v, want %v", what, got, want)
		return false
	}
	return true
}

// mustPanic runs f and fails the subtest unless it panics with a message
// starting with the implementation's prefix ("core:" unless PanicPrefix says
// otherwise).
func (e *env) mustPanic(call string, f func()) {
	e.t.Helper()
	msg := func() (msg any) {
		defer func() { msg = recover() }()
		f()
		return nil
	}()
	if msg == nil {
		e.t.Errorf("%s did not panic, want a panic starting %q", call, e.panicPrefix)
		return
	}
	if s := fmt.Sprint(msg); !strings.HasPrefix(s, e.panicPrefix) {
		e.t.Errorf("%s panicked with %q, want a message starting %q", call, s, e.panicPrefix)
	}
}

// permitsLimit returns the implementation's PermitsLimit as an int, capped by
// int's range where int is 32 bits.
func (e *env) permitsLimit() int { return int(min(e.limit, math.MaxInt)) }

// overLimit returns the smallest int above the implementation's
// PermitsLimit, or false where int cannot hold one (32-bit platforms), so
// that the panic checks run wherever they can.
func (e *env) overLimit() (int, bool) {
	if e.limit >= math.MaxInt {
		return 0, false
	}
	return int(e.limit + 1), true
}
