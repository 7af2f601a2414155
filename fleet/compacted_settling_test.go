package fleet_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/compio-sync/gosync/fleet"
)

// The tests below shrink a semaphore from 3 to 1 while H1 (1) and H2 (2)
// hold and W (1) waits behind them, compact etcd past the shrink before it
// is settled, so that the revision just before it can no longer be read,
// and release H1 meanwhile. The rule before the shrink applied to the keys
// left afterwards grants W (H2 2 + W 1 fit in 3), but W was waiting when
// the maximum shrank: pinning it would grant it 1 more permit while H2
// holds 2 of a maximum of 1. Each of the first three tests reaches the
// settling by another path and checks that W stays queued until H2
// releases; the last one settles with nothing known of before the shrink.

// TestCompactedSettlingGrantsNoWaiterOfBefore: the shrink's process died
// right after its first Txn (written here by a raw client), and every
// settling Txn the other processes send before H1 is released fails. The
// processes that watched the shrink land settle it from what their watch
// showed them just before it, not from the keys left afterwards.
func TestCompactedSettlingGrantsNoWaiterOfBefore(t *testing.T) {
	watchdog(t, 60*time.Second)
	sc := newShrinkCase(t, settles)
	raw := sc.c.client(t)
	compactAt(t, raw, rawShrink(t, raw, sc.pfx, 1, "3 0"))
	if err := sc.h1.ReleaseContext(bg(t)); err != nil {
		t.Fatal(err)
	}
	// A settling Txn sent before the release failed: the next one is
	// decided on the keys left after it.
	for _, h := range sc.holds {
		h.drop()
	}
	waitSettled(t, raw, sc.pfx)
	sc.wantOnlyH2Holds(t, sc.ps[1].sem)
}

// TestSettlingFinishedFromTheRecordedHead: the shrink's process records
// the queue's head with its first pins and then stops before it ends the
// freeze (its last Txn is held here, and so is every other process's), and
// a process that opens only after the compaction and the release, with no
// memory of the shrink and no revision before it left to read, finishes
// the settling from that record.
func TestSettlingFinishedFromTheRecordedHead(t *testing.T) {
	watchdog(t, 60*time.Second)
	sc := newShrinkCase(t, deletesKey("/settle"))
	shrunk := sc.shrink(t)
	sc.holds[0].waitHeld(t, 1, "the shrink's Txn that ends the freeze")
	raw := sc.c.client(t)
	compactAt(t, raw, headRevision(t, raw))
	if err := sc.h1.ReleaseContext(bg(t)); err != nil {
		t.Fatal(err)
	}
	late, err := fleet.Open(bg(t), sc.c.client(t), "sem", sc.opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = late.Detach(context.Background()) })
	waitSettled(t, raw, sc.pfx)
	sc.wantOnlyH2Holds(t, late)
	for _, h := range sc.holds {
		h.letGo()
	}
	waitShrunk(t, shrunk, "whose settling another process finished, once its held Txn was let go")
}

// TestShrinkCompactedRightAfterItsTxnPinsNoWaiter: etcd compacts the
// revision before the shrink, and H1 is released, between the shrink's
// first Txn landing and its process's next step (the Txn's response is
// held here). The process settles its own shrink from what that Txn read.
func TestShrinkCompactedRightAfterItsTxnPinsNoWaiter(t *testing.T) {
	watchdog(t, 60*time.Second)
	sc := newShrinkCase(t, nil)
	sc.holds[0].armAfter(putsKey("/settle"))
	shrunk := sc.shrink(t)
	sc.holds[0].wait(t, "the shrink")
	raw := sc.c.client(t)
	compactAt(t, raw, headRevision(t, raw))
	if err := sc.h1.ReleaseContext(bg(t)); err != nil {
		t.Fatal(err)
	}
	sc.holds[0].letGo()
	waitShrunk(t, shrunk, "once its first Txn's response was let go")
	sc.wantOnlyH2Holds(t, sc.ps[1].sem)
}

// TestSettlingWithNoRecordOfBeforePinsNoLaterKey: nothing at all is left of
// what was granted before a shrink (its process died right after its first
// Txn, written here by a raw client, no process watched it land, and etcd
// compacted the revision before it). The process that settles it pins H,
// which held before, and not N, queued after the shrink: the rule before
// the shrink applied to today's keys would grant N too (H 2 + N 1 fit in
// 3), but N came after the change and was never granted.
func TestSettlingWithNoRecordOfBeforePinsNoLaterKey(t *testing.T) {
	watchdog(t, 60*time.Second)
	c := sharedCluster(t)
	prefix := uniquePrefix(t)
	pfx := prefix + "sem/"
	raw := c.client(t)
	lease, err := raw.Grant(bg(t), 60)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = raw.Revoke(context.Background(), lease.ID) })
	if _, err := raw.Put(bg(t), pfx+"max", fmt.Sprintf("%020d", 3)); err != nil {
		t.Fatal(err)
	}
	h := fmt.Sprintf("%sq/%016x-%016x", pfx, int64(lease.ID), 1)
	n := fmt.Sprintf("%sq/%016x-%016x", pfx, int64(lease.ID), 2)
	if _, err := raw.Put(bg(t), h, "2 w 0", clientv3.WithLease(lease.ID)); err != nil {
		t.Fatal(err)
	}
	change := rawShrink(t, raw, pfx, 1, "3 0")
	compactAt(t, raw, change)
	if _, err := raw.Put(bg(t), n, "1 w 0", clientv3.WithLease(lease.ID)); err != nil {
		t.Fatal(err)
	}
	late, err := fleet.Open(bg(t), c.client(t), "sem", fleet.WithPrefix(prefix), fleet.WithTTL(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = late.Detach(context.Background()) })
	waitSettled(t, raw, pfx)
	if f := flagOf(t, raw, h); f != "p" {
		t.Fatalf("H, holding 2 when the maximum shrank: flag %q after settling, want \"p\" (pinned)", f)
	}
	if f := flagOf(t, raw, n); f != "w" {
		t.Fatalf("N, queued after the shrink: flag %q after settling, want \"w\": pinned, it holds 1 while H holds 2 of a maximum of 1", f)
	}
	if st, err := late.Stats(bg(t)); err != nil || st.InUse != 2 || st.Waiting != 1 {
		t.Fatalf("after settling: Stats = %+v, %v, want InUse 2 (H), Waiting 1 (N)", st, err)
	}
	if _, err := raw.Delete(bg(t), h); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, func() string {
		if st, err := late.Stats(bg(t)); err != nil || st.InUse != 1 || st.Waiting != 0 {
			return fmt.Sprintf("after H left: Stats = %+v, %v, want InUse 1 (N granted), Waiting 0", st, err)
		}
		return ""
	})
}

// shrinkCase is the semaphore the shrink tests start from: two
// processes, ps[0] holding H1 (1) and H2 (2) of 3, ps[1] with W (1)
// queued behind them, and a txnHold on each process's client.
type shrinkCase struct {
	c      *cluster
	pfx    string // the semaphore's keys
	opts   []fleet.Option
	ps     []*proc
	holds  []*txnHold
	h1, h2 *fleet.Permit
	w      chan acquired
}

// acquired is the outcome of an Acquire run in the background.
type acquired struct {
	p   *fleet.Permit
	err error
}

// newShrinkCase sets a shrinkCase up and, if match is not nil, arms both
// holds to hold every Txn that satisfies it.
func newShrinkCase(t *testing.T, match func([]clientv3.Op) bool) *shrinkCase {
	t.Helper()
	prefix := uniquePrefix(t)
	sc := &shrinkCase{c: sharedCluster(t), pfx: prefix + "sem/", opts: []fleet.Option{fleet.WithPrefix(prefix), fleet.WithTTL(2 * time.Second)}}
	sc.ps = openProcs(t, sc.c, 2, 3, sc.opts)
	var err error
	if sc.h1, err = sc.ps[0].sem.AcquireN(bg(t), 1); err != nil {
		t.Fatal(err)
	}
	if sc.h2, err = sc.ps[0].sem.AcquireN(bg(t), 2); err != nil {
		t.Fatal(err)
	}
	sc.w = make(chan acquired, 1)
	go func() {
		p, err := sc.ps[1].sem.AcquireN(bg(t), 1)
		sc.w <- acquired{p, err}
	}()
	waitWaiting(t, sc.ps[0].sem, 1)
	sc.holds = []*txnHold{holdTxns(t, sc.ps[0].cli), holdTxns(t, sc.ps[1].cli)}
	if match != nil {
		for _, h := range sc.holds {
			h.armEvery(match)
		}
	}
	return sc
}

// shrink runs SetMaxPermitsContext(1) in ps[0] and returns its outcome.
func (sc *shrinkCase) shrink(t *testing.T) chan error {
	shrunk := make(chan error, 1)
	go func() { shrunk <- sc.ps[0].sem.SetMaxPermitsContext(bg(t), 1) }()
	return shrunk
}

// waitShrunk checks that the shrink returns nil, when is what it has just
// been let do.
func waitShrunk(t *testing.T, shrunk chan error, when string) {
	t.Helper()
	select {
	case err := <-shrunk:
		if err != nil {
			t.Fatalf("SetMaxPermitsContext(1) %s = %v, want nil", when, err)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("SetMaxPermitsContext(1) still running 10s %s", when)
	}
}

// wantOnlyH2Holds checks, once the shrink to 1 is settled, that H2 alone
// holds and W waits (s reads the Stats); then releases H2 and checks that W
// is granted.
func (sc *shrinkCase) wantOnlyH2Holds(t *testing.T, s *fleet.Semaphore) {
	t.Helper()
	st, err := s.Stats(bg(t))
	if err != nil {
		t.Fatal(err)
	}
	if st.MaxPermits != 1 || st.InUse != 2 || st.Waiting != 1 {
		t.Fatalf("after settling: Stats = %+v, want MaxPermits 1, InUse 2 (H2), Waiting 1 (W): W, waiting when the maximum shrank, was granted while H2 holds 2 of 1", st)
	}
	select {
	case got := <-sc.w:
		if got.err == nil {
			got.p.Release()
		}
		t.Fatalf("W = %v, %v while H2 holds 2 of a maximum of 1, want it still queued", got.p, got.err)
	default:
	}
	if err := sc.h2.Err(); err != nil {
		t.Fatalf("H2's Permit: Err = %v, want nil (its grant stands)", err)
	}
	if err := sc.h2.ReleaseContext(bg(t)); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-sc.w:
		if got.err != nil {
			t.Fatalf("W once H2 released = %v, want a grant", got.err)
		}
		got.p.Release()
	case <-time.After(10 * time.Second):
		t.Fatalf("W not granted 10s after H2 released")
	}
}

// headRevision returns the cluster's current revision.
func headRevision(t *testing.T, cli *clientv3.Client) int64 {
	t.Helper()
	resp, err := cli.Get(bg(t), "/")
	if err != nil {
		t.Fatal(err)
	}
	return resp.Header.Revision
}

// rawShrink writes a shrink's first Txn as a process of the fleet does, the
// maximum and the settle key with the rule before it, and returns its
// revision.
func rawShrink(t *testing.T, cli *clientv3.Client, pfx string, max int, before string) int64 {
	t.Helper()
	resp, err := cli.Txn(bg(t)).Then(
		clientv3.OpPut(pfx+"max", fmt.Sprintf("%020d", max)),
		clientv3.OpPut(pfx+"settle", before),
	).Commit()
	if err != nil {
		t.Fatal(err)
	}
	return resp.Header.Revision
}

// compactAt compacts etcd at rev: every revision before it is gone.
func compactAt(t *testing.T, cli *clientv3.Client, rev int64) {
	t.Helper()
	if _, err := cli.Compact(bg(t), rev, clientv3.WithCompactPhysical()); err != nil {
		t.Fatalf("Compact(%d): %v", rev, err)
	}
	if _, err := cli.Get(bg(t), "/", clientv3.WithRev(rev-1)); err == nil {
		t.Fatalf("Get at revision %d after Compact(%d) succeeded, want ErrCompacted", rev-1, rev)
	}
}

// waitSettled waits until the settle key under pfx is gone.
func waitSettled(t *testing.T, cli *clientv3.Client, pfx string) {
	t.Helper()
	eventually(t, 15*time.Second, func() string {
		resp, err := cli.Get(bg(t), pfx+"settle")
		if err != nil || len(resp.Kvs) != 0 {
			return fmt.Sprintf("the shrink is still settling (%v)", err)
		}
		return ""
	})
}

// flagOf returns the flag field of a queue key, or "" if it is gone.
func flagOf(t *testing.T, cli *clientv3.Client, key string) string {
	t.Helper()
	resp, err := cli.Get(bg(t), key)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Kvs) == 0 {
		return ""
	}
	return strings.Fields(string(resp.Kvs[0].Value))[1]
}

// settles matches a settling Txn: one that pins or rejects queue keys or
// ends the freeze.
func settles(ops []clientv3.Op) bool {
	if deletesKey("/settle")(ops) {
		return true
	}
	for _, op := range ops {
		f := strings.Fields(string(op.ValueBytes()))
		if op.IsPut() && bytes.Contains(op.KeyBytes(), []byte("/q/")) && len(f) == 3 && (f[1] == "p" || f[1] == "r") {
			return true
		}
	}
	return false
}
