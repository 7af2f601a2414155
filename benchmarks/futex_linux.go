package benchmarks

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Linux futex operations (linux/futex.h); golang.org/x/sys/unix does not
// export them.
const (
	futexWait        = 0
	futexWake        = 1
	futexPrivateFlag = 128
)

// FutexPingPong bounces a token n times each way between two goroutines
// locked to their own OS threads, waking each other with raw FUTEX_WAKE and
// sleeping in FUTEX_WAIT: the kernel's wake-up cost, without any Go
// scheduler involvement beyond entering and leaving the system call. It
// returns nil, or the first unexpected futex error.
func FutexPingPong(n int) error {
	// word is 0 when the pinger may run and 1 when the ponger may run; 2
	// means a player failed and both must stop.
	var word atomic.Uint32
	addr := uintptr(unsafe.Pointer(&word))
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	fail := func(e error) { stopFutex(errs, &word, e) }
	player := func(mine, theirs uint32) {
		for range n {
			for {
				w := word.Load()
				if w == mine {
					break
				}
				if w == 2 {
					return
				}
				// Sleep only while the word still holds w: the kernel
				// re-checks it atomically, so a wake that lands between the
				// Load and the wait is not lost (the wait returns EAGAIN).
				_, _, e := unix.Syscall6(unix.SYS_FUTEX, addr, futexWait|futexPrivateFlag, uintptr(w), 0, 0, 0)
				if e != 0 && e != unix.EAGAIN && e != unix.EINTR {
					fail(e)
					return
				}
			}
			word.Store(theirs)
			if _, _, e := unix.Syscall6(unix.SYS_FUTEX, addr, futexWake|futexPrivateFlag, 1, 0, 0, 0); e != 0 {
				fail(e)
				return
			}
		}
	}
	onLockedThread(&wg, func() { player(0, 1) })
	onLockedThread(&wg, func() { player(1, 0) })
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
		return nil
	}
}

// FutexHandoff is BenchmarkHandoff's shape between two goroutines locked to
// their own OS threads, with raw futex wait/wake and no Go scheduler: n
// times, the waiter announces that it is about to wait and sleeps in
// FUTEX_WAIT; the releaser runs before (BenchmarkHandoff's grace, so the
// waiter is asleep in the kernel), stamps the time, sets the word and calls
// FUTEX_WAKE; the waiter records the time from the stamp to its return. It
// returns the n latencies, or the first unexpected futex error. This is the
// floor a kernel-parked handoff is read against: the ping-pong floor keeps
// both threads hot, this one includes waking a thread that has slept.
func FutexHandoff(n int, before func()) ([]time.Duration, error) {
	// word: 0 the waiter waits for a release, 1 released, 2 failed.
	var word, ready atomic.Uint32
	var released atomic.Int64 // time.Since(start) at the release being measured
	start := time.Now()
	addr := uintptr(unsafe.Pointer(&word))
	lat := make([]time.Duration, 0, n)
	errs := make(chan error, 2)
	fail := func(e error) {
		ready.Store(2)
		stopFutex(errs, &word, e)
	}
	var wg sync.WaitGroup
	onLockedThread(&wg, func() { // the waiter
		for range n {
			ready.Store(1)
			for {
				w := word.Load()
				if w == 1 {
					break
				}
				if w == 2 {
					return
				}
				_, _, e := unix.Syscall6(unix.SYS_FUTEX, addr, futexWait|futexPrivateFlag, 0, 0, 0, 0)
				if e != 0 && e != unix.EAGAIN && e != unix.EINTR {
					fail(e)
					return
				}
			}
			lat = append(lat, time.Since(start)-time.Duration(released.Load()))
			word.Store(0)
		}
	})
	onLockedThread(&wg, func() { // the releaser
		for range n {
			// Wait (spinning on its own thread) until the waiter has
			// recorded the previous round and announced the next wait.
			for {
				r := ready.Load()
				if r == 2 {
					return
				}
				if r == 1 && word.Load() == 0 {
					break
				}
			}
			ready.Store(0)
			before()
			released.Store(int64(time.Since(start)))
			word.Store(1)
			if _, _, e := unix.Syscall6(unix.SYS_FUTEX, addr, futexWake|futexPrivateFlag, 1, 0, 0, 0); e != 0 {
				fail(e)
				return
			}
		}
	})
	wg.Wait()
	select {
	case err := <-errs:
		return nil, err
	default:
		return lat, nil
	}
}

// stopFutex records e, marks word failed (2) and wakes every thread asleep on
// it, so that both players of a futex benchmark stop.
func stopFutex(errs chan<- error, word *atomic.Uint32, e error) {
	errs <- e
	word.Store(2)
	unix.Syscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(word)), futexWake|futexPrivateFlag, 1<<31-1, 0, 0, 0)
}

// onLockedThread runs f in a new goroutine locked to its own OS thread; wg
// is done when f returns.
func onLockedThread(wg *sync.WaitGroup, f func()) {
	wg.Add(1)
	go func() {
		defer wg.Done()
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		f()
	}()
}
