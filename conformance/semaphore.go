package conformance

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/compio-sync/gosync/core"
)

// A Semaphore is what [RunSemaphore] checks: the method set of
// core.Semaphore (except its Acquire and TryAcquire shorthands and Backend),
// with P the implementation's permit type. *core.Semaphore is a
// Semaphore[core.Permit]; a fleet-wide or shared-memory semaphore with the
// same methods is one too, with its own permit type.
//
// Every method must keep the semantics core.Semaphore documents: strict
// FIFO with direct handoff, weighted requests, head-of-line blocking, ctx
// cancellation that strands no permit, Close, SetMaxPermits, the panics on
// bad arguments and exact introspection while quiescent.
type Semaphore[P any] interface {
	AcquireN(ctx context.Context, n int) (P, error)
	TryAcquireN(n int) (P, bool)
	Release(n int)
	TryRelease(n int) bool
	Close()
	Closed() bool
	SetMaxPermits(n int)
	MaxPermits() int
	InUse() int
	AvailablePermits() int
	Waiting() int
}

// A Permit is what the permit type P of a [Semaphore] must offer, through P
// itself (a pointer such as *fleet.Permit) or through *P (a value such as
// core.Permit, whose Release has a pointer receiver). Release returns the
// permits exactly once and empties the permit; releasing it again, or
// releasing the permit a failed call returned, does nothing. Count returns
// what it holds: what was acquired, or 0 after Release or on failure. A nil
// pointer P counts as empty.
type Permit interface {
	Release()
	Count() int
}

// RunSemaphore checks that the semaphores newSemaphore returns keep every
// semantic of core.Semaphore: the families FastPath, FIFO, Cancel,
// Arguments, Close, Resize, Permit, Load, Model and Linearizability of [Run],
// without the ones that concern a core.Backend (Parker, Latency, Backend).
// Call it from the implementation's own test:
//
//	func TestConformance(t *testing.T) {
//		conformance.RunSemaphore(t, func(t *testing.T, permits int) *fleet.Semaphore {
//			return openFleetSemaphore(t, permits) // a fresh semaphore, all permits free
//		}, conformance.TimeScale(100), conformance.Skip("FastPath", "every call is an etcd transaction"))
//	}
//
// The type arguments are inferred from newSemaphore's result type S.
//
// The factory and its obligations. RunSemaphore calls newSemaphore with the
// subtest's t and a maximum (0 or more, up to PermitsLimit) every time a
// subtest needs a semaphore, several times in some subtests. It must return a
// new, independent semaphore with permits permits, all free, and nobody
// waiting; it may use t.Cleanup, t.Skip (say why) or t.Fatal. The suite calls
// Close on every semaphore when the subtest ends.
//
// Errors. A failure is recognised with errors.Is: a closed semaphore's
// AcquireN must fail with an error e such that errors.Is(e, closed), and a
// request that exceeds the maximum with errors.Is(e, tooLarge), where closed
// and tooLarge are core.ErrClosed and core.ErrTooLarge unless the [Errors]
// option declares the implementation's own. So an implementation either
// declares its sentinel errors with Errors(ErrClosed, ErrTooLarge), or
// returns errors that wrap core's (fmt.Errorf("fleet: %w", core.ErrClosed))
// and needs no option. A done ctx must give ctx.Err() (possibly wrapped), as
// in core. Panics on bad arguments must start with the [PanicPrefix] (default
// "core:").
//
// Timing. Every time bound scales with the [TimeScale] the implementation
// declares; the default suits an in-process semaphore. Sizes follow go test
// -short, or the [Short] option.
//
// What does not apply. A family or subtest the implementation cannot keep is
// declared with [Skip] and reported as skipped with its reason, never dropped
// silently. FastPath checks that uncontended AcquireN + Release(n) and
// TryAcquireN + Release(n) allocate nothing, through the typed S (the
// permit is not converted), so it applies to an in-process implementation
// and is to be skipped for one whose calls do I/O.
//
// Each subtest has the harness of Run: a name selectable with -run
// ('TestConformance/FIFO/StrictOrder'), a bound on every wait that should be
// quick, a watchdog, and a goroutine-leak check when it ends (see
// [IgnoreGoroutines]). RunSemaphore must not run in parallel with other tests
// of the same binary. If P offers neither Release and Count nor a pointer
// receiver for them, RunSemaphore fails at once.
func RunSemaphore[S Semaphore[P], P any](t *testing.T, newSemaphore func(t *testing.T, permits int) S, opts ...Option) {
	t.Helper()
	if newSemaphore == nil {
		panic("conformance: RunSemaphore with a nil newSemaphore")
	}
	if err := checkPermitType[P](); err != nil {
		t.Fatal(err)
	}
	s := newSuite(buildOptions(opts))
	s.newSem = func(e *env, permits int) semaphore {
		sem := newSemaphore(e.t, permits)
		if any(sem) == nil || isNilPointer(sem) {
			e.t.Fatalf("newSemaphore(t, %d) returned nil, want a semaphore", permits)
		}
		return adapter[S, P]{sem}
	}
	s.fastPath = func(e *env) { typedFastPathTests(s, e, newSemaphore) }
	var semFamilies []family
	for _, f := range families {
		if !f.runOnly {
			semFamilies = append(semFamilies, f)
		}
	}
	s.runFamilies(t, semFamilies)
}

// semaphore is the suite's view of any implementation: a Semaphore whose
// permits are converted to Permit.
type semaphore = Semaphore[Permit]

// adapter converts the permits of a Semaphore[P] into Permits.
type adapter[S Semaphore[P], P any] struct{ s S }

func (a adapter[S, P]) AcquireN(ctx context.Context, n int) (Permit, error) {
	p, err := a.s.AcquireN(ctx, n)
	return permitOf(p), err
}

func (a adapter[S, P]) TryAcquireN(n int) (Permit, bool) {
	p, ok := a.s.TryAcquireN(n)
	return permitOf(p), ok
}

func (a adapter[S, P]) Release(n int)         { a.s.Release(n) }
func (a adapter[S, P]) TryRelease(n int) bool { return a.s.TryRelease(n) }
func (a adapter[S, P]) Close()                { a.s.Close() }
func (a adapter[S, P]) Closed() bool          { return a.s.Closed() }
func (a adapter[S, P]) SetMaxPermits(n int)   { a.s.SetMaxPermits(n) }
func (a adapter[S, P]) MaxPermits() int       { return a.s.MaxPermits() }
func (a adapter[S, P]) InUse() int            { return a.s.InUse() }
func (a adapter[S, P]) AvailablePermits() int { return a.s.AvailablePermits() }
func (a adapter[S, P]) Waiting() int          { return a.s.Waiting() }

// permitOf returns p as a Permit: p itself if P has the methods, else a
// pointer to a copy of p (a value permit with pointer-receiver methods, like
// core.Permit). A nil pointer is the empty Permit.
func permitOf[P any](p P) Permit {
	if isNilPointer(p) {
		return noPermit{}
	}
	if pp, ok := any(p).(Permit); ok {
		return pp
	}
	if pp, ok := any(&p).(Permit); ok {
		return pp
	}
	panic(fmt.Sprintf("conformance: permit type %T has no Release() and Count() int methods", p))
}

// checkPermitType reports whether P or *P is a Permit.
func checkPermitType[P any]() error {
	permit := reflect.TypeFor[Permit]()
	pt := reflect.TypeFor[P]()
	if pt.Implements(permit) || reflect.PointerTo(pt).Implements(permit) {
		return nil
	}
	return fmt.Errorf("conformance: RunSemaphore: permit type %v has no Release() and Count() int methods (on %v or on *%v), want a Permit", pt, pt, pt)
}

func isNilPointer(v any) bool {
	rv := reflect.ValueOf(v)
	return rv.Kind() == reflect.Pointer && rv.IsNil()
}

// noPermit is the empty Permit: what a failed call holds.
type noPermit struct{}

func (noPermit) Release()   {}
func (noPermit) Count() int { return 0 }

// scaled returns d multiplied by the run's TimeScale.
func (o *options) scaled(d time.Duration) time.Duration {
	return time.Duration(float64(d) * o.scale)
}

// adapt returns a core.Semaphore as the suite's semaphore.
func adapt(s *core.Semaphore) semaphore { return adapter[*core.Semaphore, core.Permit]{s} }
