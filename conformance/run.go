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
// Permit, QueueBound, Bulk, Load, Model, Linearizability, Backend), so one can be selected
// with -run, for example -run 'TestConformance/FIFO/StrictOrder'. Each is
// bounded by a watchdog and followed by a goroutine-leak check. Failures
// are reported in got/want form.
//
// Run must not run in parallel with other tests of the same binary: the
// leak check counts every goroutine. Under testing.Short it scales load
// sizes and iteration counts down; it never skips a correctness subtest.
func Run(t *testing.T, newBackend func(t *testing.T) core.Backend) {
	t.Helper()
	s := newSuite(newBackend)
	family := func(name string, tests func(*env)) {
		t.Run(name, func(t *testing.T) { tests(&env{suite: s, t: t}) })
	}
	family("Parker", func(e *env) {
		s.parkerTokenTests(e)
		s.parkerStressTests(e)
	})
	family("Latency", s.parkerLatencyTests)
	family("FastPath", s.fastPathTests)
	family("FIFO", s.fifoTests)
	family("Cancel", s.cancelTests)
	family("Arguments", s.argumentTests)
	family("Close", s.closeTests)
	family("Resize", s.resizeTests)
	family("Permit", s.permitTests)
	family("QueueBound", s.queueBoundTests)
	family("Bulk", s.bulkTests)
	family("Load", s.loadTests)
	family("Model", s.modelTests)
	family("Linearizability", s.linearizabilityTests)
	family("Backend", s.backendTests)
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
		p, err := sem.Acquire(e.ctx)
		if err != nil {
			e.t.Fatalf("Acquire() = %v, want nil", err)
		}
		w := acquireAsync(e.ctx, sem, 1)
		if !e.waitUntil(func() bool { return sem.Waiting() == 1 }) {
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
