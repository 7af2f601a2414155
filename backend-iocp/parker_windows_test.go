package iocp_test

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	iocp "github.com/compio-sync/gosync/backend-iocp"
	"github.com/compio-sync/gosync/core"
)

func TestNameIsIOCP(t *testing.T) {
	if got := newBackend(t).Name(); got != "iocp" {
		t.Fatalf("Name() = %q, want %q", got, "iocp")
	}
}

func TestNewRejectsInvalidOptions(t *testing.T) {
	for _, opt := range []iocp.Option{iocp.WithBatchSize(0), iocp.WithBatchSize(-1), nil} {
		if b, err := iocp.New(opt); err == nil {
			b.Close()
			t.Errorf("New(invalid option) = %v, nil; want an error", b)
		}
	}
}

func TestNewParkerHasNoToken(t *testing.T) {
	mustHaveNoToken(t, newBackend(t).NewParker())
}

func TestTokenBeforeParkIsConsumedAtOnce(t *testing.T) {
	p := newBackend(t).NewParker()
	p.Unpark()
	mustPark(t, p)
	mustHaveNoToken(t, p)
}

// A token whose packet has already been dequeued is consumed even when ctx
// is already done: Park looks for it before it looks at ctx.
func TestDeliveredTokenWinsOverDoneContext(t *testing.T) {
	p := newBackend(t).NewParker()
	p.Unpark()
	mustPark(t, p) // proves the round trip through the port works
	p.Unpark()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	// The packet may still be in the port; wait until Park with a live ctx
	// could consume it, without consuming it: poll with done contexts.
	deadline := time.Now().Add(hangAfter)
	for {
		err := p.Park(ctx)
		if err == nil {
			break
		}
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Park(cancelled ctx) = %v, want nil or context.Canceled", err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("token never delivered within %v", hangAfter)
		}
		time.Sleep(time.Millisecond)
	}
	mustHaveNoToken(t, p)
}

func TestUnparksCoalesceIntoOneToken(t *testing.T) {
	p := newBackend(t).NewParker()
	// Coalesce while the first token's packet is (likely) still in the port.
	p.Unpark()
	p.Unpark()
	p.Unpark()
	mustPark(t, p)
	mustHaveNoToken(t, p)

	// Coalesce after the first token has (likely) been delivered.
	p.Unpark()
	time.Sleep(10 * time.Millisecond)
	p.Unpark()
	mustPark(t, p)
	mustHaveNoToken(t, p)
}

func TestParkBlocksUntilUnpark(t *testing.T) {
	p := newBackend(t).NewParker()
	done := parkAsync(context.Background(), p)
	time.Sleep(10 * time.Millisecond) // let Park block (the test is valid either way)
	select {
	case err := <-done:
		t.Fatalf("Park() = %v before any Unpark, want it to block", err)
	default:
	}
	p.Unpark()
	if err := within(t, "Park after Unpark", done); err != nil {
		t.Fatalf("Park() = %v, want nil", err)
	}
	mustHaveNoToken(t, p)
}

func TestNoSpuriousReturns(t *testing.T) {
	b := newBackend(t)
	p := b.NewParker()
	// Traffic on other Parkers of the same port must not wake p.
	other := b.NewParker()
	for range 20 {
		other.Unpark()
		mustHaveNoToken(t, p)
		mustPark(t, other)
	}
}

func TestCancelledParkLeavesLaterToken(t *testing.T) {
	p := newBackend(t).NewParker()

	ctx, cancel := context.WithCancel(context.Background())
	done := parkAsync(ctx, p)
	time.Sleep(5 * time.Millisecond)
	cancel()
	if err := within(t, "Park after cancel", done); !errors.Is(err, context.Canceled) {
		t.Fatalf("Park(cancelled) = %v, want context.Canceled", err)
	}
	p.Unpark()
	mustPark(t, p)
	mustHaveNoToken(t, p)

	// A ctx already done, with no token: ctx.Err() at once, nothing consumed.
	if err := p.Park(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Park(done ctx) with no token = %v, want context.Canceled", err)
	}
	p.Unpark()
	mustPark(t, p)

	// A deadline that expires.
	mustHaveNoToken(t, p)
	p.Unpark()
	mustPark(t, p)
}

// Either outcome is allowed when a token races a cancellation, but never
// both: a ctx error leaves the token, nil consumes it.
func TestTokenRacingCancelIsConsumedExactlyOnce(t *testing.T) {
	p := newBackend(t).NewParker()
	for range 200 {
		ctx, cancel := context.WithCancel(context.Background())
		done := parkAsync(ctx, p)
		go p.Unpark()
		go cancel()
		switch err := within(t, "Park racing Unpark and cancel", done); {
		case err == nil:
			mustHaveNoToken(t, p)
		case errors.Is(err, context.Canceled):
			mustPark(t, p) // the token stayed pending
			mustHaveNoToken(t, p)
		default:
			t.Fatalf("Park() = %v, want nil or context.Canceled", err)
		}
		cancel()
	}
}

func TestConcurrentUnparksLeaveOneToken(t *testing.T) {
	p := newBackend(t).NewParker()
	for range 50 {
		var start, wg sync.WaitGroup
		start.Add(1)
		for range 8 {
			wg.Go(func() {
				start.Wait()
				p.Unpark()
			})
		}
		start.Done()
		wg.Wait()
		mustPark(t, p)
		mustHaveNoToken(t, p)
	}
}

// pingPong bounces control between two goroutines through two Parkers of
// b, rounds times, and checks that each side sees the other's plain writes
// (the contract's happens-before edge).
func pingPong(t *testing.T, b core.Backend, rounds int) {
	t.Helper()
	ping, pong := b.NewParker(), b.NewParker()
	var shared int // written alternately, ordered only by Unpark -> Park
	errc := make(chan error, 1)
	go func() {
		for i := range rounds {
			if err := ping.Park(context.Background()); err != nil {
				errc <- err
				return
			}
			if shared != 2*i+1 {
				errc <- errors.New("ponger did not see the pinger's write")
				return
			}
			shared++
			pong.Unpark()
		}
		errc <- nil
	}()
	for i := range rounds {
		shared++
		ping.Unpark()
		if err := within(t, "pong", parkAsync(context.Background(), pong)); err != nil {
			t.Fatalf("round %d: Park() = %v", i, err)
		}
		if shared != 2*i+2 {
			t.Fatalf("round %d: shared = %d, want %d: the ponger's write is not visible", i, shared, 2*i+2)
		}
	}
	if err := within(t, "ponger exit", errc); err != nil {
		t.Fatal(err)
	}
}

func TestParkersAreReusableForManyCycles(t *testing.T) {
	pingPong(t, newBackend(t), 5000)
}

func TestOneEntryBatchesDeliverEveryToken(t *testing.T) {
	pingPong(t, newBackend(t, iocp.WithBatchSize(1)), 2000)
}

// A waiter that re-checks a counter before parking never misses a wakeup:
// the classic lost-wakeup handshake, run on many Parkers of one port at
// once so that batches mix keys. The producer waits for each increment to
// be seen before the next, so the consumer parks in most rounds.
func TestNoLostWakeupsUnderLoad(t *testing.T) {
	b := newBackend(t)
	const pairs, perPair = 32, 200
	var wg sync.WaitGroup
	errc := make(chan error, pairs)
	for range pairs {
		p := b.NewParker()
		var sent, seen atomic.Int64
		wg.Go(func() { // producer
			for i := int64(1); i <= perPair; i++ {
				sent.Store(i)
				p.Unpark()
				for seen.Load() < i {
					runtime.Gosched()
				}
			}
		})
		wg.Go(func() { // consumer
			for seen.Load() < perPair {
				if n := sent.Load(); n > seen.Load() {
					seen.Store(n)
					continue
				}
				if err := p.Park(context.Background()); err != nil {
					errc <- err
					return
				}
			}
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	within(t, "lost-wakeup handshake", done)
	close(errc)
	for err := range errc {
		t.Errorf("Park() = %v, want nil", err)
	}
}
