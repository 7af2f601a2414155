package adaptive_test

import (
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	generic "github.com/compio-sync/gosync/backend-generic"
	"github.com/compio-sync/gosync/core"
)

// TestMain fails the run if any test leaves a goroutine behind (a Token's
// waiter, a Group's function, a simulation's reader).
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func newSem(permits int) *core.Semaphore { return core.NewSemaphore(permits, generic.New()) }

// within runs f and fails the test, naming what hung and dumping every
// goroutine, if f has not returned after d.
func within(t *testing.T, d time.Duration, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
	case <-time.After(d):
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		t.Fatalf("%s did not finish within %v; goroutines:\n%s", what, d, buf)
	}
}

// mustPanic runs f and returns its panic message, failing the test if f
// does not panic or the message does not start with "adaptive:".
func mustPanic(t *testing.T, what string, f func()) string {
	t.Helper()
	var msg any
	func() {
		defer func() { msg = recover() }()
		f()
	}()
	if msg == nil {
		t.Fatalf("%s did not panic", what)
	}
	s, _ := msg.(string)
	if !strings.HasPrefix(s, "adaptive:") {
		t.Fatalf("%s panicked with %v, want a message starting \"adaptive:\"", what, msg)
	}
	return s
}

// fakeClock is a virtual clock for WithClock. It starts an hour after the
// wall clock, so context deadlines set from it are in the wall clock's
// future and never fire by themselves while a test runs.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Now().Add(time.Hour)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.Before(c.t) {
		panic("fakeClock went backwards")
	}
	c.t = t
}

func (c *fakeClock) Advance(d time.Duration) { c.Set(c.Now().Add(d)) }
