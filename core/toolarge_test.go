package core_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/compio-sync/gosync/core"
)

// tooLargeCall is one call of a WithTooLarge function, with what the
// Semaphore looked like from inside it.
type tooLargeCall struct {
	ctx              context.Context
	n                int
	inUse, waiting   int
	fitsWhileRunning bool // a fitting AcquireN succeeded while f ran
}

// blockingTooLarge returns a WithTooLarge option whose function records
// each call (with *s's InUse and Waiting, and whatever look adds, if not
// nil), sends it on calls, waits until proceed is closed and returns err.
func blockingTooLarge(s **core.Semaphore, err error, look func(*tooLargeCall)) (opt core.Option, calls <-chan tooLargeCall, proceed chan struct{}) {
	ch := make(chan tooLargeCall, 1)
	proceed = make(chan struct{})
	opt = core.WithTooLarge(func(ctx context.Context, n int) error {
		c := tooLargeCall{ctx: ctx, n: n, inUse: (*s).InUse(), waiting: (*s).Waiting()}
		if look != nil {
			look(&c)
		}
		ch <- c
		<-proceed
		return err
	})
	return opt, ch, proceed
}

// TestWithTooLargeRunsHoldingNothing checks WithTooLarge's function for a
// request above MaxPermits: it gets the caller's ctx and n, runs holding
// no permit and outside the queue (a fitting Acquire succeeds meanwhile),
// and its error is AcquireN's, with a zero Permit.
func TestWithTooLargeRunsHoldingNothing(t *testing.T) {
	defer watchdog(t, 30*time.Second)()
	errDoomed := errors.New("doomed")
	var s *core.Semaphore
	tooLarge, calls, proceed := blockingTooLarge(&s, errDoomed, func(c *tooLargeCall) {
		if p, err := s.AcquireN(context.Background(), 2); err == nil {
			c.fitsWhileRunning = true
			p.Release()
		}
	})
	s = core.NewSemaphore(2, chanBackend{}, core.WithObserver(&recorder{}), tooLarge)
	type ctxKey struct{}
	ctx := context.WithValue(context.Background(), ctxKey{}, "caller's")
	done := make(chan error, 1)
	var got core.Permit
	go func() {
		var err error
		got, err = s.AcquireN(ctx, 3)
		done <- err
	}()
	c := <-calls
	if c.ctx.Value(ctxKey{}) != "caller's" || c.n != 3 {
		t.Errorf("f got ctx %v and n %d, want the caller's ctx and 3", c.ctx, c.n)
	}
	if c.inUse != 0 || c.waiting != 0 || !c.fitsWhileRunning {
		t.Errorf("inside f: InUse %d, Waiting %d, a fitting AcquireN succeeded: %v; want 0, 0, true",
			c.inUse, c.waiting, c.fitsWhileRunning)
	}
	close(proceed)
	if err := <-done; err != errDoomed {
		t.Errorf("AcquireN(3) of 2 = %v, want f's error", err)
	}
	if got != (core.Permit{}) {
		t.Errorf("AcquireN(3) of 2 returned %+v, want a zero Permit", got)
	}
	if st := s.AcquireStats(); st.Count(core.AcquireTooLarge) != 1 {
		t.Errorf("AcquireStats counts %d too-large outcomes, want 1", st.Count(core.AcquireTooLarge))
	}
	if in, av := s.InUse(), s.AvailablePermits(); in != 0 || av != 2 {
		t.Errorf("after: InUse %d, Available %d, want 0 and 2", in, av)
	}
}

// TestWithTooLargeNilMeansErrTooLarge checks that a function returning nil
// cannot make AcquireN succeed: the caller gets ErrTooLarge, as without
// the option.
func TestWithTooLargeNilMeansErrTooLarge(t *testing.T) {
	called := 0
	s := core.NewSemaphore(1, chanBackend{}, core.WithTooLarge(func(context.Context, int) error {
		called++
		return nil
	}))
	p, err := s.AcquireN(context.Background(), 2)
	if !errors.Is(err, core.ErrTooLarge) || p != (core.Permit{}) || called != 1 {
		t.Errorf("AcquireN(2) of 1 = %+v, %v after %d calls of f; want a zero Permit, ErrTooLarge, 1 call", p, err, called)
	}
	// A request that fits never calls f.
	q, err := s.AcquireN(context.Background(), 1)
	if err != nil || called != 1 {
		t.Fatalf("AcquireN(1) of 1 = %v after %d calls of f, want nil and still 1", err, called)
	}
	q.Release()
}

// TestWithTooLargeAfterShrink checks a queued waiter that SetMaxPermits
// fails as too large: it calls the function after it has left the queue,
// so the waiters behind it are served meanwhile.
func TestWithTooLargeAfterShrink(t *testing.T) {
	defer watchdog(t, 30*time.Second)()
	errDoomed := errors.New("doomed")
	var s *core.Semaphore
	tooLarge, calls, proceed := blockingTooLarge(&s, errDoomed, nil)
	s = core.NewSemaphore(4, chanBackend{}, tooLarge)
	bg := context.Background()
	held, _ := s.TryAcquireN(3)
	big := make(chan error, 1)
	go func() { _, err := s.AcquireN(bg, 4); big <- err }()
	waitFor(t, "big waiter", func() bool { return s.Waiting() == 1 })
	small := make(chan error, 1)
	go func() {
		p, err := s.AcquireN(bg, 1)
		p.Release()
		small <- err
	}()
	waitFor(t, "small waiter", func() bool { return s.Waiting() == 2 })
	s.SetMaxPermits(2)
	c := <-calls
	if c.n != 4 || c.inUse != 3 {
		t.Errorf("f after the shrink: n %d, InUse %d, want 4 and 3", c.n, c.inUse)
	}
	held.Release() // serves the small waiter while f still runs
	if err := <-small; err != nil {
		t.Errorf("the waiter behind the failed one = %v, want nil", err)
	}
	close(proceed)
	if err := <-big; err != errDoomed {
		t.Errorf("queued AcquireN(4) after the shrink to 2 = %v, want f's error", err)
	}
	if in, av := s.InUse(), s.AvailablePermits(); in != 0 || av != 2 {
		t.Errorf("after: InUse %d, Available %d, want 0 and 2", in, av)
	}
}

func TestWithTooLargeNilPanics(t *testing.T) {
	defer func() {
		if r := recover(); r != "core: WithTooLarge with a nil function" {
			t.Errorf("WithTooLarge(nil) panicked with %v", r)
		}
	}()
	core.WithTooLarge(nil)
}
