//go:build linux || windows

package shared_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/compio-sync/gosync/core"
	"github.com/compio-sync/gosync/shared"
)

func TestAcquireReleaseCounts(t *testing.T) {
	watchdog(t, 20*time.Second)
	s, _ := create(t, 5)
	ctx := context.Background()
	p, err := s.AcquireN(ctx, 3)
	if err != nil {
		t.Fatalf("AcquireN(3) = %v", err)
	}
	if got := s.InUse(); got != 3 {
		t.Errorf("InUse = %d, want 3", got)
	}
	if got := s.AvailablePermits(); got != 2 {
		t.Errorf("AvailablePermits = %d, want 2", got)
	}
	if _, ok := s.TryAcquireN(3); ok {
		t.Errorf("TryAcquireN(3) with 2 free = true, want false")
	}
	p.Release()
	p.Release() // exactly once: the second does nothing
	if got := s.InUse(); got != 0 {
		t.Errorf("InUse after Release = %d, want 0", got)
	}
	if _, err := s.AcquireN(ctx, 6); !errors.Is(err, shared.ErrTooLarge) || !errors.Is(err, core.ErrTooLarge) {
		t.Errorf("AcquireN(6) of 5 = %v, want ErrTooLarge", err)
	}
}

func TestWaiterIsHandedOffInAnotherHandle(t *testing.T) {
	watchdog(t, 20*time.Second)
	a, name := create(t, 1)
	b := attachTo(t, name)
	p, _ := a.Acquire(context.Background())
	got := make(chan error, 1)
	go func() {
		q, err := b.Acquire(context.Background())
		if err == nil {
			q.Release()
		}
		got <- err
	}()
	waitFor(t, func() bool { return a.Waiting() == 1 })
	p.Release()
	if err := <-got; err != nil {
		t.Fatalf("queued Acquire in the other handle = %v", err)
	}
}

func TestCloseFailsWaitersOfEveryHandle(t *testing.T) {
	watchdog(t, 20*time.Second)
	a, name := create(t, 1)
	b := attachTo(t, name)
	a.Acquire(context.Background())
	got := make(chan error, 2)
	for _, h := range []*shared.Semaphore{a, b} {
		go func() { _, err := h.Acquire(context.Background()); got <- err }()
	}
	waitFor(t, func() bool { return a.Waiting() == 2 })
	b.Close()
	for range 2 {
		if err := <-got; !errors.Is(err, core.ErrClosed) {
			t.Errorf("Acquire after Close = %v, want ErrClosed", err)
		}
	}
}

func TestCancelledWaiterLeavesQueue(t *testing.T) {
	watchdog(t, 20*time.Second)
	s, _ := create(t, 1)
	s.Acquire(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := s.Acquire(ctx); err != context.DeadlineExceeded {
		t.Fatalf("Acquire with deadline = %v, want DeadlineExceeded", err)
	}
	if got := s.Waiting(); got != 0 {
		t.Errorf("Waiting after cancellation = %d, want 0", got)
	}
}

// TestGrantAllQueuedInOneTransaction: a resize that grants every queued
// waiter at once (the largest transaction there is) fits the journal.
func TestGrantAllQueuedInOneTransaction(t *testing.T) {
	watchdog(t, 30*time.Second)
	const n = 256
	s, _ := create(t, 1, shared.WithWaiterSlots(n), shared.WithProcessSlots(1))
	p, _ := s.Acquire(context.Background())
	errs := make(chan error, n)
	for range n {
		go func() {
			q, err := s.Acquire(context.Background())
			if err == nil {
				defer q.Release()
			}
			errs <- err
		}()
	}
	waitFor(t, func() bool { return s.Waiting() == n })
	s.SetMaxPermits(n + 1)
	for range n {
		if err := <-errs; err != nil {
			t.Fatalf("Acquire granted by the resize = %v", err)
		}
	}
	p.Release()
	waitFor(t, func() bool { return s.InUse() == 0 })
}
