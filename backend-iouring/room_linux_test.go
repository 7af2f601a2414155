package iouring_test

import (
	"sync/atomic"
	"testing"
	"time"

	iouring "github.com/compio-sync/gosync/backend-iouring"
)

// TestFullSQWakesOneSubmitterPerFreeSlot parks n goroutines through a
// 2-entry SQ and holds the flusher after each io_uring_enter, before it
// wakes anyone, until every submitter has either pushed its wait or gone to
// sleep waiting for room (none woken and not yet run): the count is then the
// same on one P as on many. Each enter frees at most 2 slots, so waking
// every sleeper after each enter (about n/2 enters, each waking what is
// left of the n-2 sleepers, all but 2 of which find the SQ full again)
// costs about n*n/4 futile wakeups (9604 for n = 200), and waking every
// sleeper when a flush ends costs nearly all of them again each time.
// Waking one sleeper per free slot, with newcomers kept off the slots owed
// to woken sleepers, costs none: a woken submitter always finds its slot.
func TestFullSQWakesOneSubmitterPerFreeSlot(t *testing.T) {
	watchdog(t, 3*time.Minute)
	const n, sq = 200, 2
	b := newBackend(t, iouring.WithRingSize(sq, 8))
	var stepping atomic.Bool
	stepping.Store(true)
	atEnter, enter := make(chan struct{}), make(chan struct{})
	iouring.SetFlushHook(func() {
		if stepping.Load() {
			atEnter <- struct{}{}
			<-enter
		}
	})
	t.Cleanup(func() { iouring.SetFlushHook(nil) })

	parkers, errc := parkAll(b, n)
	enters := 0
	for {
		<-atEnter // a flusher holds the flush open (flushing, mu free)
		var inflight int
		waitFor(func() bool {
			var waiting, woken int
			waiting, woken, inflight = iouring.RoomState(b)
			return woken == 0 && waiting+inflight == n
		})
		if inflight == n {
			stepping.Store(false)
			enter <- struct{}{}
			break
		}
		enters++
		enter <- struct{}{}
	}
	futile := iouring.FutileRoomWakeups(b)
	unparkAll(t, parkers, errc)
	if futile != 0 {
		t.Fatalf("%d submitters through a %d-entry SQ (%d io_uring_enters while any waited) woke %d times to find no slot, want 0", n, sq, enters, futile)
	}
}
