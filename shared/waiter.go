package shared

import (
	"context"
	"sync/atomic"
)

// A Waiter blocks on and wakes 32-bit words in memory shared between
// processes: the whole of what the semaphore needs from the operating
// system besides the mapping and a liveness check. FutexWaiter implements
// it with futex(2) on Linux; backend-iouring's WordWaiter with io_uring;
// backend-iocp's WordWaiter with named events and a completion port on
// Windows (a RegionWaiter, which must also be told the regions).
//
// Guarantees the semaphore gives a Waiter: word points into a MAP_SHARED
// mapping, 4-byte aligned, that stays mapped until the call returns.
//
// Obligations of a Waiter (it must be safe for concurrent use):
//   - Wait returns nil once *word != val, or at once if it already differs
//     when the kernel looks; it may also return nil spuriously (callers
//     re-check the word). It returns ctx.Err() promptly once ctx ends (a
//     deadline included), and another error only if it cannot wait at all.
//   - Wake wakes up to n goroutines, in any process, that are in Wait on
//     the same word (the same shared memory, wherever it is mapped). A
//     Wait in one process and a Wake in another must meet: the wait must be
//     keyed by the shared page, not by the address space (no
//     FUTEX_PRIVATE_FLAG / FUTEX2_PRIVATE).
type Waiter interface {
	Wait(ctx context.Context, word *atomic.Uint32, val uint32) error
	Wake(word *atomic.Uint32, n int) error
}
