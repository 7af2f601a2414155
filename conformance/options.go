package conformance

import (
	"fmt"
	"math"
	"strings"

	"github.com/compio-sync/gosync/core"
)

// An Option tells [RunSemaphore] (or [Run]) what the implementation under
// test is like: how slow its operations are, which errors and panics it uses,
// and which families cannot apply to it.
type Option func(*options)

// options is what the Options of one run declared.
type options struct {
	scale       float64
	skips       []skip
	errClosed   error
	errTooLarge error
	panicPrefix string
	limit       int64
	ignore      []string
	forceShort  bool
}

type skip struct{ name, reason string }

func defaultOptions() options {
	return options{
		scale:       1,
		errClosed:   core.ErrClosed,
		errTooLarge: core.ErrTooLarge,
		panicPrefix: "core:",
		limit:       core.MaxPermitsLimit,
	}
}

func buildOptions(opts []Option) options {
	o := defaultOptions()
	for _, opt := range opts {
		if opt == nil {
			panic("conformance: nil Option")
		}
		opt(&o)
	}
	return o
}

// TimeScale multiplies every time bound of the suite by f: the windows in
// which a call that must block is watched ("blocks", 20 ms times f), the
// bound on each wait that a correct implementation ends quickly (a queued
// waiter being served, a waiter joining the queue: 3 s times f, after which
// the subtest fails as hung), the deadlines of the contexts the workloads
// cancel, the polling intervals, the leak check's grace and the per-subtest
// watchdog (2 minutes times f, at most 10 minutes). The default, 1, suits an
// in-process semaphore whose handoff takes microseconds; an implementation
// whose every operation is a network round trip declares how many times
// slower it is, for example TimeScale(100) for an etcd cluster on loopback
// (a round trip of about a millisecond). A larger f never makes a correct
// implementation fail; it makes a broken one take longer to be named (a
// hung wait costs 3 s times f), so choose the smallest f that the
// implementation passes reliably.
//
// TimeScale panics with a message starting "conformance:" if f is not a
// finite number of at least 1.
func TimeScale(f float64) Option {
	if !(f >= 1) || math.IsInf(f, 0) {
		panic(fmt.Sprintf("conformance: TimeScale(%v), want a finite factor >= 1", f))
	}
	return func(o *options) { o.scale = f }
}

// Skip declares that a family ("FastPath") or one subtest
// ("Arguments/NegativeNPanics") cannot apply to the implementation, and why.
// The suite still registers it and reports it as skipped with the reason
// (--- SKIP in go test -v output), so that a reader of the test log sees
// every check that did not run. For example, an etcd-backed semaphore
// allocates on every call and declares
//
//	conformance.Skip("FastPath", "every Acquire is an etcd transaction; allocation-free fast paths do not apply")
//
// Skip panics with a message starting "conformance:" if name or reason is
// empty.
func Skip(name, reason string) Option {
	if name == "" || reason == "" {
		panic(fmt.Sprintf("conformance: Skip(%q, %q), want a family or Family/Subtest name and a reason", name, reason))
	}
	return func(o *options) { o.skips = append(o.skips, skip{strings.Trim(name, "/"), reason}) }
}

// Errors declares the errors the implementation's AcquireN fails with when
// the semaphore is closed and when a request exceeds its maximum. The suite
// accepts a failure when errors.Is(err, closed) (or errors.Is(err,
// tooLarge)) holds, so wrapped errors are fine. Without this option they are
// core.ErrClosed and core.ErrTooLarge: an implementation may also return its
// own errors that wrap those, or that match them through an Is method.
//
// Errors panics with a message starting "conformance:" if either is nil.
func Errors(closed, tooLarge error) Option {
	if closed == nil || tooLarge == nil {
		panic("conformance: Errors(closed, tooLarge) with a nil error")
	}
	return func(o *options) { o.errClosed, o.errTooLarge = closed, tooLarge }
}

// PanicPrefix declares how the implementation's panic messages start (its
// package name and a colon, like the "core:" of core's). The Arguments and
// Resize families require the documented panics (a negative n, an
// over-release, a maximum beyond the limit) to start with it. The default is
// "core:".
func PanicPrefix(prefix string) Option {
	if prefix == "" {
		panic("conformance: PanicPrefix(\"\"), want the package's prefix, such as \"fleet:\"")
	}
	return func(o *options) { o.panicPrefix = prefix }
}

// PermitsLimit declares the largest maximum the implementation accepts:
// SetMaxPermits above it must panic, and a semaphore of exactly limit
// permits must work. The default is core.MaxPermitsLimit.
func PermitsLimit(limit int64) Option {
	if limit <= 0 {
		panic(fmt.Sprintf("conformance: PermitsLimit(%d), want a positive limit", limit))
	}
	return func(o *options) { o.limit = limit }
}

// IgnoreGoroutines tells the goroutine-leak check that follows every subtest
// to ignore goroutines with any of the named functions (package path and
// name, as in a stack trace: "go.etcd.io/etcd/client/v3.(*watchGrpcStream).run")
// anywhere in their stack. Use it only for goroutines a shared resource
// starts lazily and keeps for the rest of the test binary (a client's
// connection pool), never for ones that belong to a semaphore.
func IgnoreGoroutines(functions ...string) Option {
	return func(o *options) { o.ignore = append(o.ignore, functions...) }
}

// Short makes the suite use the load sizes and iteration counts of go test
// -short whatever the flag says: for an implementation whose operations take
// milliseconds, the full sizes (ten thousand handoffs in a row, and so on)
// take minutes. Like -short, it skips no correctness subtest.
func Short() Option {
	return func(o *options) { o.forceShort = true }
}

// skipReason returns why the subtest or family named path (relative to the
// Run or RunSemaphore call: "FIFO" or "FIFO/StrictOrder") was declared not to
// apply, or "" if it applies.
func (o *options) skipReason(path string) string {
	for _, s := range o.skips {
		if path == s.name || strings.HasPrefix(path, s.name+"/") {
			return s.reason
		}
	}
	return ""
}
