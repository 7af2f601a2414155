package core_test

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/compio-sync/gosync/core"
)

// releasePanic calls f and returns what it panicked with, or nil.
func releasePanic(f func()) (r any) {
	defer func() { r = recover() }()
	f()
	return nil
}

// overReleasePrefix starts core's own over-release panic message.
const overReleasePrefix = "core: Release of "

// isOverReleasePanic reports whether r is core's over-release panic.
func isOverReleasePanic(r any) bool {
	msg, ok := r.(string)
	return ok && strings.HasPrefix(msg, overReleasePrefix) && strings.Contains(msg, "more than are held")
}

// TestOverReleaseWithWaitersIsUndoneNotGranted over-releases while a
// waiter is queued whose request the excess would fill. Release detects the
// over-release from its add, so it must panic (with core's over-release
// message) and take the excess back without granting it: the
// waiter stays queued, the counts are as before, and the next legitimate
// Release serves the waiter.
func TestOverReleaseWithWaitersIsUndoneNotGranted(t *testing.T) {
	stop := watchdog(t, 60*time.Second)
	defer stop()
	for _, viaPermitCopy := range []bool{false, true} {
		t.Run(fmt.Sprintf("viaPermitCopy=%v", viaPermitCopy), func(t *testing.T) {
			s := core.NewSemaphore(3, chanBackend{})
			var (
				p    core.Permit // what is legitimately held
				over func()      // releases more than is held
			)
			if viaPermitCopy {
				// Releasing two copies of a Permit: the second one
				// returns 2 while only 1 (someone else's) is held.
				a, _ := s.TryAcquireN(2)
				c := a
				a.Release()
				p, _ = s.TryAcquire()
				over = c.Release
			} else {
				p, _ = s.TryAcquire()
				over = func() { s.Release(2) } // 1 held
			}
			ch := queueWaiter(t, s, 3, 1) // 2 available, the head needs 3
			r := releasePanic(over)
			if !isOverReleasePanic(r) {
				t.Fatalf("over-release panicked with %v, want a message starting %q", r, overReleasePrefix)
			}
			if in, av, w := s.InUse(), s.AvailablePermits(), s.Waiting(); in != 1 || av != 2 || w != 1 {
				t.Fatalf("after the refused over-release: InUse=%d Available=%d Waiting=%d, want 1 2 1 (excess granted or not undone)", in, av, w)
			}
			select {
			case q := <-ch:
				t.Fatalf("the waiter was granted %d permits out of an over-release", q.Count())
			default:
			}
			p.Release()
			q := recv(t, ch)
			if q.Count() != 3 {
				t.Errorf("waiter granted %d permits, want 3", q.Count())
			}
			q.Release()
			if in, av, w := s.InUse(), s.AvailablePermits(), s.Waiting(); in != 0 || av != 3 || w != 0 {
				t.Errorf("at the end: InUse=%d Available=%d Waiting=%d, want 0 3 0", in, av, w)
			}
		})
	}
}

// TestReleaseJudgedExactlyDuringResizes is the Release(n) counterpart
// of TestOverReleaseDetectionExactDuringResizes: one goroutine is the
// only holder, so it knows exactly what it holds, while another resizes as
// fast as it can. Release adds first and judges after, against the maximum of
// the add's own resize generation or, when a resize ran around the add, under
// the mutex. With no other acquirer nothing can consume the excess, so an
// over-release must always panic and be undone exactly, and a release of what
// is held must never panic.
func TestReleaseJudgedExactlyDuringResizes(t *testing.T) {
	stop := watchdog(t, 60*time.Second)
	defer stop()
	s := core.NewSemaphore(4, chanBackend{})
	defer resizeUntilStopped(s, []int{4, 1, 7, 0, 3, 9, 2, 5}, 8)()
	acquireRounds(t, s, func(i, k int, p core.Permit) bool {
		if r := releasePanic(func() { s.Release(k + 1) }); !isOverReleasePanic(r) {
			t.Fatalf("round %d: Release(%d) with %d held panicked with %v, want an over-release panic", i, k+1, k, r)
		}
		if in := s.InUse(); in != k {
			t.Fatalf("round %d: after the refused Release(%d): InUse=%d, want %d (the add was not undone exactly)", i, k+1, in, k)
		}
		if i%2 == 0 {
			if r := releasePanic(func() { s.Release(k) }); r != nil {
				t.Fatalf("round %d: Release(%d) with %d held panicked: %v", i, k, k, r)
			}
		} else {
			if r := releasePanic(p.Release); r != nil {
				t.Fatalf("round %d: Permit.Release of %d held panicked: %v", i, k, r)
			}
		}
		if r := releasePanic(func() { s.Release(1) }); !isOverReleasePanic(r) {
			t.Fatalf("round %d: Release(1) with nothing held panicked with %v, want an over-release panic", i, r)
		}
		if in := s.InUse(); in != 0 {
			t.Fatalf("round %d: with nothing held InUse=%d", i, in)
		}
		return true
	})
}

// TestReleaseToQueueWhileResizing queues a waiter that needs the whole
// (current) maximum, then returns permits with Release while the maximum
// grows and shrinks. Each add lands while the queue flag is set and often in
// another resize generation than the maximum the releaser reads; the
// releaser must still neither panic (it releases only what it holds) nor
// lose its permits: the waiter must be served once everything is back.
func TestReleaseToQueueWhileResizing(t *testing.T) {
	stop := watchdog(t, 60*time.Second)
	defer stop()
	for round := range 200 {
		s := core.NewSemaphore(4, chanBackend{})
		ps := make([]core.Permit, 4)
		for i := range ps {
			ps[i], _ = s.TryAcquire()
		}
		ch := make(chan error, 1)
		go func() {
			p, err := s.AcquireN(context.Background(), 4)
			if err == nil && p.Count() != 4 {
				err = fmt.Errorf("granted %d, want 4", p.Count())
			}
			ch <- err
		}()
		waitFor(t, "the waiter to queue", func() bool { return s.Waiting() == 1 })
		stopResizing := resizeUntilStopped(s, []int{4, 5}, 0) // never below the waiter's 4
		for i := range ps {
			var r any
			if (round+i)%2 == 0 {
				r = releasePanic(func() { s.Release(1) })
			} else {
				r = releasePanic(ps[i].Release)
			}
			if r != nil {
				t.Fatalf("round %d: release of a held permit while resizing panicked: %v", round, r)
			}
			runtime.Gosched()
		}
		stopResizing()
		s.SetMaxPermits(4)
		select {
		case err := <-ch:
			if err != nil {
				t.Fatalf("round %d: waiter: %v", round, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("watchdog: round %d: all 4 permits released but the waiter for 4 was never served (InUse=%d Available=%d Waiting=%d)",
				round, s.InUse(), s.AvailablePermits(), s.Waiting())
		}
		if in, av, w := s.InUse(), s.AvailablePermits(), s.Waiting(); in != 4 || av != 0 || w != 0 {
			t.Fatalf("round %d: after the grant: InUse=%d Available=%d Waiting=%d, want 4 0 0", round, in, av, w)
		}
	}
}
