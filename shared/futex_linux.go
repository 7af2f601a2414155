package shared

import (
	"context"
	"fmt"
	"math"
	"runtime"
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
	// futexPrivateFlag is for the Wait's own cancel word only, which no
	// other process sees.
	futexPrivateFlag = 128
)

// FutexWaiter is the Waiter that works on every Linux: futex(2) on the
// shared word. Each waiting goroutine holds an OS thread for the length of
// its wait (the thread is blocked in the kernel). The zero value is ready
// to use.
//
// Cancellation wakes only the Wait whose ctx ended: the Wait sleeps with
// futex_waitv(2) (Linux 5.16+) on two words, the shared one and a private
// one of its own, and ctx's end sets and wakes the private one. On older
// kernels (futex_waitv fails with ENOSYS) ctx's end wakes every sleeper on
// the shared word, repeatedly until the Wait has returned; they re-check
// their words and sleep again.
type FutexWaiter struct{}

// Wait blocks while *word == val; see Waiter.
func (FutexWaiter) Wait(ctx context.Context, word *atomic.Uint32, val uint32) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if word.Load() != val {
		return nil
	}
	if ctx.Done() != nil && waitvState.Load() != waitvMissing {
		if err, ok := waitWithCancelWord(ctx, word, val); ok {
			return err
		}
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
		ts, err := timeout(ctx)
		if err != nil {
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

// timeout returns the relative timeout of a futex wait for ctx (nil: none),
// or ctx's error once its deadline has passed. The kernel's timeout can end
// a moment before ctx's timer fires: the deadline is reported as ctx will.
func timeout(ctx context.Context) (*unix.Timespec, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	dl, ok := ctx.Deadline()
	if !ok {
		return nil, nil
	}
	d := time.Until(dl)
	if d <= 0 {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	t := unix.NsecToTimespec(int64(d))
	return &t, nil
}

// futex_waitv availability, probed by the first call: unknown, present or
// missing (ENOSYS, a conclusive answer).
const (
	waitvUnknown = iota
	waitvPresent
	waitvMissing
)

var waitvState atomic.Int32

// futexWaitv is struct futex_waitv.
type futexWaitv struct {
	val, uaddr     uint64
	flags, reserve uint32
}

const (
	futex2SizeU32 = 0x02
	futex2Private = 0x80
)

// waitWithCancelWord is Wait for a ctx that can end, through futex_waitv
// on the shared word and a private cancel word that ctx's end sets and
// wakes: that wake reaches this Wait alone. ok is false (and nothing was
// waited) if the kernel has no futex_waitv.
func waitWithCancelWord(ctx context.Context, word *atomic.Uint32, val uint32) (err error, ok bool) {
	// Heap-allocated (the AfterFunc keeps it): its address is stable for
	// the kernel.
	cancelWord := new(atomic.Uint32)
	stop := context.AfterFunc(ctx, func() {
		// Set before the wake: a waitv that enters after the Store finds
		// the word changed and returns at once, so the wake cannot be
		// missed.
		cancelWord.Store(1)
		futex(cancelWord, futexWake|futexPrivateFlag, 1, nil)
	})
	defer stop()
	ws := [2]futexWaitv{
		{val: uint64(val), uaddr: uint64(uintptr(unsafe.Pointer(word))), flags: futex2SizeU32},
		{val: 0, uaddr: uint64(uintptr(unsafe.Pointer(cancelWord))), flags: futex2SizeU32 | futex2Private},
	}
	for {
		var abs *unix.Timespec
		if dl, has := ctx.Deadline(); has {
			// futex_waitv takes an absolute CLOCK_MONOTONIC time.
			var now unix.Timespec
			if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &now); err != nil {
				return nil, false
			}
			t := unix.NsecToTimespec(now.Nano() + int64(time.Until(dl)))
			abs = &t
		}
		if err := ctx.Err(); err != nil {
			return err, true
		}
		_, _, errno := unix.Syscall6(unix.SYS_FUTEX_WAITV, uintptr(unsafe.Pointer(&ws[0])), 2, 0, uintptr(unsafe.Pointer(abs)), unix.CLOCK_MONOTONIC, 0)
		runtime.KeepAlive(word)
		runtime.KeepAlive(cancelWord)
		switch errno {
		case 0, unix.EAGAIN:
			// Woken (on either word), or a word already differed: the
			// caller re-checks its word.
			waitvState.Store(waitvPresent)
			if cancelWord.Load() != 0 {
				return ctx.Err(), true
			}
			return nil, true
		case unix.ETIMEDOUT:
			waitvState.Store(waitvPresent)
			<-ctx.Done() // the kernel's timeout can beat ctx's timer
			return ctx.Err(), true
		case unix.EINTR:
			if err := ctx.Err(); err != nil {
				return err, true
			}
			if word.Load() != val {
				return nil, true
			}
		case unix.ENOSYS:
			waitvState.Store(waitvMissing)
			return nil, false
		default:
			return fmt.Errorf("shared: futex_waitv: %w", errno), true
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
