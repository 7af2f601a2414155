package core_test

import (
	"context"
	"errors"
	"maps"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/compio-sync/gosync/core"
)

// recorder is an Observer that keeps what it is told.
type recorder struct {
	mu   sync.Mutex
	seen []core.QueuedAcquire
}

func (r *recorder) AcquireWaited(q core.QueuedAcquire) {
	r.mu.Lock()
	r.seen = append(r.seen, q)
	r.mu.Unlock()
}

func (r *recorder) results() []core.AcquireResult {
	r.mu.Lock()
	defer r.mu.Unlock()
	var rs []core.AcquireResult
	for _, q := range r.seen {
		rs = append(rs, q.Result)
	}
	slices.Sort(rs)
	return rs
}

// statsOf returns a Semaphore's AcquireStats as a map, for got/want.
func statsOf(s *core.Semaphore) map[core.AcquireResult]uint64 {
	m := make(map[core.AcquireResult]uint64)
	st := s.AcquireStats()
	for _, r := range core.AcquireResults() {
		if c := st.Count(r); c != 0 {
			m[r] = c
		}
	}
	return m
}

func TestObservedFastPathAllocatesNothingAndCountsEveryGrant(t *testing.T) {
	s := core.NewSemaphore(4, chanBackend{}, core.WithObserver(&recorder{}))
	ctx := context.Background()
	allocs := testing.AllocsPerRun(1000, func() {
		p, err := s.AcquireN(ctx, 2)
		if err != nil {
			t.Fatal(err)
		}
		p.Release()
	})
	if allocs != 0 {
		t.Errorf("observed fast path allocations = %v, want 0", allocs)
	}
	// AllocsPerRun runs the function once more as a warm-up.
	if got := s.AcquireStats().Count(core.AcquireGranted); got != 1001 {
		t.Errorf("granted = %d after 1001 AcquireN, want 1001", got)
	}
}

func TestUnobservedSemaphoreCountsNothing(t *testing.T) {
	s := core.NewSemaphore(1, chanBackend{})
	p, _ := s.Acquire(context.Background())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s.Acquire(ctx)
	p.Release()
	if got := s.AcquireStats().Total(); got != 0 {
		t.Errorf("AcquireStats().Total() without an Observer = %d, want 0", got)
	}
}

// TestObserverSeesEveryOutcome drives one AcquireN to each outcome, queued
// and not, and checks the counts and the reports of the queued ones.
func TestObserverSeesEveryOutcome(t *testing.T) {
	defer watchdog(t, 30*time.Second)()
	rec := &recorder{}
	s := core.NewSemaphore(1, chanBackend{}, core.WithMaxWaiters(2), core.WithObserver(rec))
	bg := context.Background()

	hold, err := s.Acquire(bg) // granted, fast path
	if err != nil {
		t.Fatal(err)
	}
	granted := make(chan error, 1)
	go func() { p, err := s.Acquire(bg); p.Release(); granted <- err }()
	waitFor(t, "first waiter", func() bool { return s.Waiting() == 1 })
	ctx, cancel := context.WithCancel(bg)
	canceled := make(chan error, 1)
	go func() { _, err := s.Acquire(ctx); canceled <- err }()
	waitFor(t, "second waiter", func() bool { return s.Waiting() == 2 })

	if _, err := s.Acquire(bg); !errors.Is(err, core.ErrQueueFull) {
		t.Errorf("Acquire with the queue full = %v, want ErrQueueFull", err)
	}
	if _, err := s.AcquireN(bg, 2); !errors.Is(err, core.ErrTooLarge) {
		t.Errorf("AcquireN(2) of 1 = %v, want ErrTooLarge", err)
	}
	cancel()
	if err := <-canceled; !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled waiter = %v, want context.Canceled", err)
	}
	if _, err := s.Acquire(ctx); !errors.Is(err, context.Canceled) { // done before the call
		t.Errorf("Acquire(done ctx) = %v, want context.Canceled", err)
	}
	hold.Release()
	if err := <-granted; err != nil {
		t.Errorf("first waiter = %v, want nil", err)
	}
	hold, _ = s.Acquire(bg) // granted again, fast path
	closed := make(chan error, 1)
	go func() { _, err := s.Acquire(bg); closed <- err }()
	waitFor(t, "waiter before Close", func() bool { return s.Waiting() == 1 })
	s.Close()
	if err := <-closed; !errors.Is(err, core.ErrClosed) {
		t.Errorf("waiter at Close = %v, want ErrClosed", err)
	}
	if _, err := s.Acquire(bg); !errors.Is(err, core.ErrClosed) {
		t.Errorf("Acquire after Close = %v, want ErrClosed", err)
	}
	hold.Release()
	s.TryAcquire() // never counted

	want := map[core.AcquireResult]uint64{
		core.AcquireGranted:   3,
		core.AcquireCanceled:  2,
		core.AcquireQueueFull: 1,
		core.AcquireTooLarge:  1,
		core.AcquireClosed:    2,
	}
	if got := statsOf(s); !maps.Equal(got, want) {
		t.Errorf("AcquireStats = %v, want %v", got, want)
	}
	wantQueued := []core.AcquireResult{core.AcquireGranted, core.AcquireCanceled, core.AcquireClosed}
	if got := rec.results(); !slices.Equal(got, wantQueued) {
		t.Errorf("AcquireWaited results = %v, want %v (one per AcquireN that queued)", got, wantQueued)
	}
	for _, q := range rec.seen {
		// Windows' monotonic clock advances by timer ticks (Go reads the
		// interrupt time there), so a wait shorter than a tick measures
		// 0: a negative Wait is the failure there.
		if q.N != 1 || q.Wait < 0 || q.Wait == 0 && runtime.GOOS != "windows" {
			t.Errorf("AcquireWaited(%+v), want N 1 and a positive Wait", q)
		}
	}
}

// failingBackend's Parkers fail every Park.
type failingBackend struct{}

func (failingBackend) Name() string { return "failing" }
func (failingBackend) NewParker() core.Parker {
	return failingParker{}
}

type failingParker struct{}

func (failingParker) Park(context.Context) error { return errors.New("parking is broken") }
func (failingParker) Unpark()                    {}

func TestObserverSeesBackendFailure(t *testing.T) {
	rec := &recorder{}
	s := core.NewSemaphore(1, failingBackend{}, core.WithObserver(rec))
	hold, _ := s.Acquire(context.Background())
	if _, err := s.Acquire(context.Background()); err == nil {
		t.Fatal("Acquire on a failing backend = nil, want an error")
	}
	hold.Release()
	if got := statsOf(s); got[core.AcquireFailed] != 1 {
		t.Errorf("AcquireStats = %v, want failed 1", got)
	}
	if got := rec.results(); !slices.Equal(got, []core.AcquireResult{core.AcquireFailed}) {
		t.Errorf("AcquireWaited results = %v, want [failed]", got)
	}
}

// TestObservedCountsAddUpUnderLoad: goroutines race acquires (some queued,
// some cancelled, some refused by the queue bound) against an observed
// Semaphore; every outcome each goroutine saw is counted exactly once, on
// the fast path and the slow, and every queued one is reported once.
func TestObservedCountsAddUpUnderLoad(t *testing.T) {
	defer watchdog(t, 60*time.Second)()
	rec := &recorder{}
	s := core.NewSemaphore(2, chanBackend{}, core.WithMaxWaiters(3), core.WithObserver(rec))
	var mu sync.Mutex
	seen := make(map[core.AcquireResult]uint64)
	var wg sync.WaitGroup
	for g := range 6 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(g), 3))
			local := make(map[core.AcquireResult]uint64)
			for i := range 3000 {
				ctx, cancel := context.WithCancel(context.Background())
				if i%5 == 0 {
					go cancel()
				}
				p, err := s.AcquireN(ctx, 1+rng.IntN(2))
				cancel()
				switch {
				case err == nil:
					local[core.AcquireGranted]++
					p.Release()
				case errors.Is(err, context.Canceled):
					local[core.AcquireCanceled]++
				case errors.Is(err, core.ErrQueueFull):
					local[core.AcquireQueueFull]++
				default:
					t.Errorf("AcquireN = %v", err)
					return
				}
			}
			mu.Lock()
			for r, c := range local {
				seen[r] += c
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	if got := statsOf(s); !maps.Equal(got, seen) {
		t.Errorf("AcquireStats = %v, want what the callers saw, %v", got, seen)
	}
	var reported uint64
	for _, r := range rec.results() {
		if r != core.AcquireGranted && r != core.AcquireCanceled {
			t.Errorf("a queued AcquireN was reported as %v, want granted or canceled", r)
		}
		reported++
	}
	if total := seen[core.AcquireGranted] + seen[core.AcquireCanceled]; reported > total {
		t.Errorf("%d queued acquires reported, more than the %d granted or cancelled", reported, total)
	}
	t.Logf("outcomes %v, %d queued", seen, reported)
}

func TestSetObserverNilStopsCountingAndReattachKeepsCounts(t *testing.T) {
	s := core.NewSemaphore(1, chanBackend{})
	bg := context.Background()
	s.SetObserver(&recorder{})
	p, _ := s.Acquire(bg)
	p.Release()
	s.SetObserver(nil)
	p, _ = s.Acquire(bg)
	p.Release()
	if got := s.AcquireStats().Count(core.AcquireGranted); got != 1 {
		t.Errorf("granted after one observed and one unobserved Acquire = %d, want 1", got)
	}
	s.SetObserver(&recorder{})
	p, _ = s.Acquire(bg)
	p.Release()
	if got := s.AcquireStats().Count(core.AcquireGranted); got != 2 {
		t.Errorf("granted after re-attaching = %d, want 2 (counts only grow)", got)
	}
}

func TestWithObserverNilPanics(t *testing.T) {
	defer func() {
		if r := recover(); r == nil {
			t.Error("WithObserver(nil) did not panic")
		}
	}()
	core.WithObserver(nil)
}

func TestAcquireResultNames(t *testing.T) {
	var got []string
	for _, r := range core.AcquireResults() {
		got = append(got, r.String())
	}
	want := []string{"granted", "canceled", "closed", "too_large", "queue_full", "failed"}
	if !slices.Equal(got, want) {
		t.Errorf("AcquireResult names = %v, want %v", got, want)
	}
}

// TestSetObserverDuringTraffic attaches and detaches Observers while
// goroutines acquire, queue and release: the race detector checks the
// handover, and the counts never exceed what the callers saw nor go
// backwards.
func TestSetObserverDuringTraffic(t *testing.T) {
	defer watchdog(t, 60*time.Second)()
	s := core.NewSemaphore(1, chanBackend{})
	stop := make(chan struct{})
	var toggler sync.WaitGroup
	toggler.Go(func() {
		var last uint64
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if i%2 == 0 {
				s.SetObserver(&recorder{})
			} else {
				s.SetObserver(nil)
			}
			if total := s.AcquireStats().Total(); total < last {
				t.Errorf("AcquireStats().Total() went from %d to %d, want it never to decrease", last, total)
			} else {
				last = total
			}
			runtime.Gosched()
		}
	})
	var calls atomic.Uint64
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 2000 {
				p, err := s.Acquire(context.Background())
				if err != nil {
					t.Errorf("Acquire = %v", err)
					return
				}
				calls.Add(1)
				p.Release()
			}
		})
	}
	wg.Wait()
	close(stop)
	toggler.Wait()
	if got, max := s.AcquireStats().Count(core.AcquireGranted), calls.Load(); got > max {
		t.Errorf("granted = %d, more than the %d Acquire calls made", got, max)
	}
}
