package core_test

import (
	"math"
	"testing"
	"time"

	"github.com/compio-sync/gosync/core"
)

// TestOverReleaseDetectionExactDuringResizes has one goroutine hold an
// exactly known number of permits (it is the only holder) while another
// resizes the semaphore as fast as it can, above and below what is held. A
// TryRelease of one more than is held must always report false and change
// nothing; a TryRelease of exactly what is held must always succeed. This
// checks the generation protocol between SetMaxPermits and the fast-path
// Release: a stale maximum paired with a newer available count gives a
// spurious refusal or a missed over-release.
func TestOverReleaseDetectionExactDuringResizes(t *testing.T) {
	stop := watchdog(t, 60*time.Second)
	defer stop()
	s := core.NewSemaphore(4, chanBackend{})
	stopResizing := resizeUntilStopped(s, []int{4, 1, 7, 0, 3, 9, 2}, 4)
	// A fixed 20000 attempts once found 1 grant on a loaded machine
	// (-count=15): the resizer, its thread descheduled, left the maximum at
	// 0 for the whole run; acquireRounds runs until enough rounds did.
	acquireRounds(t, s, func(i, k int, p core.Permit) bool {
		if i%2 == 0 {
			// Keep the Permit's count but return through the semaphore,
			// in pieces: the x/sync style.
			if s.TryRelease(k + 1) {

				t.Errorf("round %d: TryRelease(%d) with %d held = true, want false", i, k+1, k)
				return false
			}
			if !s.TryRelease(k - 1) {
				t.Errorf("round %d: TryRelease(%d) with %d held = false, want true", i, k-1, k)
				return false
			}
			if s.TryRelease(2) {

				t.Errorf("round %d: TryRelease(2) with 1 held = true, want false", i)
				return false
			}
			if !s.TryRelease(1) {
				t.Errorf("round %d: TryRelease(1) with 1 held = false, want true", i)
				return false
			}
		} else {
			if s.TryRelease(k + 1) {

				t.Errorf("round %d: TryRelease(%d) with %d held = true, want false", i, k+1, k)
				return false
			}
			p.Release()
		}
		if s.TryRelease(1) {
			t.Errorf("round %d: TryRelease(1) with nothing held = true, want false", i)
			return false
		}
		return true
	})
	stopResizing()
	s.SetMaxPermits(4)
	if in, av := s.InUse(), s.AvailablePermits(); in != 0 || av != 4 {
		t.Errorf("after the run: InUse=%d Available=%d, want 0 4", in, av)
	}
}

// TestLimitArithmetic drives the state word to its edges: the whole
// of MaxPermitsLimit held, a shrink to 0 below it (the most negative
// available count), and releases far beyond any count.
func TestLimitArithmetic(t *testing.T) {
	if math.MaxInt < core.MaxPermitsLimit {
		t.Skip("int cannot hold MaxPermitsLimit on this platform")
	}
	// min keeps the conversion compiling where int is 32 bits.
	lim := int(min(core.MaxPermitsLimit, math.MaxInt))
	s := core.NewSemaphore(lim, chanBackend{})
	p, ok := s.TryAcquireN(lim)
	if !ok {
		t.Fatalf("TryAcquireN(MaxPermitsLimit) on a full semaphore failed")
	}
	if s.TryRelease(lim + 1) {
		t.Errorf("TryRelease(MaxPermitsLimit+1) with MaxPermitsLimit held = true")
	}
	if s.TryRelease(math.MaxInt) {
		t.Errorf("TryRelease(math.MaxInt) = true")
	}
	s.SetMaxPermits(0)
	if in, av, mx := s.InUse(), s.AvailablePermits(), s.MaxPermits(); in != lim || av != 0 || mx != 0 {
		t.Errorf("after shrink to 0: InUse=%d Available=%d Max=%d, want %d 0 0", in, av, mx, lim)
	}
	if _, ok := s.TryAcquireN(1); ok {
		t.Errorf("TryAcquireN(1) after shrinking to 0 succeeded")
	}
	if _, ok := s.TryAcquireN(math.MaxInt); ok {
		t.Errorf("TryAcquireN(math.MaxInt) succeeded")
	}
	if s.TryRelease(lim + 1) {
		t.Errorf("TryRelease(MaxPermitsLimit+1) after the shrink = true")
	}
	s.SetMaxPermits(lim)
	s.SetMaxPermits(1)
	if in, av := s.InUse(), s.AvailablePermits(); in != lim || av != 0 {
		t.Errorf("after regrow and shrink to 1: InUse=%d Available=%d, want %d 0", in, av, lim)
	}
	p.Release()
	if in, av, mx := s.InUse(), s.AvailablePermits(), s.MaxPermits(); in != 0 || av != 1 || mx != 1 {
		t.Errorf("after Release: InUse=%d Available=%d Max=%d, want 0 1 1", in, av, mx)
	}
	s.SetMaxPermits(lim)
	if av := s.AvailablePermits(); av != lim {
		t.Errorf("after regrowing to the limit: Available=%d, want %d", av, lim)
	}
	func() {
		defer func() {
			if r := recover(); r == nil {
				t.Errorf("Release(math.MaxInt) did not panic")
			}
		}()
		s.Release(math.MaxInt)
	}()
	if av := s.AvailablePermits(); av != lim {
		t.Errorf("after the refused Release: Available=%d, want %d", av, lim)
	}
}
