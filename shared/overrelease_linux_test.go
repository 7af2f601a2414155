package shared_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/compio-sync/gosync/shared"
)

// gatedWaiter is a FutexWaiter except that, once armed, the next Wait it
// sees ignores wakes and its deadline and returns only when the gate is
// opened: the test decides when a queued waiter looks at its slot again.
type gatedWaiter struct {
	shared.FutexWaiter
	mu     sync.Mutex
	armed  bool
	gate   chan struct{}
	waiter chan struct{} // closed when the gated Wait began
}

func newGatedWaiter() *gatedWaiter {
	return &gatedWaiter{gate: make(chan struct{}), waiter: make(chan struct{})}
}

func (g *gatedWaiter) Wait(ctx context.Context, word *atomic.Uint32, val uint32) error {
	g.mu.Lock()
	gated := g.armed
	g.armed = false
	g.mu.Unlock()
	if !gated {
		return g.FutexWaiter.Wait(ctx, word, val)
	}
	close(g.waiter)
	<-g.gate
	return nil
}

func (g *gatedWaiter) arm() {
	g.mu.Lock()
	g.armed = true
	g.mu.Unlock()
}

// TestOverReleaseRacingACancelledGrant: a request granted in a race with
// its ctx ending gives its permits back (abandon), but an x/sync-style
// Release(n) of the same handle may already have returned them: the grant
// counted them as the handle's, so the Release, an over-release by the
// caller, was covered. The abandon then found fewer held than granted and
// panicked "corrupt region" with the region lock held, in the goroutine of
// the cancelled Acquire; where that panic is recovered (net/http recovers
// handlers' panics) the lock stayed held by a live process and every
// process hung. Now it returns what the handle still holds of them: the
// semaphore stays consistent and usable.
func TestOverReleaseRacingACancelledGrant(t *testing.T) {
	watchdog(t, 20*time.Second)
	a, name := create(t, 1)
	g := newGatedWaiter()
	b := attachTo(t, name, shared.WithWaiter(g))
	p, err := a.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	g.arm()
	got := make(chan error, 1)
	go func() {
		defer func() {
			if v := recover(); v != nil {
				got <- fmt.Errorf("panicked: %v", v)
			}
		}()
		_, err := b.Acquire(ctx)
		got <- err
	}()
	<-g.waiter  // queued, and asleep until the gate opens
	p.Release() // grants b's queued request
	if h := b.Held(); h != 1 {
		t.Fatalf("b.Held after its request was granted = %d, want 1", h)
	}
	b.Release(1) // the caller's over-release: the grant makes it look covered
	cancel()
	close(g.gate) // b's Acquire sees its ctx ended, and a grant
	if err := <-got; !errors.Is(err, context.Canceled) {
		t.Fatalf("Acquire cancelled in a race with its grant = %v, want context.Canceled", err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := a.CheckInvariants(); err != nil {
			t.Errorf("after the cancelled grant: %v", err)
		}
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatalf("the region lock is still held 5s after the cancelled Acquire returned")
	}
	if h := b.Held(); h != 0 {
		t.Errorf("b.Held = %d, want 0", h)
	}
	expectFullAndEmpty(t, a, 1)
}
