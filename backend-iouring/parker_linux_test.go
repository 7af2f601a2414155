package iouring_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	iouring "github.com/compio-sync/gosync/backend-iouring"
)

func TestNameIsIouring(t *testing.T) {
	if got := newBackend(t).Name(); got != "iouring" {
		t.Fatalf("Name() = %q, want %q", got, "iouring")
	}
}

func TestTokenBeforeParkIsConsumedAtOnce(t *testing.T) {
	watchdog(t, time.Minute)
	p := newBackend(t).NewParker()
	p.Unpark()
	if err := p.Park(context.Background()); err != nil {
		t.Fatalf("Park after Unpark = %v, want nil", err)
	}
}

func TestUnparksWhileTokenPendingCoalesce(t *testing.T) {
	watchdog(t, time.Minute)
	p := newBackend(t).NewParker()
	p.Unpark()
	p.Unpark()
	p.Unpark()
	if err := p.Park(context.Background()); err != nil {
		t.Fatalf("first Park = %v, want nil", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := p.Park(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second Park after three coalesced Unparks = %v, want DeadlineExceeded", err)
	}
}

func TestParkSleepsUntilUnparkFromAnotherGoroutine(t *testing.T) {
	watchdog(t, time.Minute)
	b := newBackend(t)
	p := b.NewParker()
	done := make(chan error)
	go func() { done <- p.Park(context.Background()) }()
	waitFor(func() bool { return iouring.InFlight(b) == 1 }) // the wait is in the kernel
	select {
	case err := <-done:
		t.Fatalf("Park returned %v before any Unpark", err)
	default:
	}
	p.Unpark()
	if err := <-done; err != nil {
		t.Fatalf("Park = %v, want nil", err)
	}
}

func TestCancelledParkLeavesLaterTokenPending(t *testing.T) {
	watchdog(t, time.Minute)
	b := newBackend(t)
	p := b.NewParker()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- p.Park(ctx) }()
	waitFor(func() bool { return iouring.InFlight(b) == 1 })
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Park with cancelled ctx = %v, want context.Canceled", err)
	}
	if n := iouring.InFlight(b); n != 0 {
		t.Fatalf("after the cancelled Park returned, %d waits are still in flight", n)
	}
	p.Unpark()
	if err := p.Park(context.Background()); err != nil {
		t.Fatalf("Park after a cancelled Park and an Unpark = %v, want nil", err)
	}
}

// TestCancelRacingUnparkKeepsExactlyOneToken races ctx cancellation with
// Unpark many times. Whatever Park returns, the token exists exactly once:
// consumed (nil) or still pending (ctx.Err()) — including when the
// ASYNC_CANCEL loses to the wake and the wait completes with 0.
func TestCancelRacingUnparkKeepsExactlyOneToken(t *testing.T) {
	watchdog(t, 2*time.Minute)
	b := newBackend(t)
	cancelRacingUnpark(t, b, func(any) bool { return iouring.InFlight(b) == 1 })
}

// cancelRacingUnpark parks on a fresh Parker of b 2000 times, cancelling
// the Park and unparking it at the same moment, every other time once
// parked(p) says the wait is armed, and checks that the one token was either
// consumed (Park = nil, none left) or left pending (Park = ctx.Err(), one
// left), never lost or doubled.
func cancelRacingUnpark(t *testing.T, b *iouring.Backend, parked func(p any) bool) {
	t.Helper()
	p := b.NewParker()
	cancelled, cancelAll := context.WithCancel(context.Background())
	cancelAll()
	var nils, cancels int
	for i := 0; i < 2000; i++ {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- p.Park(ctx) }()
		if i%2 == 0 {
			waitFor(func() bool { return parked(p) })
		}
		var wg sync.WaitGroup
		wg.Add(2)
		go func() { defer wg.Done(); cancel() }()
		go func() { defer wg.Done(); p.Unpark() }()
		wg.Wait()
		err := <-done
		// A Park with a done ctx consumes a pending token (nil) or reports
		// ctx.Err() when there is none: it probes the token count.
		probe := p.Park(cancelled)
		switch {
		case err == nil:
			nils++
			if !errors.Is(probe, context.Canceled) {
				t.Fatalf("cycle %d: Park = nil, then a second token was found (%v)", i, probe)
			}
		case errors.Is(err, context.Canceled):
			cancels++
			if probe != nil {
				t.Fatalf("cycle %d: Park = %v, and the Unpark's token was lost (probe = %v)", i, err, probe)
			}
		default:
			t.Fatalf("cycle %d: Park = %v, want nil or context.Canceled", i, err)
		}
	}
	t.Logf("outcomes: %d consumed, %d cancelled with token left pending", nils, cancels)
}

func TestParkerReusableForManyPingPongCycles(t *testing.T) {
	watchdog(t, 2*time.Minute)
	for _, tc := range []struct {
		name string
		opts []iouring.Option
	}{
		{"futex-syscall-wake", nil},
		{"ring-wake", []iouring.Option{iouring.WithRingWake()}},
		{"tiny-ring", []iouring.Option{iouring.WithRingSize(2, 2)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBackend(t, tc.opts...)
			ping, pong := b.NewParker(), b.NewParker()
			const cycles = 5000
			shared := 0 // written before Unpark, read after Park: checks happens-before under -race
			errc := make(chan error, 1)
			go func() {
				for i := 0; i < cycles; i++ {
					if err := ping.Park(context.Background()); err != nil {
						errc <- err
						return
					}
					shared++
					pong.Unpark()
				}
				errc <- nil
			}()
			for i := 0; i < cycles; i++ {
				shared++
				ping.Unpark()
				if err := pong.Park(context.Background()); err != nil {
					t.Fatalf("cycle %d: Park = %v", i, err)
				}
			}
			if err := <-errc; err != nil {
				t.Fatal(err)
			}
			if shared != 2*cycles {
				t.Fatalf("shared = %d, want %d", shared, 2*cycles)
			}
		})
	}
}

// TestTenThousandParkedUseFewThreads parks 10,000 goroutines at once, each
// an in-flight FUTEX_WAIT, and checks the process stays under 32 OS threads:
// no thread is blocked per waiter.
func TestTenThousandParkedUseFewThreads(t *testing.T) {
	watchdog(t, 3*time.Minute)
	b := newBackend(t)
	const n = 10000
	parkers := make([]interface {
		Park(context.Context) error
		Unpark()
	}, n)
	errc := make(chan error, n)
	for i := range parkers {
		parkers[i] = b.NewParker()
		go func() { errc <- parkers[i].Park(context.Background()) }()
	}
	waitFor(func() bool { return iouring.InFlight(b) == n })
	if th := osThreads(t); th >= 32 {
		t.Fatalf("with %d goroutines parked the process has %d OS threads, want < 32", n, th)
	} else {
		t.Logf("%d parked goroutines, %d OS threads", n, th)
	}
	for _, p := range parkers {
		p.Unpark()
	}
	for range n {
		if err := <-errc; err != nil {
			t.Fatalf("Park = %v, want nil", err)
		}
	}
}
