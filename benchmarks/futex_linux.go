package benchmarks

import (
	"runtime"
	"sync"
	"sync/atomic"
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
	fail := func(e error) {
		errs <- e
		word.Store(2)
		unix.Syscall6(unix.SYS_FUTEX, addr, futexWake|futexPrivateFlag, 1<<31-1, 0, 0, 0)
	}
	player := func(mine, theirs uint32) {
		defer wg.Done()
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
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
	wg.Add(2)
	go player(0, 1)
	go player(1, 0)
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
		return nil
	}
}
