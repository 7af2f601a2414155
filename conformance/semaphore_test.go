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

// TestRunSemaphoreCoreStriped runs RunSemaphore over core.Semaphores
// created WithStripes, whose lanes are on from creation whenever the
// maximum allows (4 permits or more): every semantic must hold with them.
// The first queue, Close or resize drains them, and the next Acquire that
// takes from the word engages them again. (core's own stripes tests drive
// the drain step by step.)
func TestRunSemaphoreCoreStriped(t *testing.T) {
	conformance.RunSemaphore(t, func(t *testing.T, permits int) *core.Semaphore {
		return core.NewSemaphore(permits, generic.New(), core.WithStripes())
	})
}

// TestRunSemaphoreMutex runs RunSemaphore over a semaphore unlike core's:
// pointer permits, its own errors and panic prefix and limit, and a fast
// path that allocates (declared, so reported as skipped).
func TestRunSemaphoreMutex(t *testing.T) {
	conformance.RunSemaphore(t, func(t *testing.T, permits int) *mutexSem { return newMutexSem(permits) }, mutexSemOptions()...)
}

// TestIgnoreGoroutines: a goroutine the implementation keeps for the whole
// test (here, one per semaphore, ended by the test's Cleanup) fails the leak
// check unless IgnoreGoroutines names it; the mutant zoo proves the first
// half ("semaphore: leaks a goroutine per semaphore").
func TestIgnoreGoroutines(t *testing.T) {
	never := make(chan struct{})
	t.Cleanup(func() { close(never) })
	conformance.RunSemaphore(t, func(t *testing.T, permits int) *mutexSem {
		go parkForever(never)
		return newMutexSem(permits)
	}, append(mutexSemOptions(), conformance.Short(),
		conformance.IgnoreGoroutines("github.com/compio-sync/gosync/conformance_test.parkForever"))...)
}

// parkForever is the goroutine a leaking semaphore starts.
func parkForever(until <-chan struct{}) { <-until }

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
	{"semaphore: a cancelled head strands the free permits (a bug x/sync once had)", func(s *mutexSem) { s.strandOnCancel = true },
		[]string{"Cancel/CancelHeadPassesFreePermits"}},
	{"semaphore: leaks a goroutine per semaphore", func(*mutexSem) { go parkForever(nil) },
		[]string{"FIFO/StrictOrder", "Close/AcquireAfterClose"}},
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
