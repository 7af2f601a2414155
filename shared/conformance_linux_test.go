package shared_test

import (
	"strings"
	"testing"

	"github.com/compio-sync/gosync/conformance"
	"github.com/compio-sync/gosync/shared"
)

// TestConformance runs the suite every semaphore passes over one handle of
// a fresh shared semaphore, within this process, once per waiter. With
// futex(2) every queued goroutine holds an OS thread, so the load test of
// 10,000 waiters would pass Go's 10,000-thread limit: it runs with io_uring.
func TestConformance(t *testing.T) {
	for _, kind := range []string{"futex", "iouring"} {
		t.Run(kind, func(t *testing.T) {
			opts := waiterOpts(t, kind)
			var skip []conformance.Option
			if kind == "futex" {
				skip = append(skip, conformance.Skip("Load/TenThousandOnOne", "futex(2) holds an OS thread per waiter: 10,000 waiters pass Go's 10,000-thread limit (the iouring run covers it)"))
			}
			conformance.RunSemaphore(t, func(t *testing.T, permits int) *shared.Semaphore {
				// Only the 10,000-waiter load test needs more than the
				// default waiter slots; regions stay small elsewhere (the
				// model test maps hundreds, which a 32-bit address space
				// would not hold at 4 MiB each).
				slots := shared.DefaultWaiterSlots
				if strings.Contains(t.Name(), "TenThousand") {
					slots = 16384
				}
				s, _ := create(t, permits, append(opts, shared.WithWaiterSlots(slots))...)
				return s
			}, append(skip, conformance.PanicPrefix("shared:"))...)
		})
	}
}
