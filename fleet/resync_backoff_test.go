package fleet_test

import (
	"context"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/compio-sync/gosync/fleet"
)

// deafWatcher wraps a client's real Watcher so that every watch opened
// through it delivers nothing until its ctx ends: a watch stream that
// stays behind for good, as etcd's unsynced watchers do on an overloaded
// cluster.
type deafWatcher struct{ clientv3.Watcher }

func (deafWatcher) Watch(ctx context.Context, _ string, _ ...clientv3.OpOption) clientv3.WatchChan {
	ch := make(chan clientv3.WatchResponse)
	go func() {
		<-ctx.Done()
		close(ch)
	}()
	return ch
}

// TestWatchResyncsBackOff: a process whose watch never catches up, with a
// waiter queued, restarts it from a fresh read less and less often: each
// restart costs the cluster a read of the whole semaphore, and restarting
// at a fixed pace only adds load to a cluster already too slow to keep the
// watch current. Over 15 s the restarts, at 1 s then doubling waits for an
// answer to the progress probe, are at most 3: no earlier than 2 s, 5 s and
// 10 s, the next at 19 s (probe after 1 s of silence, then 1, 2, 4, 8 s for
// its answer); a fixed 1 s wait allows 7. Load only delays restarts.
func TestWatchResyncsBackOff(t *testing.T) {
	watchdog(t, 60*time.Second)
	c := sharedCluster(t)
	opts := uniqueOpts(t)
	holder := openProcs(t, c, 1, 1, opts)[0]
	h, err := holder.sem.Acquire(bg(t))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Release()
	cli := c.client(t)
	cli.Watcher = deafWatcher{cli.Watcher}
	s, err := fleet.Open(bg(t), cli, "sem", opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Detach(context.Background())
	eventually(t, 5*time.Second, func() string {
		if fleet.WatchStarts(s) == 0 {
			return "the watch did not start"
		}
		return ""
	})
	ctx, cancel := context.WithTimeout(bg(t), 15*time.Second)
	defer cancel()
	start := fleet.WatchStarts(s)
	if _, err := s.Acquire(ctx); err != context.DeadlineExceeded {
		t.Fatalf("Acquire behind a holder with a deaf watch = %v, want context.DeadlineExceeded", err)
	}
	if n := fleet.WatchStarts(s) - start; n > 3 {
		t.Fatalf("watch restarted %d times in 15s while it never caught up, want at most 3: resyncs do not back off", n)
	}
}
