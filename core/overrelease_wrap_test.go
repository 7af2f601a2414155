package core_test

import (
	"math"
	"testing"

	"github.com/compio-sync/gosync/core"
)

// TestOverReleaseNearLimitPanics releases up to MaxPermitsLimit permits that
// were never acquired. Each is an over-release, which Release must refuse
// with a panic however large n is, and must leave the counts as they were;
// the available count must never wrap around the state word's permit field
// into a negative number that hides the over-release and starves every later
// Acquire.
func TestOverReleaseNearLimitPanics(t *testing.T) {
	if math.MaxInt < core.MaxPermitsLimit {
		t.Skip("int cannot hold MaxPermitsLimit on this platform")
	}
	lim := int(min(core.MaxPermitsLimit, math.MaxInt))
	for _, tc := range []struct{ max, n int }{
		{1, lim},
		{lim, lim},
		{lim, 1},
		{0, lim},
		{lim / 2, lim/2 + 2},
	} {
		s := core.NewSemaphore(tc.max, chanBackend{})
		panicked := func() (r any) {
			defer func() { r = recover() }()
			s.Release(tc.n)
			return nil
		}()
		if panicked == nil {
			t.Errorf("NewSemaphore(%d).Release(%d) with nothing held did not panic", tc.max, tc.n)
		}
		if in, av := s.InUse(), s.AvailablePermits(); in != 0 || av != tc.max {
			t.Errorf("NewSemaphore(%d) after Release(%d): InUse=%d Available=%d, want 0 %d", tc.max, tc.n, in, av, tc.max)
		}
	}
}
