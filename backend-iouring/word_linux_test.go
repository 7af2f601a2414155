package iouring_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	iouring "github.com/compio-sync/gosync/backend-iouring"
	"golang.org/x/sys/unix"
)

// sharedWord returns a word in a MAP_SHARED mapping (shmem: the futex is
// keyed by the page, as for a /dev/shm file), unmapped when the test ends.
func sharedWord(t *testing.T) *atomic.Uint32 {
	mem, err := unix.Mmap(-1, 0, 4096, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_ANONYMOUS)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Munmap(mem) })
	return (*atomic.Uint32)(unsafe.Pointer(&mem[64]))
}

// TestWordWaiterWokenByWake: a Wait on a shared word returns once another
// goroutine changes the word and wakes it; one whose value already differs
// returns at once.
func TestWordWaiterWokenByWake(t *testing.T) {
	watchdog(t, 20*time.Second)
	w := newBackend(t).WordWaiter()
	word := sharedWord(t)
	done := make(chan error, 1)
	go func() { done <- w.Wait(context.Background(), word, 0) }()
	// Wake until the waiter returns: it may not be armed yet.
	for {
		word.Store(1)
		if err := w.Wake(word, 1); err != nil {
			t.Fatalf("Wake = %v", err)
		}
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("Wait = %v, want nil after a wake", err)
			}
			if err := w.Wait(context.Background(), word, 0); err != nil {
				t.Errorf("Wait with a stale value = %v, want nil at once", err)
			}
			return
		case <-time.After(time.Millisecond):
		}
	}
}

// TestWordWaiterCancelled: ctx ending cancels the in-flight wait and
// returns ctx.Err(), and a later wake finds nobody (the wait is gone).
func TestWordWaiterCancelled(t *testing.T) {
	watchdog(t, 20*time.Second)
	b := newBackend(t)
	w := b.WordWaiter()
	word := sharedWord(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := w.Wait(ctx, word, 0); err != context.DeadlineExceeded {
		t.Fatalf("Wait until a deadline = %v, want DeadlineExceeded", err)
	}
	n, _, errno := unix.Syscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(word)), 1, 1, 0, 0, 0)
	if errno != 0 || n != 0 {
		t.Errorf("FUTEX_WAKE after the cancelled Wait woke %d (%v), want 0: the wait is still armed", n, errno)
	}
	b.Close()
	if err := w.Wait(context.Background(), word, 0); !errors.Is(err, iouring.ErrClosed) {
		t.Errorf("Wait after Close = %v, want ErrClosed", err)
	}
}
