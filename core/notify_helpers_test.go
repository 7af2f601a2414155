package core_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/compio-sync/gosync/core"
)

// gateBackend's Parkers make the race between a wakeup and a cancellation
// deterministic: when ctx is done, Park prefers ctx.Err() (the Parker
// contract allows either outcome when both are ready), even over a token
// that arrived first, and first waits until the test opens the gate, so
// the test can deliver wakeups in between. The token an Unpark leaves
// stays pending, as the contract requires.
type gateBackend struct {
	gate chan struct{} // closed by the test to let cancelled Parks return
}

func newGateBackend() *gateBackend { return &gateBackend{gate: make(chan struct{})} }

func (*gateBackend) Name() string { return "gate" }

func (b *gateBackend) NewParker() core.Parker {
	return &gateParker{gate: b.gate, token: make(chan struct{}, 1)}
}

func (b *gateBackend) open() { close(b.gate) }

type gateParker struct {
	gate  chan struct{}
	token chan struct{}
}

func (p *gateParker) Park(ctx context.Context) error {
	select {
	case <-p.token:
		if ctx.Err() == nil {
			return nil
		}
		// ctx ended too, perhaps before this goroutine reached Park, so
		// the select saw both ready: keep the preference for ctx.Err()
		// and leave the token pending.
		p.Unpark()
	case <-ctx.Done():
	}
	<-p.gate
	return ctx.Err()
}

func (p *gateParker) Unpark() {
	select {
	case p.token <- struct{}{}:
	default:
	}
}

// failBackend's Parkers fail every Park with errBackendDown once ctx is done
// (standing in for a backend that fails or is closed), after waiting for
// the gate like gateBackend's.
type failBackend struct{ gateBackend }

var errBackendDown = errors.New("backend down")

func (b *failBackend) NewParker() core.Parker {
	return failParker{b.gateBackend.NewParker().(*gateParker)}
}

type failParker struct{ *gateParker }

func (p failParker) Park(ctx context.Context) error {
	if err := p.gateParker.Park(ctx); err != nil {
		return errBackendDown
	}
	return nil
}

// lockTracker is a sync.Locker that records whether it is held, so a test
// can check that Cond.Wait holds it again when it returns.
type lockTracker struct {
	mu   sync.Mutex
	held atomic.Bool
}

func (l *lockTracker) Lock() {
	l.mu.Lock()
	l.held.Store(true)
}

func (l *lockTracker) Unlock() {
	l.held.Store(false)
	l.mu.Unlock()
}

// asyncErr runs f on a new goroutine and returns the channel its error
// arrives on.
func asyncErr(f func() error) <-chan error {
	c := make(chan error, 1)
	go func() { c <- f() }()
	return c
}

// awaitErr waits for an asynchronous result, failing the test after a
// watchdog instead of hanging.
func awaitErr(t *testing.T, what string, c <-chan error) error {
	t.Helper()
	select {
	case err := <-c:
		return err
	case <-time.After(10 * time.Second):
		t.Fatalf("watchdog: %s did not return within 10s", what)
		return nil
	}
}

// blocked reports whether c stays empty for a short window (a check that a
// call is still parked; it cannot fail a correct implementation, only miss
// a wrong wakeup that comes later).
func blocked(c <-chan error) bool {
	select {
	case <-c:
		return false
	case <-time.After(20 * time.Millisecond):
		return true
	}
}

// nilParkerBackend breaks the Backend contract by returning nil Parkers.
type nilParkerBackend struct{}

func (nilParkerBackend) Name() string           { return "nil-parker" }
func (nilParkerBackend) NewParker() core.Parker { return nil }

// mustPanicCore fails the test unless f panics with a message starting
// "core:".
func mustPanicCore(t *testing.T, call string, f func()) {
	t.Helper()
	msg := func() (msg any) {
		defer func() { msg = recover() }()
		f()
		return nil
	}()
	if s, ok := msg.(string); !ok || !strings.HasPrefix(s, "core:") {
		t.Errorf("%s panicked with %v, want a message starting \"core:\"", call, msg)
	}
}
