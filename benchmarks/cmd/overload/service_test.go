package main

import (
	"context"
	"errors"
	"math/rand/v2"
	"testing"
	"time"
)

func TestLatencyModel(t *testing.T) {
	const base, timeout = 10 * time.Millisecond, 30 * time.Millisecond
	for _, tc := range []struct {
		n, c     int
		want     time.Duration
		timedOut bool
	}{
		{1, 4, base, false},
		{4, 4, base, false},                  // flat up to the capacity
		{6, 4, 15 * time.Millisecond, false}, // base × n/c past it
		{8, 4, 20 * time.Millisecond, false},
		{12, 4, timeout, false}, // exactly the timeout still completes
		{13, 4, timeout, true},  // past it: fails at the timeout
		{100, 1, timeout, true},
	} {
		got, to := Latency(base, timeout, tc.n, tc.c)
		if got != tc.want || to != tc.timedOut {
			t.Errorf("Latency(%v, %v, n=%d, c=%d) = %v, %v, want %v, %v", base, timeout, tc.n, tc.c, got, to, tc.want, tc.timedOut)
		}
	}
}

// callWithin runs svc.Call(ctx) and fails the test, naming what hung, if
// it has not returned within a generous bound (a hang, not a slow call).
func callWithin(t *testing.T, svc *Service, ctx context.Context, what string) error {
	t.Helper()
	res := make(chan error, 1)
	go func() { res <- svc.Call(ctx) }()
	select {
	case err := <-res:
		return err
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: Service.Call hung for 10s", what)
		return nil
	}
}

func TestServiceCompletesAndTimesOut(t *testing.T) {
	ok := NewService(time.Millisecond, time.Hour, 1)
	if err := callWithin(t, ok, context.Background(), "a call within capacity"); err != nil {
		t.Fatalf("a call within capacity = %v, want nil", err)
	}
	if n := ok.Inflight(); n != 0 {
		t.Fatalf("Inflight after the call returned = %d, want 0", n)
	}
	// A service whose base latency already exceeds its timeout times out
	// every request.
	slow := NewService(2*time.Millisecond, time.Millisecond, 1)
	if err := callWithin(t, slow, context.Background(), "a call past the timeout"); !errors.Is(err, ErrServiceTimeout) {
		t.Fatalf("a call past the timeout = %v, want ErrServiceTimeout", err)
	}
	if n := slow.Inflight(); n != 0 {
		t.Fatalf("Inflight after the timed-out call returned = %d, want 0", n)
	}
}

// A caller that gives up gets its context's error at once, but the service
// keeps working on the request: it still counts as in flight.
func TestServiceKeepsAbandonedWork(t *testing.T) {
	svc := NewService(time.Hour, 2*time.Hour, 2)
	ctx, cancel := context.WithCancel(context.Background())
	errs := make(chan error, 3)
	for range 3 {
		go func() { errs <- svc.Call(ctx) }()
	}
	deadline := time.Now().Add(10 * time.Second)
	for svc.Inflight() != 3 {
		if time.Now().After(deadline) {
			t.Fatalf("Inflight = %d after 10s, want 3: the calls never entered the service", svc.Inflight())
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	for i := range 3 {
		select {
		case err := <-errs:
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("abandoned call %d = %v, want context.Canceled", i, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("abandoned call %d did not return within 10s of its context's cancellation", i)
		}
	}
	if n := svc.Inflight(); n != 3 {
		t.Fatalf("Inflight after the callers gave up = %d, want 3 (the service keeps working)", n)
	}
}

func TestNewServicePanicsOnBadInput(t *testing.T) {
	defer func() {
		if r := recover(); r == nil {
			t.Fatal("NewService(0, 1s, 1) did not panic")
		}
	}()
	NewService(0, time.Second, 1)
}

// The arrivals are open-loop Poisson at load × capacity / base per
// second in each phase: check the count per phase against the rate
// (within 10%, for this seed) and that they are ordered and inside the run.
func TestArrivalsFollowTheCapacity(t *testing.T) {
	p := Plan{Base: 10 * time.Millisecond, Phases: []Phase{{100, time.Second}, {50, time.Second}}}
	calls := arrivals(p, 2, rand.New(rand.NewPCG(1, 2)))
	var perPhase [2]int
	for i, c := range calls {
		if i > 0 && c < calls[i-1] {
			t.Fatalf("arrival %d at %v before arrival %d at %v", i, c, i-1, calls[i-1])
		}
		if c < 0 || c >= p.Length() {
			t.Fatalf("arrival %d at %v outside the run [0, %v)", i, c, p.Length())
		}
		perPhase[c/time.Second]++
	}
	for i, want := range []int{20000, 10000} { // 2 × capacity / 10ms, for 1s
		if got := perPhase[i]; got < want*9/10 || got > want*11/10 {
			t.Errorf("phase %d: %d arrivals, want about %d", i, got, want)
		}
	}
}
