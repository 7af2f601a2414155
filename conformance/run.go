package conformance

import (
	"io"
	"testing"

	"github.com/compio-sync/gosync/core"
)

// Run checks that the backends newBackend returns keep the core.Parker
// contract and that a core.Semaphore over them keeps every documented
// semantic. Call it from the backend's own test:
//
//	func TestConformance(t *testing.T) {
//		conformance.Run(t, func(t *testing.T) core.Backend { return mybackend.New() })
//	}
//
// Run calls newBackend once per subtest, with that subtest's t (so the
// factory may use t.Cleanup, t.Skip when the platform lacks a feature, or
// t.Fatal). If the Backend implements io.Closer, Run closes it when the
// subtest ends and fails the subtest if Close returns an error.
//
// Every subtest is a t.Run named after the behaviour it checks, grouped by
// family (Parker, Latency, FastPath, FIFO, Cancel, Arguments, Close, Resize,
// Permit, QueueBound, Bulk, Event, Cond, Load, Model, Linearizability,
// Backend), so one can be selected with -run, for example
// -run 'TestConformance/FIFO/StrictOrder'. Each is bounded by a watchdog and
// followed by a goroutine-leak check. Failures are reported in got/want form.
//
// All families but Parker, Latency, QueueBound, Bulk, Event and Cond (core's
// own API) and Backend are the ones [RunSemaphore] runs against other
// implementations; Run runs them over core.Semaphore with core's errors,
// panics and limit, at TimeScale 1.
//
// Run must not run in parallel with other tests of the same binary: the
// leak check counts every goroutine. Under testing.Short it scales load
// sizes and iteration counts down; it never skips a correctness subtest.
func Run(t *testing.T, newBackend func(t *testing.T) core.Backend) {
	t.Helper()
	if newBackend == nil {
		panic("conformance: Run with a nil newBackend")
	}
	s := newSuite(defaultOptions())
	s.newBackend = newBackend
	s.newSem = func(e *env, permits int) semaphore { return adapt(core.NewSemaphore(permits, e.b)) }
	s.fastPath = s.coreFastPathTests
	s.runFamilies(t, families)
}

// families are the families, in the order they run. To add one, write its
// tests as a method of suite (one file per family) and add it here. Families
// that go through the semaphore interface (e.sem) run under both Run (over
// core.Semaphore) and RunSemaphore; mark runOnly those that need a
// core.Backend (e.b, e.parker) or core's own API (e.coreSem).
var families = []family{
	{name: "Parker", runOnly: true, tests: func(s *suite, e *env) {
		s.parkerTokenTests(e)
		s.parkerStressTests(e)
	}},
	{name: "Latency", runOnly: true, tests: (*suite).parkerLatencyTests},
	{name: "FastPath", tests: func(s *suite, e *env) { s.fastPath(e) }},
	{name: "FIFO", tests: (*suite).fifoTests},
	{name: "Cancel", tests: (*suite).cancelTests},
	{name: "Arguments", tests: (*suite).argumentTests},
	{name: "Close", tests: (*suite).closeTests},
	{name: "Resize", tests: (*suite).resizeTests},
	{name: "Permit", tests: (*suite).permitTests},
	{name: "QueueBound", runOnly: true, tests: (*suite).queueBoundTests},
	{name: "Bulk", runOnly: true, tests: (*suite).bulkTests},
	{name: "Event", runOnly: true, tests: (*suite).eventTests},
	{name: "Cond", runOnly: true, tests: (*suite).condTests},
	{name: "Load", tests: (*suite).loadTests},
	{name: "Model", tests: (*suite).modelTests},
	{name: "Linearizability", tests: (*suite).linearizabilityTests},
	{name: "Backend", runOnly: true, tests: (*suite).backendTests},
}

// backendTests check the Backend itself.
func (s *suite) backendTests(e0 *env) {
	s.run(e0.t, "NameAndParkers", func(e *env) {
		if e.b.Name() == "" {
			e.t.Errorf("Name() = \"\", want a short non-empty name")
		}
		seen := make(map[any]bool)
		for range 16 {
			p := e.parker()
			if seen[p] {
				e.t.Fatalf("NewParker() returned the same Parker twice, want a new one each call")
			}
			seen[p] = true
		}
	})
	s.run(e0.t, "CloseIsHarmlessTwice", func(e *env) {
		c, ok := e.b.(io.Closer)
		if !ok {
			e.t.Logf("%s does not implement io.Closer: nothing to close", e.b.Name())
			return
		}
		// Use the backend, then close it twice; the leak check after the
		// subtest then verifies that Close released its goroutines.
		sem := e.sem(1)
		p, err := e.acquire(sem, 1)
		if err != nil {
			e.t.Fatalf("Acquire() = %v, want nil", err)
		}
		w := acquireAsync(e.ctx, sem, 1)
		if !e.waitUntil("Waiting() == 1 after an AcquireN on a full semaphore", func() bool { return sem.Waiting() == 1 }) {
			return
		}
		p.Release()
		if r, ok := e.await(w); !ok || r.err != nil {
			e.t.Fatalf("queued Acquire() = %v, want nil", r.err)
		}
		if err := c.Close(); err != nil {
			e.t.Errorf("first Close() = %v, want nil", err)
		}
		func() {
			defer func() {
				if r := recover(); r != nil {
					e.t.Errorf("second Close() panicked: %v, want it harmless", r)
				}
			}()
			c.Close() // its error, if any, is allowed; a panic is not.
		}()
	})
}
