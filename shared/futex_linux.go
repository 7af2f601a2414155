package shared

import (
	"context"
	"fmt"
	"math"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// futex(2) operations without FUTEX_PRIVATE_FLAG: keyed by the shared page
// (inode, offset), so waiters and wakers in different processes meet
// wherever each maps the region.
const (
	futexWait = 0
	futexWake = 1
)

// FutexWaiter is the Waiter that works on every Linux: futex(2) on the
// shared word. Each waiting goroutine holds an OS thread for the length of
// its wait (the thread is blocked in the kernel); ctx cancellation wakes
// the word. The zero value is ready to use.
type FutexWaiter struct{}

// Wait blocks while *word == val; see Waiter.
func (FutexWaiter) Wait(ctx context.Context, word *atomic.Uint32, val uint32) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if word.Load() != val {
		return nil
	}
	var returned atomic.Bool
	if ctx.Done() != nil {
		// The kernel cannot watch ctx: when it ends, wake the word until
		// this Wait has returned. Repeating closes the window in which the
		// wake lands after our ctx check but before FUTEX_WAIT queues us.
		stop := context.AfterFunc(ctx, func() {
			for !returned.Load() {
				futex(word, futexWake, math.MaxInt32, nil)
				time.Sleep(50 * time.Microsecond)
			}
		})
		defer stop()
	}
	defer returned.Store(true)
	for {
		var ts *unix.Timespec
		if dl, ok := ctx.Deadline(); ok {
			d := time.Until(dl)
			if d <= 0 {
				// The kernel's timeout can end a moment before ctx's
				// timer fires: report the deadline as ctx will.
				<-ctx.Done()
				return ctx.Err()
			}
			t := unix.NsecToTimespec(int64(d))
			ts = &t
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		errno := futex(word, futexWait, val, ts)
		switch errno {
		case 0, unix.EAGAIN:
			// Woken, or the word already differed: the caller re-checks.
			return nil
		case unix.EINTR, unix.ETIMEDOUT:
			// A signal or our own timeout: look at ctx and the word again.
			if err := ctx.Err(); err != nil {
				return err
			}
			if word.Load() != val {
				return nil
			}
		default:
			return fmt.Errorf("shared: FUTEX_WAIT: %w", errno)
		}
	}
}

// Wake wakes up to n waiters on word in any process; see Waiter.
func (FutexWaiter) Wake(word *atomic.Uint32, n int) error {
	if n <= 0 {
		return nil
	}
	if n > math.MaxInt32 {
		n = math.MaxInt32
	}
	if errno := futex(word, futexWake, uint32(n), nil); errno != 0 {
		return fmt.Errorf("shared: FUTEX_WAKE: %w", errno)
	}
	return nil
}

func futex(word *atomic.Uint32, op uintptr, val uint32, ts *unix.Timespec) unix.Errno {
	_, _, errno := unix.Syscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(word)), op, uintptr(val), uintptr(unsafe.Pointer(ts)), 0, 0)
	return errno
}

// defaultWaiter is the Waiter of a handle opened without WithWaiter.
func defaultWaiter() (Waiter, error) { return FutexWaiter{}, nil }
