// Package conformance checks gosync backends and semaphores. [Run] verifies
// that a core.Backend keeps the core.Parker contract and that a
// core.Semaphore built on it keeps every semantic the core package
// documents. [RunSemaphore] runs the Semaphore families of Run against any
// semaphore with core.Semaphore's method set (a fleet-wide one on etcd, one
// in shared memory), described by the [Semaphore] interface and tuned with
// [Option]s: how slow it is ([TimeScale]), its errors ([Errors]) and panics
// ([PanicPrefix]), and what cannot apply to it ([Skip]).
//
// A backend or an implementation in any repository calls Run or
// RunSemaphore from its own test file; see docs/writing-a-backend.md and the
// package example.
//
// # What Run checks
//
// Run has one subtest per behaviour, grouped by family: the Parker contract
// (tokens, blocking, coalescing, cancellation, concurrency, reuse, memory
// ordering), wake latency, the Semaphore's lock-free fast path, strict FIFO
// with direct handoff, contexts, argument checks, Close, SetMaxPermits,
// Permit, the bounded queue (ErrQueueFull at once, shrinking never fails a
// queued waiter), bulk acquire and Permit.Split, the Event and Cond built on the same Parkers (wake-all, FIFO
// single wakeups, wakeups never swallowed by a cancelled waiter, relocking),
// load, a rapid state-machine model check and a porcupine
// linearizability check against a sequential FIFO-semaphore model. Each
// subtest gets a fresh Backend, a bound on every wait that should take
// microseconds (3 s times the TimeScale: a lost wakeup becomes a failure
// naming what was awaited, and the subtest is cut short), a watchdog as the
// last resort for a hang anywhere else, and a goroutine-leak check when it
// ends.
//
// # What Run cannot prove
//
// Like golang.org/x/net/nettest, the suite should not produce false
// positives but may produce false negatives: a race or a lost wakeup that
// the scheduler never happens to expose passes. Run it under the race
// detector (go test -race), which is what checks the happens-before
// guarantees, and repeat it (-count=50) to give rare interleavings a
// chance. Timing-based checks compare medians with a reference measured in
// the same run and are generous, so they catch wakes delayed by tens of
// milliseconds, not by microseconds. The bounds on quick waits assume that
// the machine runs a woken goroutine within 3 s; on an emulator that cannot,
// set CONFORMANCE_TIMESCALE rather than read a hang into the failure.
//
// # Dependencies
//
// The suite depends on core, the standard library, github.com/google/go-cmp,
// go.uber.org/goleak (the goroutine-leak check after every subtest),
// pgregory.net/rapid (the Model family) and github.com/anishathalye/porcupine
// (the Linearizability family).
//
// # Options
//
// Under testing.Short (go test -short), or with the [Short] option of
// RunSemaphore, the suite scales load sizes and iteration counts down for
// slow or limited implementations; it never skips a correctness subtest on
// its own (only [Skip] does, and reports it). Two environment variables
// adapt a run to the machine: CONFORMANCE_TIMESCALE (a factor of at least 1)
// multiplies every time bound, on top of the [TimeScale] the implementation
// declares, for an emulator or an overloaded runner; CONFORMANCE_WATCHDOG (a
// time.ParseDuration string, default 2m times the TimeScale, at most 10m)
// sets the per-subtest watchdog.
package conformance
