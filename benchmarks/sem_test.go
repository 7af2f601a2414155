package benchmarks

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"
)

// forEachAvailable runs f for every contender that can model a semaphore of
// the given permits on this machine.
func forEachAvailable(t *testing.T, permits int, f func(t *testing.T, c Contender, s Sem)) {
	for _, c := range Contenders {
		t.Run(c.Name, func(t *testing.T) {
			s, err := c.New(permits)
			if errors.Is(err, ErrNotApplicable) || errors.Is(err, errors.ErrUnsupported) {
				t.Skip(err)
			}
			if err != nil {
				t.Fatalf("New(%d) = %v, want a semaphore or an ErrNotApplicable/ErrUnsupported error", permits, err)
			}
			f(t, c, s)
		})
	}
}

func TestContendersGrantUpToPermitsThenRefuse(t *testing.T) {
	forEachAvailable(t, 1, func(t *testing.T, _ Contender, s Sem) {
		if err := s.Acquire(context.Background(), 1); err != nil {
			t.Fatalf("Acquire on a free semaphore = %v, want nil", err)
		}
		if s.TryAcquire(1) {
			t.Fatal("TryAcquire with no permit free = true, want false")
		}
		s.Release(1)
		if !s.TryAcquire(1) {
			t.Fatal("TryAcquire after Release = false, want true")
		}
		s.Release(1)
	})
}

func TestCancellableContendersReturnWhenCtxEnds(t *testing.T) {
	forEachAvailable(t, 1, func(t *testing.T, c Contender, s Sem) {
		if !c.Cancellable {
			t.Skip("not cancellable")
		}
		if err := s.Acquire(context.Background(), 1); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
		defer cancel()
		if err := s.Acquire(ctx, 1); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Acquire with no permit free and an expiring ctx = %v, want DeadlineExceeded", err)
		}
		s.Release(1)
		if !s.TryAcquire(1) {
			t.Fatal("the cancelled Acquire kept the permit")
		}
		s.Release(1)
	})
}

func TestWeightedContendersTakeSeveralPermits(t *testing.T) {
	forEachAvailable(t, 16, func(t *testing.T, c Contender, s Sem) {
		if !c.Weighted {
			t.Skip("unit weight only")
		}
		if err := s.Acquire(context.Background(), 16); err != nil {
			t.Fatal(err)
		}
		if s.TryAcquire(1) {
			t.Fatal("TryAcquire(1) after Acquire(16) of 16 = true, want false")
		}
		s.Release(16)
		if !s.TryAcquire(16) {
			t.Fatal("TryAcquire(16) after Release(16) = false, want true")
		}
		s.Release(16)
	})
}

func TestMutexModelsOnlyOnePermit(t *testing.T) {
	c, ok := Lookup("mutex")
	if !ok {
		t.Fatal("mutex contender not registered")
	}
	if _, err := c.New(4); !errors.Is(err, ErrNotApplicable) {
		t.Fatalf("mutex New(4) = %v, want ErrNotApplicable", err)
	}
}

func TestBaselineIsRegisteredFirst(t *testing.T) {
	if Contenders[0].Name != Baseline {
		t.Fatalf("Contenders[0] = %q, want the baseline %q first (benchstat compares against the first column)", Contenders[0].Name, Baseline)
	}
}

func TestSummarizeUsesNearestRank(t *testing.T) {
	var s []time.Duration
	for i := 100; i >= 1; i-- {
		s = append(s, time.Duration(i))
	}
	got := Summarize(s)
	want := Percentiles{P50: 50, P99: 99, Max: 100}
	if got != want {
		t.Fatalf("Summarize(1..100) = %+v, want %+v", got, want)
	}
	if got := Summarize(nil); got != (Percentiles{}) {
		t.Fatalf("Summarize(nil) = %+v, want zero", got)
	}
}

func TestMaxMinRatioCountsStarved(t *testing.T) {
	r, starved := MaxMinRatio([]int64{10, 0, 5})
	if r != 10 || starved != 1 {
		t.Fatalf("MaxMinRatio(10,0,5) = %v, %d, want 10, 1", r, starved)
	}
}

func TestJainIndexBounds(t *testing.T) {
	for _, tc := range []struct {
		counts []int64
		want   float64
	}{
		{[]int64{5, 5, 5, 5}, 1},
		{[]int64{8, 0, 0, 0}, 0.25},
		{[]int64{3, 1}, 0.8}, // 16 / (2 * 10)
		{nil, 0},
		{[]int64{0, 0}, 0},
	} {
		if got := JainIndex(tc.counts); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("JainIndex(%v) = %v, want %v", tc.counts, got, tc.want)
		}
	}
}

func TestRankPermilleIsNearestRank(t *testing.T) {
	s := make([]time.Duration, 1000)
	for i := range s {
		s[i] = time.Duration(i + 1)
	}
	for pm, want := range map[int]time.Duration{500: 500, 990: 990, 999: 999, 1000: 1000, 0: 1} {
		if got := rankPermille(s, pm); got != want {
			t.Errorf("rankPermille(1..1000, %d) = %v, want %v", pm, got, want)
		}
	}
	if got := rankPermille(nil, 999); got != 0 {
		t.Errorf("rankPermille(nil) = %v, want 0", got)
	}
}

func TestWorkTakesRoughlyItsDuration(t *testing.T) {
	// Only a lower bound: a noisy machine stretches spin loops, it never
	// shortens them by much.
	start := time.Now()
	for range 100 {
		Work(10 * time.Microsecond)
	}
	if d := time.Since(start); d < 500*time.Microsecond {
		t.Fatalf("100 x Work(10us) took %v, want at least 500us", d)
	}
}

func TestFutexPingPongCompletesOrIsUnsupported(t *testing.T) {
	if err := FutexPingPong(100); err != nil && !errors.Is(err, errors.ErrUnsupported) {
		t.Fatal(err)
	}
}
