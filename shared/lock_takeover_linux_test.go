package shared_test

import (
	"context"
	"errors"
	"testing"
	"time"

	iouring "github.com/compio-sync/gosync/backend-iouring"
	"github.com/compio-sync/gosync/shared"
)

// TestDeadLockOwnerTakenOverWhenTheWaiterFails: a handle whose Waiter
// fails every Wait at once (a closed io_uring backend) still takes the
// region lock over from a SIGKILLed owner, on a deadline: Release, Close
// and Detach return instead of polling the dead owner's word forever.
func TestDeadLockOwnerTakenOverWhenTheWaiterFails(t *testing.T) {
	watchdog(t, 60*time.Second)
	b, err := iouring.New()
	if errors.Is(err, errors.ErrUnsupported) {
		t.Skipf("io_uring futex ops unavailable: %v", err)
	}
	if err != nil {
		t.Fatalf("iouring.New() = %v", err)
	}
	s, name := create(t, 2, shared.WithWaiter(b.WordWaiter()))
	p, err := s.AcquireN(context.Background(), 1)
	if err != nil {
		t.Fatalf("AcquireN(1) = %v", err)
	}
	b.Close() // from now on every Wait of s fails at once
	c := startChild(t, "locker", "lock", name, "")
	c.expect(t, "locked")
	c.kill()

	done := make(chan struct{})
	go func() {
		defer close(done)
		p.Release()
		s.Close()
		s.Detach()
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("Release, Close and Detach still blocked 10s after the region lock's owner was SIGKILLed, with a Waiter that fails at once")
	}
	if locks, rollbacks, _ := s.RecoveryCounts(); locks != 1 || rollbacks != 1 {
		t.Errorf("RecoveryCounts = %d locks, %d rollbacks, want 1 and 1", locks, rollbacks)
	}
	o := attachTo(t, name)
	if err := o.CheckInvariants(); err != nil {
		t.Fatalf("after the takeover: %v", err)
	}
	if !o.Closed() {
		t.Errorf("Closed() = false after Close returned")
	}
}
