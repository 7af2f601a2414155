package fleet_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/compio-sync/gosync/fleet"
)

// TestAcquireOnALostLeaseReportsLeaseLost: an Acquire that took the lease
// just before it was lost fails with ErrLeaseLost and leaves no key, both
// when the process saw the loss before the Acquire registered its key and
// when only etcd knew.
func TestAcquireOnALostLeaseReportsLeaseLost(t *testing.T) {
	for _, tc := range []struct {
		name      string
		waitLocal bool // wait until the process saw the loss
	}{{"LossSeenByTheProcess", true}, {"LossKnownOnlyToEtcd", false}} {
		t.Run(tc.name, func(t *testing.T) {
			watchdog(t, 30*time.Second)
			ps := openProcs(t, sharedCluster(t), 2, 1, uniqueOpts(t))
			s := ps[0].sem
			p, err := s.Acquire(bg(t)) // takes the lease
			if err != nil {
				t.Fatal(err)
			}
			p.Release()
			var once sync.Once
			fleet.SetLeaseTaken(s, func(id int64) {
				once.Do(func() {
					if _, err := ps[1].cli.Revoke(bg(t), clientv3.LeaseID(id)); err != nil {
						t.Errorf("Revoke: %v", err)
					}
					if tc.waitLocal {
						eventually(t, 10*time.Second, func() string {
							if fleet.LeaseCurrent(s, id) {
								return fmt.Sprintf("lease %x revoked but still current", id)
							}
							return ""
						})
					}
				})
			})
			ctx, cancel := context.WithTimeout(bg(t), 10*time.Second)
			defer cancel()
			q, err := s.Acquire(ctx)
			if err == nil {
				q.Release()
			}
			if !errors.Is(err, fleet.ErrLeaseLost) {
				t.Fatalf("Acquire whose lease was lost before it put its key = %v, want ErrLeaseLost", err)
			}
			fleet.SetLeaseTaken(s, nil)
			q, err = s.Acquire(ctx)
			if err != nil {
				t.Fatalf("next Acquire = %v, want a grant on a new lease", err)
			}
			q.Release()
		})
	}
}
