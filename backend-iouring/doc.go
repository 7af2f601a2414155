// Package iouring is a Linux backend for gosync's core.Semaphore that parks
// goroutines on io_uring futex operations (IORING_OP_FUTEX_WAIT and
// IORING_OP_FUTEX_WAKE, Linux 6.7 or newer), so a waiting goroutine is an
// in-flight request in the same kind of completion ring as the program's I/O.
//
// Each Parker owns a 32-bit futex word in Go heap memory. Park submits a
// FUTEX_WAIT on it unless a token is already there; Unpark publishes the
// token in the word and wakes the waiter with the futex(2) system call.
// Completions are read by one reaper goroutine that sleeps in Go's network
// poller on an eventfd registered with the ring, so no OS thread is blocked
// per waiter (or at all). Parks that arrive together share one
// io_uring_enter. See docs/iouring.md for the design choices and their
// measurements.
//
// WordWaiter (Backend.WordWaiter) waits on 32-bit words in memory shared
// with other processes through the same ring, with shared (not private)
// futex keys: it is the io_uring Waiter of the cross-process semaphore in
// github.com/compio-sync/gosync/shared (see docs/shared.md), where a kernel
// waiter is the only way to park a waiter of another process.
//
// Kernel-mediated wakes cost microseconds where the pure-Go generic backend
// hands off between goroutines in about 150 ns: choose this backend for what
// the ring gives (waits visible as ring requests, one completion path with
// the program's io_uring I/O), not for in-process speed.
//
// New fails with an error satisfying errors.Is(err, errors.ErrUnsupported)
// on kernels without the futex ops, when io_uring is disabled by sysctl or
// blocked by a sandbox, and on every system other than Linux. Falling back to
// the generic backend takes two lines:
//
//	var b core.Backend = generic.New()
//	if u, err := iouring.New(); err == nil { b = u; defer u.Close() }
//
// A Backend is safe for concurrent use. Close cancels every in-flight wait
// (those Parks return an error wrapping ErrClosed), stops the reaper and
// releases the ring.
package iouring
