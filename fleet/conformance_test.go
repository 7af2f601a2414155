package fleet_test

import (
	"context"
	"testing"
	"time"

	"github.com/compio-sync/gosync/conformance"
	"github.com/compio-sync/gosync/fleet"
)

// TestConformance runs the semaphore behaviour suite (conformance.Run) over
// fleet semaphores on embedded etcd: every subtest gets its own semaphore,
// opened by its own client, on the shared single-member cluster.
func TestConformance(t *testing.T) {
	c := sharedCluster(t)
	// A round trip first, so the member's serving goroutines exist before
	// the suite's leak checks take their snapshots.
	warm := c.client(t)
	if _, err := warm.Get(bg(t), "/warm-up"); err != nil {
		t.Fatalf("embedded etcd: %v", err)
	}
	conformance.RunSemaphore(t, func(t *testing.T, permits int) *fleet.Semaphore {
		cli := c.client(t)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		s, err := fleet.Open(ctx, cli, "conformance", uniqueOpts(t, fleet.WithPermits(permits), fleet.WithTTL(fleet.DefaultTTL))...)
		if err != nil {
			t.Fatalf("fleet.Open(%d permits): %v", permits, err)
		}
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := s.Detach(ctx); err != nil {
				t.Errorf("Detach: %v", err)
			}
		})
		return s
	},
		// An etcd round trip on loopback under -race is about a millisecond,
		// a thousand times core's handoff; 100 keeps the "blocks" windows
		// meaningful without making the suite take an hour.
		conformance.TimeScale(100),
		conformance.Short(),
		conformance.PanicPrefix("fleet:"),
		// The embedded member (shared by the whole binary) starts its
		// serving goroutines lazily; they are the cluster's, not a
		// semaphore's.
		conformance.IgnoreGoroutines("go.etcd.io/etcd/server/v3/embed.(*serveCtx).startHandler.func1"),
		conformance.Skip("FastPath", "every call is an etcd transaction: the allocation-free fast paths of core do not apply"),
	)
}
