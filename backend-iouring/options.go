package iouring

import (
	"fmt"
	"time"
)

// An Option configures New.
type Option func(*config)

type config struct {
	entries   uint32        // SQ entries
	cqEntries uint32        // CQ entries
	ringWake  bool          // Unpark wakes with a FUTEX_WAKE SQE instead of futex(2)
	goWait    time.Duration // how long Park waits in Go before the kernel wait

	// Test hooks, set only through export_test.go.
	fakeSetupErr     error  // pretend io_uring_setup failed with this
	fakeProbeMissing bool   // pretend the probe lacks the futex ops
	sysctlPath       string // where to read io_uring_disabled from
	futexFlags       uint32 // futex2 flags put in the SQEs
}

// WithRingSize sets the number of submission-queue entries (rounded up to a
// power of two by the kernel) and completion-queue entries. The defaults are
// 256 and 4096. Any size works for any number of waiters: when the SQ is
// full, Park and Unpark wait for room, and CQEs beyond the CQ size wait on
// the kernel's overflow list until the reaper drains the ring. Small rings
// are for tests; a zero value keeps the default.
func WithRingSize(sqEntries, cqEntries uint32) Option {
	return func(c *config) {
		if sqEntries != 0 {
			c.entries = sqEntries
		}
		if cqEntries != 0 {
			c.cqEntries = cqEntries
		}
	}
}

// WithGoWait sets how long Park waits in the Go scheduler before it arms an
// io_uring FUTEX_WAIT: a handoff meanwhile wakes the waiter as the generic
// backend does (a goroutine wakeup, no system call), and only longer waits
// sleep in the kernel, with no thread per waiter. A wait moves to the kernel
// between d and 1.5d after it started when the backend is quiet; while the
// backend's Parks keep coming back for new waits (a queue that is being
// served), a wait stays in Go up to 16 times the time that rate needs to
// serve every waiting Park, and at most about 100d (docs/iouring.md). The default
// is 1ms; 0 arms the kernel wait at once, for callers that want every wait
// in the kernel (the behaviour before this option). A negative d panics.
func WithGoWait(d time.Duration) Option {
	if d < 0 {
		panic(fmt.Sprintf("iouring: WithGoWait with negative duration %v", d))
	}
	return func(c *config) { c.goWait = d }
}

// WithRingWake makes Unpark wake the waiter by submitting an
// IORING_OP_FUTEX_WAKE through the ring instead of calling futex(2)
// directly. Both are measured in docs/iouring.md; the default, futex(2), is
// the faster one on the machines measured there.
func WithRingWake() Option { return func(c *config) { c.ringWake = true } }
