package core_test

import (
	"context"
	"runtime"
	"sync"
	"testing"

	"github.com/compio-sync/gosync/core"
)

// takeInTurn makes two goroutines take a permit from s and return it in
// strict alternation, rounds times each: every take from the word is by
// another goroutine than the one before.
func takeInTurn(t *testing.T, s *core.Semaphore, rounds int) {
	t.Helper()
	ping, pong := make(chan struct{}), make(chan struct{})
	var wg sync.WaitGroup
	take := func() {
		p, err := s.Acquire(context.Background())
		if err != nil {
			panic(err)
		}
		p.Release()
	}
	wg.Go(func() {
		for range rounds {
			<-ping
			take()
			pong <- struct{}{}
		}
	})
	wg.Go(func() {
		for range rounds {
			ping <- struct{}{}
			<-pong
			take()
		}
	})
	wg.Wait() // both done: nothing is held when the caller looks
}

// TestStripesEngageWhenTakersAlternate: a Semaphore created without
// WithStripes engages its lanes once takes from the word keep changing
// hands, and not before (fails if the signal never engages, or engages on
// the first change).
func TestStripesEngageWhenTakersAlternate(t *testing.T) {
	old := runtime.GOMAXPROCS(2)
	defer runtime.GOMAXPROCS(old)
	s := core.NewSemaphore(64, chanBackend{})
	takeInTurn(t, s, core.EngageAfterChanges/4)
	if core.StripesEngaged(s) {
		t.Fatalf("stripes engaged after %d changes of taker, want them off until %d", core.EngageAfterChanges/2, core.EngageAfterChanges)
	}
	takeInTurn(t, s, core.EngageAfterChanges)
	if !core.StripesEngaged(s) {
		t.Fatalf("stripes off after %d changes of taker", core.EngageAfterChanges*5/2)
	}
	checkCounts(t, s, 64)
}

// TestStripesStayOffForOneGoroutine: one goroutine taking and returning
// permits, from one call site, never engages the lanes.
func TestStripesStayOffForOneGoroutine(t *testing.T) {
	old := runtime.GOMAXPROCS(2)
	defer runtime.GOMAXPROCS(old)
	s := core.NewSemaphore(64, chanBackend{})
	held, _ := s.AcquireN(context.Background(), 10) // long-lived holders do not matter
	for range 100 * core.EngageAfterChanges {
		p, err := s.Acquire(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		p.Release()
		if p, ok := s.TryAcquire(); ok {
			p.Release()
		}
	}
	if core.StripesEngaged(s) {
		t.Fatal("stripes engaged for one goroutine working alone")
	}
	held.Release()
	checkCounts(t, s, 64)
}

// TestStripesStepAsideWhenOneLaneWorks: engaged lanes that only one
// processor uses turn themselves off, and lanes that two use stay on;
// WithStripes' lanes never step aside.
func TestStripesStepAsideWhenOneLaneWorks(t *testing.T) {
	old := runtime.GOMAXPROCS(2)
	defer runtime.GOMAXPROCS(old)
	s := core.NewSemaphore(64, chanBackend{})
	if !core.EngageStripes(s) || !core.FillLanes(s, 4) {
		t.Fatal("could not engage and fill the lanes")
	}
	for range 4 * core.LaneCheckEvery {
		core.TouchLane(s, 0)
		core.TouchLane(s, 1)
	}
	if !core.StripesEngaged(s) {
		t.Fatal("lanes in use on two processors stepped aside")
	}
	for i := 0; i < 4*core.LaneCheckEvery && core.StripesEngaged(s); i++ {
		core.TouchLane(s, 0)
	}
	if core.StripesEngaged(s) {
		t.Fatalf("lanes used by one processor for %d operations did not step aside", 4*core.LaneCheckEvery)
	}
	checkCounts(t, s, 64)

	forced := core.NewSemaphore(64, chanBackend{}, core.WithStripes())
	if !core.StripesEngaged(forced) || !core.FillLanes(forced, 4) {
		t.Fatal("WithStripes: lanes not engaged and filled")
	}
	for range 4 * core.LaneCheckEvery {
		core.TouchLane(forced, 0)
	}
	if !core.StripesEngaged(forced) {
		t.Fatal("WithStripes: lanes stepped aside")
	}
	checkCounts(t, forced, 64)
}

// checkCounts checks that s, quiescent, has all of its max permits free.
func checkCounts(t *testing.T, s *core.Semaphore, max int) {
	t.Helper()
	if got := s.AvailablePermits(); got != max {
		t.Errorf("AvailablePermits() = %d, want %d", got, max)
	}
	if got := s.InUse(); got != 0 {
		t.Errorf("InUse() = %d, want 0", got)
	}
	if p := s.TryAcquireUpTo(max + 1); p.Count() != max {
		t.Errorf("TryAcquireUpTo(%d) took %d, want %d", max+1, p.Count(), max)
	} else {
		p.Release()
	}
}

// TestWithoutStripesNeverEngage: a Semaphore created WithoutStripes keeps
// its lanes off however its takers alternate, so a Release(n) with nothing
// held is caught by that Release; a later WithStripes overrides it, and
// the other way round.
func TestWithoutStripesNeverEngage(t *testing.T) {
	old := runtime.GOMAXPROCS(2)
	defer runtime.GOMAXPROCS(old)
	s := core.NewSemaphore(64, chanBackend{}, core.WithoutStripes())
	takeInTurn(t, s, 4*core.EngageAfterChanges)
	if core.StripesEngaged(s) || core.EngageStripes(s) {
		t.Fatal("stripes engaged on a Semaphore created WithoutStripes")
	}
	if r := releasePanic(func() { s.Release(1) }); !isOverReleasePanic(r) {
		t.Fatalf("Release(1) with nothing held panicked with %v, want an over-release panic", r)
	}
	checkCounts(t, s, 64)
	if !core.StripesEngaged(core.NewSemaphore(64, chanBackend{}, core.WithoutStripes(), core.WithStripes())) {
		t.Error("WithStripes after WithoutStripes: stripes not engaged at creation")
	}
	if core.StripesEngaged(core.NewSemaphore(64, chanBackend{}, core.WithStripes(), core.WithoutStripes())) {
		t.Error("WithoutStripes after WithStripes: stripes engaged at creation")
	}
}
