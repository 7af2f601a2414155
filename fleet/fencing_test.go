package fleet_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/compio-sync/gosync/fleet"
)

// TestIsHeldFencesEveryHolder: with a maximum above 1, every holder's write
// guarded by its Permit's IsHeld lands, in any order (a token fence that
// rejects revisions smaller than one seen would refuse the older holder
// here), and a holder whose permit is lost cannot write, while the others
// still can.
func TestIsHeldFencesEveryHolder(t *testing.T) {
	watchdog(t, 30*time.Second)
	ps := openProcs(t, sharedCluster(t), 2, 2, uniqueOpts(t))
	older, err := ps[0].sem.Acquire(bg(t))
	if err != nil {
		t.Fatal(err)
	}
	newer, err := ps[1].sem.Acquire(bg(t))
	if err != nil {
		t.Fatal(err)
	}
	if older.Revision() >= newer.Revision() {
		t.Fatalf("Revisions %d, %d: want the older grant's smaller", older.Revision(), newer.Revision())
	}
	resource := "/fleet-fencing-test/" + t.Name()
	write := func(p *fleet.Permit, cli *clientv3.Client, v string) bool {
		t.Helper()
		resp, err := cli.Txn(bg(t)).If(p.IsHeld()).Then(clientv3.OpPut(resource, v)).Commit()
		if err != nil {
			t.Fatalf("guarded write: %v", err)
		}
		return resp.Succeeded
	}
	if !write(newer, ps[1].cli, "newer") || !write(older, ps[0].cli, "older") || !write(newer, ps[1].cli, "newer") {
		t.Fatalf("a write guarded by a held Permit's IsHeld failed: every holder of a maximum of 2 may write")
	}
	if _, err := ps[1].cli.Revoke(bg(t), clientv3.LeaseID(fleet.PermitLease(older))); err != nil {
		t.Fatal(err)
	}
	if write(older, ps[0].cli, "lost") {
		t.Fatalf("a write guarded by IsHeld landed after the Permit's lease was revoked")
	}
	if !write(newer, ps[1].cli, "newer") {
		t.Fatalf("the other holder's guarded write failed after an unrelated lease was revoked")
	}
	select {
	case <-older.Done():
	case <-time.After(5 * time.Second):
		t.Fatalf("revoked Permit not Done after 5s")
	}
}

// TestIsHeldOfAnEmptyPermitPanics: the empty Permit of AcquireN(ctx, 0)
// holds no key, so it has nothing to compare: IsHeld says so instead of
// returning a comparison etcd rejects.
func TestIsHeldOfAnEmptyPermitPanics(t *testing.T) {
	watchdog(t, 30*time.Second)
	ps := openProcs(t, sharedCluster(t), 1, 1, uniqueOpts(t))
	z, err := ps[0].sem.AcquireN(bg(t), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		r := recover()
		if r == nil || !strings.HasPrefix(fmt.Sprint(r), "fleet:") {
			t.Fatalf("IsHeld of an empty Permit: recover() = %v, want a panic starting \"fleet:\"", r)
		}
	}()
	_ = z.IsHeld()
}
