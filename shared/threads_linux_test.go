package shared_test

import (
	"bytes"
	"context"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/compio-sync/gosync/shared"
)

// threads returns the number of OS threads of this process.
func threads(t *testing.T) int {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	_, v, _ := bytes.Cut(b, []byte("Threads:"))
	v, _, _ = bytes.Cut(v, []byte("\n"))
	n, err := strconv.Atoi(string(bytes.TrimSpace(v)))
	if err != nil {
		t.Fatalf("parsing Threads in /proc/self/status: %v", err)
	}
	return n
}

// TestIouringWaitersNeedNoThreads: 10,000 goroutines queued on a
// shared semaphore through the io_uring WordWaiter add fewer than 32 OS
// threads (with futex(2) each would hold one), and are then all served in
// turn. Under the race detector, which allows 8128 goroutines, 4,000.
func TestIouringWaitersNeedNoThreads(t *testing.T) {
	watchdog(t, 120*time.Second)
	n := 10000
	if raceEnabled {
		n = 4000
	}
	s, _ := create(t, 1, append(waiterOpts(t, "iouring"), shared.WithWaiterSlots(n+8))...)
	p, _ := s.Acquire(context.Background())
	// Idle threads left by earlier tests (futex waiters) stay: count the
	// threads this test adds.
	base := threads(t)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Go(func() {
			q, err := s.Acquire(context.Background())
			if err != nil {
				errs <- err
				return
			}
			q.Release()
		})
	}
	waitForWithin(t, 60*time.Second, func() bool { return s.Waiting() == n })
	got := threads(t)
	t.Logf("%d goroutines queued through io_uring: %d OS threads (%d before)", n, got, base)
	if got-base >= 32 {
		t.Errorf("%d OS threads with %d queued io_uring waiters, %d before: want fewer than 32 more", got, n, base)
	}
	p.Release()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("queued Acquire = %v", err)
	}
	expectFullAndEmpty(t, s, 1)
}
