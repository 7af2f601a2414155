package conformance_test

import (
	"testing"

	generic "github.com/compio-sync/gosync/backend-generic"
	"github.com/compio-sync/gosync/conformance"
	"github.com/compio-sync/gosync/core"
)

// TestRunSemaphoreCore runs RunSemaphore over core.Semaphore itself (the
// permit type, core.Permit, is inferred), as fleet and shared call it over
// theirs.
func TestRunSemaphoreCore(t *testing.T) {
	conformance.RunSemaphore(t, func(t *testing.T, permits int) *core.Semaphore {
		return core.NewSemaphore(permits, generic.New())
	})
}

// TestRunSemaphoreMutex runs RunSemaphore over a semaphore unlike core's:
// pointer permits, its own errors and panic prefix and limit, and a fast
// path that allocates (declared, so reported as skipped).
func TestRunSemaphoreMutex(t *testing.T) {
	conformance.RunSemaphore(t, func(t *testing.T, permits int) *mutexSem { return newMutexSem(permits) },
		conformance.Errors(errMutexClosed, errMutexTooLarge),
		conformance.PanicPrefix("mutexsem:"),
		conformance.PermitsLimit(mutexSemLimit),
		conformance.Skip("FastPath", "every permit is a new heap pointer"))
}
