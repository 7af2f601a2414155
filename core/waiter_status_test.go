package core

import "testing"

// TestWaiterStatusIsPerUse checks the epoch tag on a waiter's status: an
// outcome decided for one queued use reads as still queued in the next,
// across the epoch's wrap-around too, and an abandoned use leaves a status
// of its own epoch, so that a status is never more than one use behind.
func TestWaiterStatusIsPerUse(t *testing.T) {
	for _, start := range []uint16{0, 1, epochMask - 1, epochMask} {
		w := &waiter{epoch: start}
		w.decide(waiterGranted)
		if got := w.outcome(); got != waiterGranted {
			t.Fatalf("epoch %d: outcome after decide(granted) = %d, want %d", start, got, waiterGranted)
		}
		w.epoch = (w.epoch + 1) & epochMask
		if got := w.outcome(); got != waiterQueued {
			t.Fatalf("epoch %d: next use's outcome before any decision = %d, want queued (%d)", start, got, waiterQueued)
		}
		// An abandoned use stores queued with its own epoch; the next
		// use still reads queued, and its own decision reads back.
		w.decide(waiterQueued)
		w.epoch = (w.epoch + 1) & epochMask
		if got := w.outcome(); got != waiterQueued {
			t.Fatalf("epoch %d: outcome after an abandoned use = %d, want queued", start, got)
		}
		w.decide(waiterClosed)
		if got := w.outcome(); got != waiterClosed {
			t.Fatalf("epoch %d: outcome after decide(closed) = %d, want %d", start, got, waiterClosed)
		}
	}
	// Without the abandon's store, a status left by a granted use must
	// not read as granted 2^16 uses later: the wrap the store prevents.
	w := &waiter{}
	w.decide(waiterGranted)
	for range epochMask + 1 {
		w.epoch = (w.epoch + 1) & epochMask
		w.decide(waiterQueued)
	}
	if got := w.outcome(); got != waiterQueued {
		t.Fatalf("after 2^16 abandoned uses the outcome = %d, want queued", got)
	}
}
