package fleet_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/compio-sync/gosync/fleet"
)

// TestAcquireAtTheEnqueueGateSeesDetachAndLeaseLoss: with every enqueue
// slot of a process taken by a Txn in flight (held just before it is sent),
// an Acquire parked behind them returns ErrDetached after Detach, or
// ErrLeaseLost after the lease is lost, at once and not when a slot frees;
// and the Acquires whose Txns were in flight report the same, not the etcd
// error their late Txn gets.
func TestAcquireAtTheEnqueueGateSeesDetachAndLeaseLoss(t *testing.T) {
	for _, tc := range []struct {
		name string
		want error
		end  func(t *testing.T, ps []*proc, lease int64)
	}{
		{"Detach", fleet.ErrDetached, func(t *testing.T, ps []*proc, _ int64) {
			go ps[0].sem.Detach(context.Background())
		}},
		{"LeaseLost", fleet.ErrLeaseLost, func(t *testing.T, ps []*proc, lease int64) {
			if _, err := ps[1].cli.Revoke(bg(t), clientv3.LeaseID(lease)); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			watchdog(t, 30*time.Second)
			ps := openProcs(t, sharedCluster(t), 2, 1, uniqueOpts(t))
			s := ps[0].sem
			p, err := s.Acquire(bg(t))
			if err != nil {
				t.Fatal(err)
			}
			lease := fleet.PermitLease(p)
			hold := holdTxns(t, ps[0].cli)
			hold.armEvery(putsKey("")) // every Txn that puts: the enqueues
			const inFlight = fleet.MaxEnqueues
			errc := make(chan error, inFlight+1)
			for range inFlight {
				go func() {
					_, err := s.Acquire(bg(t))
					errc <- err
				}()
			}
			hold.waitHeld(t, inFlight, "enqueues in flight")
			parked := make(chan error, 1)
			go func() {
				_, err := s.Acquire(bg(t))
				parked <- err
			}()
			eventually(t, 5*time.Second, func() string {
				if n := fleet.LocalPending(s); n != inFlight+1 {
					return fmt.Sprintf("%d Acquires registered, want %d (%d in flight, 1 parked at the gate)", n, inFlight+1, inFlight)
				}
				return ""
			})
			tc.end(t, ps, lease)
			select {
			case err := <-parked:
				if !errors.Is(err, tc.want) {
					t.Fatalf("Acquire parked at the enqueue gate = %v, want %v", err, tc.want)
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("Acquire parked at the enqueue gate still blocked 5s after %s, want %v at once", tc.name, tc.want)
			}
			hold.letGo()
			for range inFlight {
				if err := <-errc; !errors.Is(err, tc.want) {
					t.Fatalf("Acquire whose enqueue was in flight at %s = %v, want %v", tc.name, err, tc.want)
				}
			}
		})
	}
}
