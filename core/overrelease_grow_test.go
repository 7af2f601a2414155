package core_test

import (
	"testing"
	"time"

	"github.com/compio-sync/gosync/core"
)

// TestOverReleaseRefusedWhileGrowing holds one permit and tries, over
// and over, to release two while another goroutine grows and shrinks the
// maximum as fast as it can. SetMaxPermits publishes the new maximum a moment
// before it changes the state word; a fast-path Release that pairs the new
// (larger) maximum with the old available count would think more permits are
// held than are, and let the over-release through.
func TestOverReleaseRefusedWhileGrowing(t *testing.T) {
	stop := watchdog(t, 60*time.Second)
	defer stop()
	s := core.NewSemaphore(2, chanBackend{})
	p, ok := s.TryAcquire()
	if !ok {
		t.Fatal("TryAcquire on an idle semaphore failed")
	}
	stopResizing := resizeUntilStopped(s, []int{2, 10}, 0)
	missed := -1
	for i := range 1000000 {
		if s.TryRelease(2) {
			missed = i
			break
		}
	}
	stopResizing()
	if missed >= 0 {
		t.Fatalf("attempt %d: TryRelease(2) with 1 held = true, want false", missed)
	}
	p.Release()
	s.SetMaxPermits(2)
	if in, av := s.InUse(), s.AvailablePermits(); in != 0 || av != 2 {
		t.Errorf("after the run: InUse=%d Available=%d, want 0 2", in, av)
	}
}
