// Package shared is a weighted, strictly FIFO counting semaphore that lives
// in shared memory and is shared by the processes of one host: a limit
// enforced across the worker processes of a prefork server, parallel CI jobs
// or several services on one machine.
//
// It has the method set and semantics of core.Semaphore (AcquireN with
// context cancellation, TryAcquireN, Permit.Release exactly once,
// Release(n), strict FIFO with direct handoff, ErrTooLarge, Close,
// SetMaxPermits and introspection), extended across processes:
//
//   - Every waiter in every process is served in the order it queued.
//   - Close fails every queued Acquire in every process with ErrClosed.
//   - A process that dies, even by SIGKILL, loses nothing: the permits it
//     held return and its queued requests leave the queue within a few
//     hundred milliseconds (see docs/shared.md), and if it died holding the region's
//     internal lock, the update it had begun is rolled back by whoever
//     takes the lock over.
//   - A value written into the region outside this package cannot make
//     another process crash, loop or write outside the mapping: every word
//     read from it is checked before it is used, and a region found
//     corrupt fails every later operation, in every process, with
//     ErrCorrupt. (A participant can still truncate the file, which
//     raises SIGBUS in its users, or hold the lock and never let go, as a
//     stopped process does; see docs/shared.md.)
//
// The algorithm (this package's files without a build constraint) is
// written once, over a memory region and a small word-waiting contract,
// Waiter. On Linux, Open maps a file in /dev/shm and FutexWaiter waits with
// the futex(2) system call on shared (non-private) futex words. On Windows,
// Open maps a named file mapping and the Waiter must be backend-iocp's
// WordWaiter (a RegionWaiter: a named event per word, waited on through a
// completion port), given with WithWaiter; a process terminated by
// TerminateProcess loses nothing either. Other systems get errors
// satisfying errors.Is(err, errors.ErrUnsupported).
//
// A *Semaphore is a handle: one process's attachment to the shared
// semaphore. It is safe for concurrent use by the goroutines of that process.
package shared
