//go:build linux || windows

package shared_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/compio-sync/gosync/shared"
)

// poke overwrites the word field (a header or state word, whose offset
// does not depend on the slot counts) of the region s maps with v, as a
// peer's stray store would.
func poke(t *testing.T, s *shared.Semaphore, field string, v uint64) {
	t.Helper()
	for _, f := range append(shared.RegionFields(1, 1), shared.LockOwnerField) {
		if f.Name == field {
			s.Poke(f, v)
			return
		}
	}
	t.Fatalf("no region field %q", field)
}

// TestCorruptQueueFailsEveryone: a queue head that names no waiter slot,
// found by a Release that serves the queue, fails that operation's
// transaction without a panic, and from then on the region is corrupt for
// everyone: the queued Acquire of another handle fails with ErrCorrupt at
// once (not at its poll), Err reports it on every handle, AcquireN and
// OpenExisting return it, TryAcquire fails, and Detach reports it.
func TestCorruptQueueFailsEveryone(t *testing.T) {
	watchdog(t, 20*time.Second)
	s, name := create(t, 1)
	b := attachTo(t, name)
	p, err := s.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	queued := make(chan error, 1)
	go func() { _, err := b.Acquire(context.Background()); queued <- err }()
	waitFor(t, func() bool { return s.Waiting() == 1 })
	poke(t, s, "head", 0xdead)
	p.Release() // serves the queue: finds the head out of range
	select {
	case err := <-queued:
		if !errors.Is(err, shared.ErrCorrupt) {
			t.Errorf("queued Acquire = %v, want ErrCorrupt", err)
		}
	case <-time.After(time.Second):
		t.Fatalf("queued Acquire still waiting 1s after the region was found corrupt")
	}
	for h, x := range []*shared.Semaphore{s, b} {
		if err := x.Err(); !errors.Is(err, shared.ErrCorrupt) {
			t.Errorf("handle %d: Err() = %v, want ErrCorrupt", h, err)
		}
	}
	if err := s.Err(); err == nil || !strings.Contains(err.Error(), "head link 57005") {
		t.Errorf("Err() of the handle that found it = %v, want it to name the head link 57005", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := s.Acquire(ctx); !errors.Is(err, shared.ErrCorrupt) {
		t.Errorf("Acquire after = %v, want ErrCorrupt", err)
	}
	if _, ok := b.TryAcquire(); ok {
		t.Errorf("TryAcquire on a corrupt region succeeded")
	}
	if h, err := shared.OpenExisting(name, platformOpts(t)...); !errors.Is(err, shared.ErrCorrupt) {
		if err == nil {
			h.Detach()
		}
		t.Errorf("OpenExisting of a corrupt region = %v, want ErrCorrupt", err)
	}
	if err := b.Detach(); !errors.Is(err, shared.ErrCorrupt) {
		t.Errorf("Detach = %v, want ErrCorrupt", err)
	}
}

// TestCorruptionFreezesThePools: once an operation finds the region
// corrupt, a handle whose pool holds free permits can no longer take them
// on the fast path (its pool is frozen with every other), so no Acquire
// succeeds on a region whose counts cannot be trusted.
func TestCorruptionFreezesThePools(t *testing.T) {
	watchdog(t, 20*time.Second)
	s, name := create(t, 4)
	c := attachTo(t, name)
	p, ok := c.TryAcquire()
	if !ok {
		t.Fatal("TryAcquire on an idle semaphore failed")
	}
	p.Release() // now free in c's pool
	if p, ok := c.TryAcquire(); !ok || !p.Fast() {
		t.Fatalf("re-acquire = %t, fast %t, want the fast path", ok, p.Fast())
	} else {
		p.Release()
	}
	poke(t, s, "available", 1<<62)
	if _, ok := s.TryAcquireN(4); ok {
		t.Fatalf("TryAcquireN(4) succeeded with available corrupted to 2^62")
	}
	if err := s.Err(); !errors.Is(err, shared.ErrCorrupt) {
		t.Fatalf("Err() after the lock path read available 2^62 = %v, want ErrCorrupt", err)
	}
	if p, ok := c.TryAcquire(); ok {
		t.Errorf("TryAcquire took a permit from its pool after the region was found corrupt (fast %t)", p.Fast())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := c.Acquire(ctx); !errors.Is(err, shared.ErrCorrupt) {
		t.Errorf("Acquire after = %v, want ErrCorrupt", err)
	}
}
