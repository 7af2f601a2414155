package fleet_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/compio-sync/gosync/fleet"
)

// holders acquires k single permits from s.
func holders(t *testing.T, s *fleet.Semaphore, k int) []*fleet.Permit {
	t.Helper()
	ps := make([]*fleet.Permit, k)
	for i := range ps {
		p, err := s.Acquire(bg(t))
		if err != nil {
			t.Fatalf("Acquire %d of %d: %v", i+1, k, err)
		}
		ps[i] = p
	}
	return ps
}

// TestCloseWithMoreHoldersThanOneTxn: Close with more holders than one etcd
// Txn can rewrite closes the semaphore fleet-wide all the same, and every
// holder keeps its permits.
func TestCloseWithMoreHoldersThanOneTxn(t *testing.T) {
	watchdog(t, 60*time.Second)
	const k = 300
	ps := openProcs(t, sharedCluster(t), 2, k+1, uniqueOpts(t))
	held := holders(t, ps[0].sem, k)
	if err := ps[1].sem.CloseContext(bg(t)); err != nil {
		t.Fatalf("CloseContext with %d holders = %v, want nil", k, err)
	}
	st, err := ps[1].sem.Stats(bg(t))
	if err != nil || !st.Closed || st.InUse != k {
		t.Fatalf("after Close with %d holders: Stats = %+v, %v, want Closed, InUse %d", k, st, err, k)
	}
	ctx, cancel := context.WithTimeout(bg(t), 5*time.Second)
	defer cancel()
	if p, err := ps[1].sem.Acquire(ctx); !errors.Is(err, fleet.ErrClosed) {
		p.Release()
		t.Fatalf("Acquire after Close with %d holders = %v, want ErrClosed", k, err)
	}
	for i, p := range held {
		if p.Err() != nil {
			t.Fatalf("holder %d after Close: Err = %v, want nil", i, p.Err())
		}
	}
}

// TestShrinkWithMoreHoldersThanOneTxn: a shrink with more holders than one
// etcd Txn can rewrite takes effect, keeps every holder, and grants the
// next waiter only once InUse+1 fits the new maximum.
func TestShrinkWithMoreHoldersThanOneTxn(t *testing.T) {
	watchdog(t, 60*time.Second)
	const k = 300
	ps := openProcs(t, sharedCluster(t), 2, k, uniqueOpts(t))
	held := holders(t, ps[0].sem, k)
	if err := ps[1].sem.SetMaxPermitsContext(bg(t), 10); err != nil {
		t.Fatalf("SetMaxPermitsContext(10) with %d holders = %v, want nil", k, err)
	}
	st, err := ps[1].sem.Stats(bg(t))
	if err != nil || st.MaxPermits != 10 || st.InUse != k {
		t.Fatalf("after shrinking to 10 with %d holders: Stats = %+v, %v, want MaxPermits 10, InUse %d", k, st, err, k)
	}
	for _, p := range held[:k-9] {
		if p.Err() != nil {
			t.Fatalf("holder after the shrink: Err = %v, want nil", p.Err())
		}
		p.Release()
	}
	// 9 held of 10: one more fits, a second does not.
	if _, ok, err := ps[1].sem.TryAcquireNContext(bg(t), 2); ok || err != nil {
		t.Fatalf("TryAcquireN(2) with 9 of 10 held = %v, %v, want false, nil", ok, err)
	}
	p, ok, err := ps[1].sem.TryAcquireNContext(bg(t), 1)
	if !ok || err != nil {
		t.Fatalf("TryAcquire with 9 of 10 held = %v, %v, want true, nil", ok, err)
	}
	p.Release()
}
