package fleet_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/compio-sync/gosync/fleet"
)

// TestShrinkKeepsAGrantMadeWhileItCommits: a shrink reads the queue, and
// before its write lands a waiter ahead in the queue is cancelled, which
// grants the waiter behind it. The shrink must not take that grant back:
// the granted waiter keeps counting as held, a later shrink does not mark
// it too large, and nobody is granted its permits while it holds them.
func TestShrinkKeepsAGrantMadeWhileItCommits(t *testing.T) {
	watchdog(t, 60*time.Second)
	c := sharedCluster(t)
	ps := openProcs(t, c, 4, 10, uniqueOpts(t))
	shrinker, hb, wb, yb := ps[0], ps[1].sem, ps[2].sem, ps[3].sem
	hold := holdTxns(t, shrinker.cli)

	h, err := hb.AcquireN(bg(t), 8)
	if err != nil {
		t.Fatal(err)
	}
	xctx, cancelX := context.WithCancel(bg(t))
	defer cancelX()
	xerr := make(chan error, 1)
	go func() {
		_, err := hb.AcquireN(xctx, 5)
		xerr <- err
	}()
	waitWaiting(t, hb, 1)
	type got struct {
		p   *fleet.Permit
		err error
	}
	wgot := make(chan got, 1)
	go func() {
		p, err := wb.AcquireN(bg(t), 2)
		wgot <- got{p, err}
	}()
	waitWaiting(t, hb, 2)

	hold.arm(putsKey("/max"))
	shrunk := make(chan error, 1)
	go func() { shrunk <- shrinker.sem.SetMaxPermitsContext(bg(t), 5) }()
	hold.wait(t, "SetMaxPermits(5)")
	cancelX()
	if err := <-xerr; err != context.Canceled {
		t.Fatalf("cancelled waiter X = %v, want context.Canceled", err)
	}
	var w got
	select {
	case w = <-wgot:
	case <-time.After(10 * time.Second):
		t.Fatalf("waiter W not granted 10s after the waiter ahead of it was cancelled")
	}
	if w.err != nil {
		t.Fatalf("waiter W = %v, want a grant (X ahead of it left, 8+2 <= 10)", w.err)
	}
	hold.letGo()
	if err := <-shrunk; err != nil {
		t.Fatalf("SetMaxPermits(5) = %v", err)
	}
	st, err := hb.Stats(bg(t))
	if err != nil {
		t.Fatal(err)
	}
	if st.InUse != 10 || st.Waiting != 0 {
		t.Fatalf("after the shrink landed: Stats = %+v, want InUse 10 (H 8 and W 2 both still hold), Waiting 0", st)
	}

	if err := shrinker.sem.SetMaxPermitsContext(bg(t), 1); err != nil {
		t.Fatalf("SetMaxPermits(1) = %v", err)
	}
	if err := h.ReleaseContext(bg(t)); err != nil {
		t.Fatal(err)
	}
	if p, ok, err := yb.TryAcquireNContext(bg(t), 1); ok || err != nil {
		p.Release()
		t.Fatalf("TryAcquire(1) while W holds 2 of a maximum of 1 = %v, %v, want false, nil: over-admission", ok, err)
	}
	if err := w.p.Err(); err != nil {
		t.Fatalf("W's Permit: Err = %v, want nil (its grant stands)", err)
	}
	if st, err := hb.Stats(bg(t)); err != nil || st.InUse != 2 {
		t.Fatalf("after H released: Stats = %+v, %v, want InUse 2 (W)", st, err)
	}
}

// TestHeldKeyTheRuleStopsCountingIsReported: when the state in etcd stops
// counting a held key as granted (here a peer rewrites it as rejected,
// outside any shrink), the holder is told at once through its Permit, and
// the key is given up, rather than holding permits that others may be
// granted.
func TestHeldKeyTheRuleStopsCountingIsReported(t *testing.T) {
	watchdog(t, 30*time.Second)
	ps := openProcs(t, sharedCluster(t), 2, 2, uniqueOpts(t))
	p, err := ps[0].sem.AcquireN(bg(t), 2)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := ps[1].cli.Get(bg(t), fleet.PermitKey(p))
	if err != nil || len(resp.Kvs) != 1 {
		t.Fatalf("Get of the Permit's key = %v, %v", resp, err)
	}
	f := strings.Fields(string(resp.Kvs[0].Value))
	if _, err := ps[1].cli.Put(bg(t), fleet.PermitKey(p), f[0]+" r "+f[2], clientv3.WithIgnoreLease()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.Done():
	case <-time.After(5 * time.Second):
		t.Fatalf("Permit not Done 5s after its key was rewritten as rejected (Err %v): a holder the state no longer counts is not told", p.Err())
	}
	if !errors.Is(p.Err(), fleet.ErrNotGranted) {
		t.Fatalf("Permit.Err = %v, want ErrNotGranted", p.Err())
	}
	eventually(t, 5*time.Second, func() string {
		if r, err := ps[1].cli.Get(bg(t), fleet.PermitKey(p)); err != nil || len(r.Kvs) != 0 {
			return fmt.Sprintf("the key the state stopped counting still exists (%v)", err)
		}
		return ""
	})
}

// TestUnfinishedSettlingIsFinished: a shrink whose process died right after
// its first Txn (the new maximum and the settle key, written here by a raw
// client) is finished by a process of the fleet: the holder is pinned, the
// freeze ends, and a waiter that fits is granted.
func TestUnfinishedSettlingIsFinished(t *testing.T) {
	watchdog(t, 30*time.Second)
	opts := uniqueOpts(t)
	ps := openProcs(t, sharedCluster(t), 2, 4, opts)
	h, err := ps[0].sem.AcquireN(bg(t), 2)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := ps[1].cli.Get(bg(t), fleet.PermitKey(h))
	if err != nil || len(resp.Kvs) != 1 {
		t.Fatalf("Get of the holder's key = %v, %v", resp, err)
	}
	pfx := strings.TrimSuffix(fleet.PermitKey(h), "q/"+strings.SplitN(fleet.PermitKey(h), "q/", 2)[1])
	if _, err := ps[1].cli.Txn(bg(t)).Then(
		clientv3.OpPut(pfx+"max", fmt.Sprintf("%020d", 3)),
		clientv3.OpPut(pfx+"settle", "4 0"),
	).Commit(); err != nil {
		t.Fatal(err)
	}
	got := make(chan error, 1)
	go func() {
		p, err := ps[1].sem.Acquire(bg(t))
		if err == nil {
			p.Release()
		}
		got <- err
	}()
	select {
	case err := <-got:
		if err != nil {
			t.Fatalf("waiter for 1 with 2 of 3 held = %v, want a grant once the shrink is settled", err)
		}
	case <-time.After(10 * time.Second):
		st, _ := ps[1].sem.Stats(bg(t))
		t.Fatalf("waiter not granted 10s after a shrink was left settling (Stats %+v): nobody finished it", st)
	}
	r, err := ps[1].cli.Get(bg(t), fleet.PermitKey(h))
	if err != nil || len(r.Kvs) != 1 || !strings.Contains(string(r.Kvs[0].Value), " p ") {
		t.Fatalf("holder's key after settling = %v, %v, want it pinned", r, err)
	}
	if h.Err() != nil {
		t.Fatalf("holder: Err = %v, want nil", h.Err())
	}
}
