package conformance_test

import (
	"strings"
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
	conformance.RunSemaphore(t, func(t *testing.T, permits int) *mutexSem { return newMutexSem(permits) }, mutexSemOptions()...)
}

func mutexSemOptions() []conformance.Option {
	return []conformance.Option{
		conformance.Errors(errMutexClosed, errMutexTooLarge),
		conformance.PanicPrefix("mutexsem:"),
		conformance.PermitsLimit(mutexSemLimit),
		conformance.Skip("FastPath", "every permit is a new heap pointer"),
	}
}

// semaphoreMutants break mutexSem one documented semantic each; RunSemaphore
// must fail each in the subtests named, in a child process of
// TestSemaphoreMutantsAreCaught (see TestMutantChild).
var semaphoreMutants = []struct {
	name     string
	mutate   func(*mutexSem)
	caughtBy []string
}{
	{"semaphore: TryAcquire barges past a queued waiter", func(s *mutexSem) { s.barge = true },
		[]string{"FIFO/NoBargingByTryAcquire"}},
	{"semaphore: a cancelled head strands the free permits (golang/go#37852)", func(s *mutexSem) { s.strandOnCancel = true },
		[]string{"Cancel/CancelHeadPassesFreePermits"}},
}

// runSemaphoreMutant is TestMutantChild for a semaphore mutant.
func runSemaphoreMutant(t *testing.T, name string) bool {
	for _, m := range semaphoreMutants {
		if m.name == name {
			conformance.RunSemaphore(t, func(t *testing.T, permits int) *mutexSem {
				s := newMutexSem(permits)
				m.mutate(s)
				return s
			}, mutexSemOptions()...)
			return true
		}
	}
	return false
}

func TestSemaphoreMutantsAreCaught(t *testing.T) {
	for _, m := range semaphoreMutants {
		t.Run(strings.ReplaceAll(m.name, " ", "_"), func(t *testing.T) {
			t.Parallel()
			checkCaught(t, m.name, m.caughtBy)
		})
	}
}
