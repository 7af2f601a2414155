package core_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/compio-sync/gosync/core"
)

func TestFastPathAllocatesNothing(t *testing.T) {
	s := core.NewSemaphore(4, chanBackend{})
	ctx := context.Background()
	allocs := testing.AllocsPerRun(1000, func() {
		p, err := s.AcquireN(ctx, 2)
		if err != nil {
			t.Fatal(err)
		}
		p.Release()
		q, ok := s.TryAcquire()
		if !ok {
			t.Fatal("TryAcquire failed on an idle semaphore")
		}
		q.Release()
	})
	if allocs != 0 {
		t.Errorf("fast path allocations = %v, want 0", allocs)
	}
}

func TestFIFOOrder(t *testing.T) {
	defer watchdog(t, 60*time.Second)()
	s := core.NewSemaphore(1, chanBackend{})
	hold, _ := s.TryAcquire()
	const n = 20
	var (
		mu    sync.Mutex
		order []int
		wg    sync.WaitGroup
	)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p, err := s.Acquire(context.Background())
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			order = append(order, i)
			mu.Unlock()
			p.Release()
		}()
		waitFor(t, "waiter to queue", func() bool { return s.Waiting() == i+1 })
	}
	if _, ok := s.TryAcquire(); ok {
		t.Fatal("TryAcquire succeeded while waiters were queued")
	}
	hold.Release()
	wg.Wait()
	for i, got := range order {
		if got != i {
			t.Fatalf("grant order = %v, want 0..%d in order", order, n-1)
		}
	}
	if got := s.InUse(); got != 0 {
		t.Errorf("InUse() after all released = %d, want 0", got)
	}
}

func TestCancelGrantRaceLeavesNothingHeld(t *testing.T) {
	defer watchdog(t, 60*time.Second)()
	s := core.NewSemaphore(2, chanBackend{})
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 2000 {
				ctx, cancel := context.WithCancel(context.Background())
				if i%3 == 0 {
					cancel()
				}
				go cancel()
				p, err := s.AcquireN(ctx, 1+i%2)
				if err == nil {
					if in := s.InUse(); in > 2 {
						t.Errorf("InUse() = %d > MaxPermits 2", in)
					}
					p.Release()
				} else if !errors.Is(err, context.Canceled) {
					t.Errorf("AcquireN error = %v, want context.Canceled", err)
				}
				cancel()
			}
		}()
	}
	wg.Wait()
	if in, av, w := s.InUse(), s.AvailablePermits(), s.Waiting(); in != 0 || av != 2 || w != 0 {
		t.Errorf("after race: InUse=%d Available=%d Waiting=%d, want 0 2 0", in, av, w)
	}
}

func TestCloseFailsWaitersAndKeepsReleaseWorking(t *testing.T) {
	defer watchdog(t, 60*time.Second)()
	s := core.NewSemaphore(1, chanBackend{})
	held, _ := s.TryAcquire()
	errs := make(chan error, 3)
	for range 3 {
		go func() { _, err := s.Acquire(context.Background()); errs <- err }()
	}
	waitFor(t, "3 waiters", func() bool { return s.Waiting() == 3 })
	s.Close()
	s.Close()
	for range 3 {
		if err := <-errs; !errors.Is(err, core.ErrClosed) {
			t.Errorf("queued Acquire after Close = %v, want ErrClosed", err)
		}
	}
	held.Release()
	if _, ok := s.TryAcquire(); ok {
		t.Error("TryAcquire after Close succeeded")
	}
	if got := s.AvailablePermits(); got != 1 {
		t.Errorf("AvailablePermits after Close and Release = %d, want 1", got)
	}
}

func TestShrinkBelowInUse(t *testing.T) {
	defer watchdog(t, 60*time.Second)()
	s := core.NewSemaphore(4, chanBackend{})
	p, _ := s.TryAcquireN(3)
	big := make(chan error, 1)
	go func() { _, err := s.AcquireN(context.Background(), 4); big <- err }()
	waitFor(t, "big waiter", func() bool { return s.Waiting() == 1 })
	s.SetMaxPermits(2)
	if err := <-big; !errors.Is(err, core.ErrTooLarge) {
		t.Errorf("queued AcquireN(4) after shrink to 2 = %v, want ErrTooLarge", err)
	}
	if in, av, mx := s.InUse(), s.AvailablePermits(), s.MaxPermits(); in != 3 || av != 0 || mx != 2 {
		t.Errorf("after shrink: InUse=%d Available=%d Max=%d, want 3 0 2", in, av, mx)
	}
	got := make(chan core.Permit, 1)
	go func() { q, _ := s.Acquire(context.Background()); got <- q }()
	waitFor(t, "small waiter", func() bool { return s.Waiting() == 1 })
	p.Release()
	q := <-got
	if in := s.InUse(); in != 1 {
		t.Errorf("InUse after release and grant = %d, want 1", in)
	}
	q.Release()
	func() {
		defer func() {
			if r := recover(); r == nil {
				t.Error("Release of more than held did not panic")
			}
		}()
		s.Release(1)
	}()
}
