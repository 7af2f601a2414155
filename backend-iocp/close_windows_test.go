package iocp_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	iocp "github.com/compio-sync/gosync/backend-iocp"
	"go.uber.org/goleak"
)

func TestCloseFailsParkedAndLaterParks(t *testing.T) {
	defer goleak.VerifyNone(t)
	b, err := iocp.New()
	if err != nil {
		t.Fatal(err)
	}
	p, q := b.NewParker(), b.NewParker()
	done := parkAsync(context.Background(), p)
	time.Sleep(5 * time.Millisecond)
	q.Unpark() // a pending token does not outlive Close either
	if err := b.Close(); err != nil {
		t.Fatalf("Close() = %v, want nil", err)
	}
	if err := within(t, "parked Park after Close", done); !errors.Is(err, iocp.ErrClosed) {
		t.Fatalf("parked Park() after Close = %v, want an error wrapping iocp.ErrClosed", err)
	}
	for name, pk := range map[string]interface {
		Park(context.Context) error
		Unpark()
	}{"parked": p, "token pending": q, "created after Close": b.NewParker()} {
		pk.Unpark() // harmless after Close
		if err := pk.Park(context.Background()); !errors.Is(err, iocp.ErrClosed) {
			t.Errorf("Park() after Close on a Parker %s = %v, want an error wrapping iocp.ErrClosed", name, err)
		}
	}
}

func TestCloseIsIdempotent(t *testing.T) {
	defer goleak.VerifyNone(t)
	b, err := iocp.New()
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			if err := b.Close(); err != nil {
				t.Errorf("concurrent Close() = %v, want nil", err)
			}
		})
	}
	wg.Wait()
	if err := b.Close(); err != nil {
		t.Fatalf("Close() again = %v, want nil", err)
	}
}

// Close while goroutines park and unpark in a loop: every Park returns nil
// or ErrClosed, none hangs, and no goroutine is left.
func TestCloseUnderLoad(t *testing.T) {
	defer goleak.VerifyNone(t)
	b, err := iocp.New()
	if err != nil {
		t.Fatal(err)
	}
	const pairs, sleepers = 32, 1000
	var wg sync.WaitGroup
	errc := make(chan error, 2*pairs+sleepers)
	check := func(err error) bool {
		if err != nil && !errors.Is(err, iocp.ErrClosed) {
			errc <- err
		}
		return err == nil
	}
	for range pairs { // ping-pong until Close
		a, c := b.NewParker(), b.NewParker()
		wg.Go(func() {
			for check(a.Park(context.Background())) {
				c.Unpark()
			}
			c.Unpark()
		})
		wg.Go(func() {
			a.Unpark()
			for check(c.Park(context.Background())) {
				a.Unpark()
			}
		})
	}
	for range sleepers { // parked with no token coming
		p := b.NewParker()
		wg.Go(func() {
			if check(p.Park(context.Background())) {
				errc <- errors.New("Park() = nil for a Parker nobody unparked")
			}
		})
	}
	time.Sleep(50 * time.Millisecond)
	if err := b.Close(); err != nil {
		t.Fatalf("Close() under load = %v, want nil", err)
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	within(t, "goroutines returning after Close", done)
	close(errc)
	for err := range errc {
		t.Errorf("Park() = %v, want nil or an error wrapping iocp.ErrClosed", err)
	}
}
