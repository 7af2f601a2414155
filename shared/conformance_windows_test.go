package shared_test

import (
	"strings"
	"testing"

	"github.com/compio-sync/gosync/conformance"
	"github.com/compio-sync/gosync/shared"
)

// TestConformance runs the suite every semaphore passes over one handle of
// a fresh shared semaphore (a named file mapping), within this process,
// waiting through backend-iocp's WordWaiter: named events whose waits the
// thread pool turns into completion packets.
func TestConformance(t *testing.T) {
	conformance.RunSemaphore(t, func(t *testing.T, permits int) *shared.Semaphore {
		slots := shared.DefaultWaiterSlots
		if strings.Contains(t.Name(), "TenThousand") {
			slots = 16384
		}
		s, _ := create(t, permits, shared.WithWaiterSlots(slots))
		return s
	}, conformance.PanicPrefix("shared:"))
}
