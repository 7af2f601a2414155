package core_test

import (
	"testing"
	"time"

	"github.com/compio-sync/gosync/core"
)

// A Release whose permits exactly fill the head of the queue, with waiters
// behind it, is handed over by a short path; these are the two words on
// which that path must not be taken, since the handoff is then not the
// head's alone.

// TestReleaseWithPermitsFreeServesBeyondTheHead: one permit is already
// free (the head needs two), so a Release of two serves the head and then
// the waiter of one behind it.
func TestReleaseWithPermitsFreeServesBeyondTheHead(t *testing.T) {
	stop := watchdog(t, 60*time.Second)
	defer stop()
	s := core.NewSemaphore(3, chanBackend{})
	held, ok := s.TryAcquireN(2) // 1 free
	if !ok {
		t.Fatal("TryAcquireN(2) failed on a free Semaphore")
	}
	head := queueWaiter(t, s, 2, 1)
	behind := queueWaiter(t, s, 1, 2)
	held.Release() // 3 free: 2 for the head, 1 for the waiter behind it
	a, b := recv(t, head), recv(t, behind)
	if a.Count() != 2 || b.Count() != 1 {
		t.Fatalf("granted %d and %d permits, want 2 and 1", a.Count(), b.Count())
	}
	if w, avail := s.Waiting(), s.AvailablePermits(); w != 0 || avail != 0 {
		t.Fatalf("after both grants: Waiting %d, AvailablePermits %d; want 0 and 0", w, avail)
	}
	a.Release()
	b.Release()
	if avail := s.AvailablePermits(); avail != 3 {
		t.Fatalf("AvailablePermits = %d after every Release, want 3", avail)
	}
}

// TestReleaseIntoADeficitGrantsNothing: a shrink left the word one permit
// short (4 held, maximum 3), so a Release of exactly the head's two pays
// the deficit first and leaves one free: the head is not granted (it would
// be an over-admission: 2 still held plus its 2 against a maximum of 3),
// and the waiter of one behind it does not barge.
func TestReleaseIntoADeficitGrantsNothing(t *testing.T) {
	stop := watchdog(t, 60*time.Second)
	defer stop()
	s := core.NewSemaphore(4, chanBackend{})
	held, ok := s.TryAcquireN(4)
	if !ok {
		t.Fatal("TryAcquireN(4) failed on a free Semaphore")
	}
	head := queueWaiter(t, s, 2, 1)
	behind := queueWaiter(t, s, 1, 2)
	s.SetMaxPermits(3)
	rest := held.Split(2)
	held.Release() // 2 of the 4: the word goes from -1 to 1
	// Release decides its grants before it returns: a grant would show
	// here as a waiter gone and more permits in use.
	if w, inUse := s.Waiting(), s.InUse(); w != 2 || inUse != 2 {
		t.Fatalf("after the Release: Waiting %d, InUse %d; want 2 and 2 (nothing granted)", w, inUse)
	}
	rest.Release() // 3 free: the head's 2, then 1 for the waiter behind it
	a, b := recv(t, head), recv(t, behind)
	if a.Count() != 2 || b.Count() != 1 {
		t.Fatalf("granted %d and %d permits, want 2 and 1", a.Count(), b.Count())
	}
	a.Release()
	b.Release()
	if avail := s.AvailablePermits(); avail != 3 {
		t.Fatalf("AvailablePermits = %d after every Release, want 3", avail)
	}
}
