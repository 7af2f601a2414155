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
	ps := openProcs(t, sharedCluster(t), 4, 10, uniqueOpts(t))
	shrinker, hb, yb := ps[0], ps[1].sem, ps[3].sem
	h, w := grantWhileChangeCommits(t, ps, "/max", func() error { return shrinker.sem.SetMaxPermitsContext(bg(t), 5) })
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
	if err := w.Err(); err != nil {
		t.Fatalf("W's Permit: Err = %v, want nil (its grant stands)", err)
	}
	if st, err := hb.Stats(bg(t)); err != nil || st.InUse != 2 {
		t.Fatalf("after H released: Stats = %+v, %v, want InUse 2 (W)", st, err)
	}
}

// TestCloseKeepsAGrantMadeWhileItCommits: the same interleaving with Close:
// the waiter granted between Close's read and its write keeps its permits
// (held permits stay valid after Close), and the state counts them.
func TestCloseKeepsAGrantMadeWhileItCommits(t *testing.T) {
	watchdog(t, 60*time.Second)
	ps := openProcs(t, sharedCluster(t), 4, 10, uniqueOpts(t))
	_, w := grantWhileChangeCommits(t, ps, "/closed", func() error { return ps[0].sem.CloseContext(bg(t)) })
	st, err := ps[1].sem.Stats(bg(t))
	if err != nil || !st.Closed || st.InUse != 10 {
		t.Fatalf("after Close landed: Stats = %+v, %v, want Closed, InUse 10 (H 8 and W 2 both still hold)", st, err)
	}
	if err := w.Err(); err != nil {
		t.Fatalf("W's Permit after Close: Err = %v, want nil", err)
	}
}

// grantWhileChangeCommits sets up, with a maximum of 10: H(8) holding in
// ps[1], X(5) and then W(2) waiting in ps[1] and ps[2]; then runs change
// from ps[0] with its Txn that puts a key ending in suffix held before it
// is sent, cancels X meanwhile so that W is granted, and lets the Txn go.
// It returns H's and W's Permits once change returned nil.
func grantWhileChangeCommits(t *testing.T, ps []*proc, suffix string, change func() error) (h, w *fleet.Permit) {
	t.Helper()
	hb, wb := ps[1].sem, ps[2].sem
	hold := holdTxns(t, ps[0].cli)
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

	hold.arm(putsKey(suffix))
	changed := make(chan error, 1)
	go func() { changed <- change() }()
	hold.wait(t, "the change")
	cancelX()
	if err := <-xerr; err != context.Canceled {
		t.Fatalf("cancelled waiter X = %v, want context.Canceled", err)
	}
	var wg got
	select {
	case wg = <-wgot:
	case <-time.After(10 * time.Second):
		t.Fatalf("waiter W not granted 10s after the waiter ahead of it was cancelled")
	}
	if wg.err != nil {
		t.Fatalf("waiter W = %v, want a grant (X ahead of it left, 8+2 <= 10)", wg.err)
	}
	hold.letGo()
	if err := <-changed; err != nil {
		t.Fatalf("the change = %v", err)
	}
	return h, wg.p
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
