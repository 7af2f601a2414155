package conformance

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// waitBound is how long (times the TimeScale) the suite waits for something
// that a correct implementation does within microseconds: a queued waiter
// served after the Release that grants it, a waiter joining the queue, a
// Park returning after its Unpark, a ping-pong loop taking its next step. It
// is a hundred thousand times the expected time and a thousand times the
// worst scheduling delay seen on a loaded 2-core machine under the race
// detector, so a correct implementation does not trip it; a wait that runs
// past it is a hang (almost always a lost wakeup), reported at once by name
// instead of by the watchdog minutes later. A hung subtest costs about this
// long, and a backend that loses wakeups hangs ten to twenty subtests, which
// is what keeps a whole Run against it under two minutes.
const waitBound = 3 * time.Second

// hangHint is what a bounded wait that expired most likely means.
const hangHint = "a lost wakeup (an Unpark dropped, or a token lost because Unpark came before Park), a grant that never came, or an ignored ctx"

// bound returns the run's waitBound.
func (e *env) bound() time.Duration { return e.scaled(waitBound) }

// hung reports that what did not happen within the bound and unwinds the
// subtest (cancels its context, closes its semaphores), so that every wait
// after it returns at once; only the first hang of a subtest is reported.
func (e *env) hung(what string) {
	e.t.Helper()
	if e.hangReported.CompareAndSwap(false, true) {
		e.t.Errorf("%s; want it within microseconds. It hangs: %s. The subtest is cut short.", what, hangHint)
		e.unwind()
	}
}

// recv receives from c, waiting at most the bound. ok is false if the
// subtest's context ended first or the bound expired, which it reports as
// a hang of what.
func recv[T any](e *env, c <-chan T, what string) (v T, ok bool) {
	e.t.Helper()
	t := time.NewTimer(e.bound())
	defer t.Stop()
	select {
	case v = <-c:
		return v, true
	case <-e.ctx.Done():
		return v, false
	case <-t.C:
		e.hung(fmt.Sprintf("%s: nothing after %v", what, e.bound()))
		return v, false
	}
}

// goAll runs f(i) for i in [0, n) on n goroutines and waits for all of
// them. f calls tick each time it makes progress (an operation completed);
// if none of them does for the bound, goAll reports a hang of what and
// unwinds the subtest, and f's blocking calls, which use e.ctx, return.
func (e *env) goAll(n int, what string, f func(i int, tick func())) {
	e.t.Helper()
	tick, stop := e.guard(what)
	defer stop()
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { f(i, tick) })
	}
	wg.Wait()
}

// guard watches a loop that should make progress every few microseconds:
// the loop calls tick at each step, and if no tick comes for the bound,
// guard reports a hang of what and unwinds the subtest. stop ends the
// watch; call it before the subtest ends.
func (e *env) guard(what string) (tick func(), stop func()) {
	var steps atomic.Int64
	done := make(chan struct{})
	var wg sync.WaitGroup
	bound := e.bound()
	wg.Go(func() {
		check := time.NewTicker(bound / 10)
		defer check.Stop()
		last, since := steps.Load(), time.Now()
		for {
			select {
			case <-done:
				return
			case <-e.ctx.Done():
				return
			case now := <-check.C:
				if n := steps.Load(); n != last {
					last, since = n, now
				} else if idle := now.Sub(since); idle >= bound {
					e.hung(fmt.Sprintf("%s: no progress for %v after %d steps", what, idle.Round(time.Millisecond), n))
					return
				}
			}
		}
	})
	return func() { steps.Add(1) }, func() { close(done); wg.Wait() }
}

// acquire is AcquireN for a call that must succeed at once or after a quick
// handoff: it gives up after the bound and reports the hang, returning the
// context's error.
func (e *env) acquire(s semaphore, n int) (Permit, error) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(e.ctx, e.bound())
	defer cancel()
	p, err := s.AcquireN(ctx, n)
	if err != nil && ctx.Err() != nil && e.ctx.Err() == nil {
		e.hung(fmt.Sprintf("AcquireN(ctx, %d) = %v after %v", n, err, e.bound()))
	}
	return p, err
}

// quick returns a context that ends after the bound (or with the subtest),
// for a call that must return at once whatever it returns: one that blocks
// instead fails with DeadlineExceeded, which the caller's got/want check
// reports, rather than hanging.
func (e *env) quick() context.Context {
	ctx, cancel := context.WithTimeout(e.ctx, e.bound())
	e.onUnwind(cancel)
	return ctx
}

// untilQueued waits until waiting() exceeds before: a call started on
// another goroutine, whose result arrives on c, has joined a queue. If the
// call returns instead, returned reports it; if it has not queued within the
// bound, that is reported as a hang of what. ok is false in both cases and
// if the subtest's context ended first.
func untilQueued[T any](e *env, what string, waiting func() int, before int, c <-chan T, returned func(T)) bool {
	e.t.Helper()
	deadline := time.Now().Add(e.bound())
	for waiting() <= before {
		select {
		case r := <-c:
			returned(r)
			return false
		case <-e.ctx.Done():
			return false
		case <-time.After(e.scaled(pollInterval)):
		}
		if time.Now().After(deadline) {
			e.hung(fmt.Sprintf("%s with %d waiting: Waiting() still %d after %v, want it to queue", what, before, waiting(), e.bound()))
			return false
		}
	}
	return true
}

// waitGroup waits for wg, whose goroutines return once the subtest's
// context ends, at most the bound; false if they did not (reported as a
// hang of what) or the context ended first.
func (e *env) waitGroup(wg *sync.WaitGroup, what string) bool {
	e.t.Helper()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	_, ok := recv(e, done, what)
	if !ok {
		<-done // the unwind makes them return.
	}
	return ok
}
