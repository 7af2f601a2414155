package iocp_test

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"time"

	iocp "github.com/compio-sync/gosync/backend-iocp"
	"github.com/compio-sync/gosync/core"
)

// hangAfter is how long a step may block before the test calls it a hang.
// It is a watchdog, not a performance bound: a healthy run is far quicker
// even under Wine on a loaded machine.
const hangAfter = 60 * time.Second

// noTokenWait is how long a Park that must not return nil is given to do
// so. A slow machine can only make such a check pass vacuously, never fail.
const noTokenWait = 20 * time.Millisecond

// newBackend returns a Backend closed (with a nil error expected) when t
// ends.
func newBackend(t testing.TB, opts ...iocp.Option) *iocp.Backend {
	t.Helper()
	b, err := iocp.New(opts...)
	if err != nil {
		t.Fatalf("iocp.New() = %v", err)
	}
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Errorf("Close() = %v, want nil", err)
		}
	})
	return b
}

// dumpGoroutines returns the stacks of all goroutines, for hang reports.
func dumpGoroutines() string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return string(buf[:n])
		}
		buf = make([]byte, 2*len(buf))
	}
}

// within waits for ch to deliver a value and returns it, failing t with a
// goroutine dump if that takes longer than hangAfter.
func within[T any](t testing.TB, what string, ch <-chan T) T {
	t.Helper()
	timer := time.NewTimer(hangAfter)
	defer timer.Stop()
	select {
	case v := <-ch:
		return v
	case <-timer.C:
		t.Fatalf("%s: still blocked after %v (hang); goroutines:\n%s", what, hangAfter, dumpGoroutines())
		panic("unreachable")
	}
}

// parkAsync starts Park(ctx) in a goroutine and returns a channel that
// receives its result.
func parkAsync(ctx context.Context, p core.Parker) <-chan error {
	ch := make(chan error, 1)
	go func() { ch <- p.Park(ctx) }()
	return ch
}

// mustPark requires Park(Background) to return nil, under a watchdog.
func mustPark(t testing.TB, p core.Parker) {
	t.Helper()
	if err := within(t, "Park with a token pending", parkAsync(context.Background(), p)); err != nil {
		t.Fatalf("Park() = %v, want nil (a token was pending)", err)
	}
}

// mustHaveNoToken requires a Park with a short deadline to return
// context.DeadlineExceeded: a nil would mean a token that should not exist.
func mustHaveNoToken(t testing.TB, p core.Parker) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), noTokenWait)
	defer cancel()
	if err := within(t, "Park with a deadline", parkAsync(ctx, p)); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Park(ctx with deadline) = %v, want context.DeadlineExceeded (no token should be pending)", err)
	}
}
