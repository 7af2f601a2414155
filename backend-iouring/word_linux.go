package iouring

import (
	"context"
	"fmt"
	"math"
	"sync/atomic"
	"unsafe"

	"github.com/compio-sync/gosync/backend-iouring/internal/ring"
	"golang.org/x/sys/unix"
)

// A WordWaiter waits on 32-bit words in memory shared with other processes
// (a MAP_SHARED mapping such as a file in /dev/shm) through the Backend's
// ring: each Wait is one in-flight IORING_OP_FUTEX_WAIT whose futex2 flags
// lack FUTEX2_PRIVATE, so the kernel keys it by the shared page and a
// FUTEX_WAKE from any process that maps the page wakes it. No OS thread is
// blocked per waiter: completions come back through the Backend's reaper.
// It has the method set of the shared module's Waiter contract
// (github.com/compio-sync/gosync/shared), which it satisfies without either
// module importing the other. It is safe for concurrent use, and valid until
// the Backend is closed.
type WordWaiter struct{ b *Backend }

// WordWaiter returns a WordWaiter that uses b's ring.
func (b *Backend) WordWaiter() *WordWaiter { return &WordWaiter{b: b} }

// futex2 flags of a cross-process word: 32-bit, shared (no FUTEX2_PRIVATE).
const futex2Shared = futex2SizeU32

// futex(2) FUTEX_WAKE without FUTEX_PRIVATE_FLAG: wakes io_uring and
// futex(2) waiters of any process on the same shared word.
const futexWakeShared = 1

// Wait blocks while *word == val. It returns nil when woken, when the word
// differs when the kernel arms the wait (-EAGAIN), or spuriously (the
// kernel cancels the waits of a thread that exits); ctx.Err() once ctx ends
// (the wait is cancelled with IORING_OP_ASYNC_CANCEL and its completion
// awaited, so the word is no longer watched when Wait returns); an error
// wrapping ErrClosed if the Backend is closed; or the Backend's failure.
// word must stay mapped until Wait returns.
func (w *WordWaiter) Wait(ctx context.Context, word *atomic.Uint32, val uint32) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if word.Load() != val {
		return nil
	}
	// A parker serves as the result slot: inflight delivers the CQE to its
	// done channel (its own word is unused).
	p := &parker{b: w.b, done: make(chan int32, 1)}
	sqe := ring.SQE{
		Opcode: ring.OpFutexWait,
		Fd:     futex2Shared,
		Off:    uint64(val),
		Addr:   uint64(uintptr(unsafe.Pointer(word))),
		Addr3:  0xffffffff, // bitset: match futex(2) wakes (FUTEX_BITSET_MATCH_ANY)
	}
	id, err := w.b.submit(&sqe, p)
	if err != nil {
		return fmt.Errorf("iouring: WordWaiter.Wait: %w", err)
	}
	var res int32
	select {
	case res = <-p.done:
	case <-ctx.Done():
		cancel := ring.SQE{Opcode: ring.OpAsyncCancel, Fd: -1, Addr: id, UserData: internalTag}
		// If the submit fails (closed or failed), Close's cancel or
		// failLocked delivers the result below.
		w.b.submit(&cancel, nil)
		if res = <-p.done; res == resFailed {
			return p.failure()
		}
		return ctx.Err() // woken or cancelled: the caller re-checks the word either way
	}
	switch {
	case res == 0, res == -int32(unix.EAGAIN):
		return nil
	case res == -int32(unix.ECANCELED) && w.b.closedFlag.Load():
		return fmt.Errorf("iouring: WordWaiter.Wait: %w", ErrClosed)
	case res == -int32(unix.ECANCELED):
		return nil // cancelled by a thread exit: a spurious return
	case res == resFailed:
		return p.failure()
	default:
		return fmt.Errorf("iouring: WordWaiter.Wait: IORING_OP_FUTEX_WAIT completed with %d (%v)", res, unix.Errno(-res))
	}
}

// Wake wakes up to n waiters on word, in any process, whether they wait
// through io_uring or futex(2): it calls futex(2) FUTEX_WAKE without the
// private flag (a non-blocking system call), then reaps completions that
// the wake posted inline for waiters of this process.
func (w *WordWaiter) Wake(word *atomic.Uint32, n int) error {
	if n <= 0 {
		return nil
	}
	n = min(n, math.MaxInt32)
	_, _, errno := unix.Syscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(word)), futexWakeShared, uintptr(n), 0, 0, 0)
	w.b.tryReap()
	if errno != 0 {
		return fmt.Errorf("iouring: WordWaiter.Wake: FUTEX_WAKE: %w", errno)
	}
	return nil
}
