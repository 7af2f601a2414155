package conformance

import (
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/compio-sync/gosync/core"
)

// Watchdog durations. A subtest that runs longer than defaultWatchdog (times
// the TimeScale, at most maxWatchdog) is a hang that no bounded wait caught:
// the watchdog reports it with a goroutine dump, cancels the subtest's
// context and closes its semaphores so that the subtest can unwind. If it
// still has not returned after watchdogGrace, the watchdog prints the dump
// and panics, which ends the test binary the way `go test -timeout` would,
// but naming the subtest.
const (
	defaultWatchdog = 2 * time.Minute
	// maxWatchdog caps the scaled watchdog: a CI job has a time limit, and
	// a slow implementation's subtests are made short by Short, not by a
	// longer watchdog.
	maxWatchdog   = 10 * time.Minute
	watchdogGrace = 10 * time.Second
	// WatchdogEnv names the environment variable that overrides the
	// per-subtest watchdog, as a time.ParseDuration string (for example
	// "5m" for a very slow backend, or "10s" to make hangs cheap).
	watchdogEnv = "CONFORMANCE_WATCHDOG"
	// timeScaleEnv names the environment variable that multiplies the
	// TimeScale (1 under Run) for the machine rather than the
	// implementation: an emulator (QEMU user mode, Wine) or an overloaded
	// CI runner, where even an in-process handoff can take milliseconds.
	timeScaleEnv = "CONFORMANCE_TIMESCALE"
)

// suite is one Run or RunSemaphore: the factories, the declared options and
// the sizes chosen for this run.
type suite struct {
	options
	// root is the name of the test that called Run or RunSemaphore; Skip
	// names are relative to it.
	root string
	// newBackend is Run's factory; nil under RunSemaphore.
	newBackend func(t *testing.T) core.Backend
	// newSem returns a new semaphore for a subtest.
	newSem func(e *env, permits int) semaphore
	// fastPath runs the FastPath family: over core.Semaphore directly for
	// Run, through the typed Semaphore for RunSemaphore.
	fastPath func(e *env)
	watchdog time.Duration
	short    bool
}

func newSuite(o options) *suite {
	if v := os.Getenv(timeScaleEnv); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || !(f >= 1) || math.IsInf(f, 0) {
			panic(fmt.Sprintf("conformance: %s=%q is not a finite factor >= 1", timeScaleEnv, v))
		}
		o.scale *= f
	}
	s := &suite{options: o, watchdog: min(o.scaled(defaultWatchdog), maxWatchdog), short: testing.Short() || o.forceShort}
	if v := os.Getenv(watchdogEnv); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			panic(fmt.Sprintf("conformance: %s=%q is not a positive duration", watchdogEnv, v))
		}
		s.watchdog = d
	}
	return s
}

// A family is a group of subtests that runs as one t.Run, so that -run can
// select it ('TestConformance/FIFO').
type family struct {
	name  string
	tests func(s *suite, e *env)
	// runOnly marks a family that needs a core.Backend or core.Semaphore's
	// own API (a Parker, core's Options): Run runs it, RunSemaphore does not.
	runOnly bool
}

// runFamilies runs each family as a subtest of t, or reports it skipped with
// the reason a Skip option gave.
func (s *suite) runFamilies(t *testing.T, families []family) {
	t.Helper()
	s.root = t.Name()
	for _, f := range families {
		t.Run(f.name, func(t *testing.T) {
			if reason := s.skipReason(f.name); reason != "" {
				t.Skip(reason)
			}
			f.tests(s, &env{suite: s, t: t})
		})
	}
}

// size returns full, or short under testing.Short or the Short option. Only
// load sizes and iteration counts scale; no correctness subtest is ever
// skipped.
func (s *suite) size(full, short int) int {
	if s.short {
		return short
	}
	return full
}

// env is what one subtest body works with.
type env struct {
	*suite
	t *testing.T
	// b is the subtest's Backend under Run; nil under RunSemaphore.
	b core.Backend
	// ctx ends when a bounded wait or the watchdog finds a hang, or when
	// the subtest ends. Every blocking call in a subtest derives its context
	// from it, so that a hang unwinds.
	ctx    context.Context
	cancel context.CancelFunc
	// hangReported is set by the first hang reported in the subtest; the
	// waits after it return at once, because it cancels ctx.
	hangReported atomic.Bool

	mu      sync.Mutex
	closers []func()
}

// sem returns a new semaphore with permits permits from the run's factory
// (under Run, a core.Semaphore over the subtest's backend). It is closed when
// the subtest ends or its watchdog fires.
func (e *env) sem(permits int) semaphore {
	e.t.Helper()
	s := e.newSem(e, permits)
	e.onUnwind(s.Close)
	return s
}

// coreSem returns a core.Semaphore over the subtest's backend, configured
// by opts, for the subtests of Run that check core itself. It is closed like
// sem's.
func (e *env) coreSem(permits int, opts ...core.Option) *core.Semaphore {
	e.t.Helper()
	if e.b == nil {
		panic("conformance: coreSem outside Run (a subtest that checks core registered in a family RunSemaphore runs)")
	}
	s := core.NewSemaphore(permits, e.b, opts...)
	e.onUnwind(s.Close)
	return s
}

// onUnwind registers f to run when the subtest ends or its watchdog fires.
func (e *env) onUnwind(f func()) {
	e.mu.Lock()
	e.closers = append(e.closers, f)
	e.mu.Unlock()
}

// unwind cancels the subtest's context and closes its semaphores, so that
// every goroutine it started returns. It may be called more than once.
func (e *env) unwind() {
	e.cancel()
	e.closeSems()
}

func (e *env) closeSems() {
	e.mu.Lock()
	closers := e.closers
	e.mu.Unlock()
	for _, f := range closers {
		f()
	}
}

// parker returns a fresh Parker from the subtest's backend, failing the
// subtest if the backend returns nil.
func (e *env) parker() core.Parker {
	e.t.Helper()
	p := e.b.NewParker()
	if p == nil {
		e.t.Fatalf("%s: NewParker() = nil, want a Parker", e.b.Name())
	}
	return p
}

// run runs body as the subtest name of t, with a fresh backend (under Run),
// a watchdog and a goroutine-leak check; or reports it skipped if a Skip
// option names it.
func (s *suite) run(t *testing.T, name string, body func(e *env)) {
	t.Helper()
	t.Run(name, func(t *testing.T) {
		if reason := s.skipReason(strings.TrimPrefix(t.Name(), s.root+"/")); reason != "" {
			t.Skip(reason)
		}
		// Cleanups run last-registered first: the leak check runs after
		// the backend (and anything the factories registered) is closed.
		t.Cleanup(s.leakCheck(t))
		var b core.Backend
		if s.newBackend != nil {
			b = s.newBackend(t)
			if b == nil {
				t.Fatalf("newBackend returned nil, want a core.Backend")
			}
			if c, ok := b.(io.Closer); ok {
				t.Cleanup(func() {
					// Errors are CloseIsHarmlessTwice's business: here
					// the subtest may have closed the backend already.
					if err := c.Close(); err != nil {
						t.Logf("%s: Close() after the subtest = %v", b.Name(), err)
					}
				})
			}
		}
		ctx, cancel := context.WithCancel(context.Background())
		e := &env{suite: s, t: t, b: b, ctx: ctx, cancel: cancel}
		wd := startWatchdog(t, s.watchdog, e.unwind)
		defer func() {
			wd.stop()
			e.unwind()
		}()
		body(e)
	})
}

// watchdog turns a hang that no bounded wait caught into a failure with a
// goroutine dump. It is the last resort: every wait that should be quick has
// its own bound (see bounds.go).
type watchdog struct {
	timer *time.Timer
	done  chan struct{} // closed by stop
}

func startWatchdog(t *testing.T, d time.Duration, unwind func()) *watchdog {
	w := &watchdog{done: make(chan struct{})}
	name := t.Name()
	w.timer = time.AfterFunc(d, func() {
		select {
		case <-w.done:
			return
		default:
		}
		t.Errorf("watchdog: %s still running after %v: it hangs (a lost wakeup, an ignored context or a deadlock) in a wait the suite does not bound; goroutines:\n%s", name, d, allStacks())
		unwind()
		select {
		case <-w.done:
		case <-time.After(watchdogGrace):
			fmt.Fprintf(os.Stderr, "conformance: watchdog: %s still hung %v after its context was cancelled and its semaphores closed; goroutines:\n%s\n", name, watchdogGrace, allStacks())
			panic("conformance: watchdog: " + name + " hung and could not be unwound")
		}
	})
	return w
}

// stop disarms the watchdog; a watchdog that already fired returns at once.
func (w *watchdog) stop() {
	close(w.done)
	w.timer.Stop()
}

// allStacks returns the stacks of every goroutine.
func allStacks() []byte {
	buf := make([]byte, 1<<16)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return buf[:n]
		}
		buf = make([]byte, 2*len(buf))
	}
}
