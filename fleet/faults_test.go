package fleet_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/compio-sync/gosync/fleet"
)

// observer is the independent check of the fault tests: every worker adds
// its weight when an Acquire returns and subtracts it before releasing (or
// when its Permit reports the loss), and the observer fails the test the
// moment the sum exceeds the maximum. It knows nothing of etcd or of the
// semaphore's rule.
type observer struct {
	t    testing.TB
	max  int64
	held atomic.Int64
	peak atomic.Int64
	over atomic.Int64
}

func (o *observer) acquired(n int) {
	h := o.held.Add(int64(n))
	for {
		p := o.peak.Load()
		if h <= p || o.peak.CompareAndSwap(p, h) {
			break
		}
	}
	if h > o.max {
		o.over.Add(1)
		o.t.Errorf("observer: %d permits held at once, maximum %d: over-admission", h, o.max)
	}
}

func (o *observer) released(n int) { o.held.Add(-int64(n)) }

// churn runs one worker per process: Acquire 1 or 2 permits (ctx bounded),
// hold a moment, release; until the returned stop is called. It counts
// grants and tolerates etcd errors during faults, but a call may never
// outlive its 2 s ctx by more than 8 s (a hang becomes a named failure; the
// slack is for a 2-core machine under -race and other load). stop closes
// the workers' stop channel and waits for them; it is also registered with
// t.Cleanup, so that a test ended early by t.Fatal never leaves a worker
// running (and reporting) after the test completed.
func churn(t *testing.T, ps []*proc, o *observer, grants *atomic.Int64) (stop func()) {
	var wg sync.WaitGroup
	done := make(chan struct{})
	stop = sync.OnceFunc(func() {
		close(done)
		wg.Wait()
	})
	t.Cleanup(stop)
	for i, p := range ps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(i), 1))
			for {
				select {
				case <-done:
					return
				default:
				}
				n := 1 + rng.IntN(2)
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				start := time.Now()
				pm, err := p.sem.AcquireN(ctx, n)
				cancel()
				// 2s ctx + at most cleanupGrace (300 ms) to delete the
				// key of a cancelled wait + scheduling on a loaded
				// 2-core machine under -race (4 s was exceeded there
				// with a load average of 12).
				if el := time.Since(start); el > 10*time.Second {
					t.Errorf("worker %d: AcquireN returned after %v, its ctx ended after 2s: a hang past ctx", i, el)
				}
				if err != nil {
					time.Sleep(5 * time.Millisecond)
					continue
				}
				o.acquired(n)
				grants.Add(1)
				select {
				case <-pm.Done():
				case <-time.After(time.Duration(rng.IntN(3)) * time.Millisecond):
				}
				o.released(n)
				pm.Release()
			}
		}()
	}
	return stop
}

// settled checks, from a fresh client, that once every process detached the
// semaphore is full again: nothing held, nobody waiting.
func settled(t *testing.T, c *cluster, opts []fleet.Option, ps []*proc, max int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	for _, p := range ps {
		_ = p.sem.Detach(ctx)
	}
	s, err := fleet.Open(ctx, c.client(t), "sem", opts...)
	if err != nil {
		t.Fatalf("Open to check the end state: %v", err)
	}
	defer s.Detach(ctx)
	eventually(t, 10*time.Second, func() string {
		st, err := s.Stats(ctx)
		if err != nil {
			return fmt.Sprintf("Stats: %v", err)
		}
		if st.InUse != 0 || st.Waiting != 0 || st.Available != max {
			return fmt.Sprintf("after every process detached: Stats = %+v, want InUse 0, Waiting 0, Available %d", st, max)
		}
		return ""
	})
}

func TestFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three-member clusters; skipped with -short")
	}
	// Each churn fault: a name and what to break while 32 processes churn.
	for _, f := range []struct {
		name  string
		fault func(t *testing.T, c *cluster, proxies []*proxy)
	}{
		{"LeaderKilledWhileChurning", func(t *testing.T, c *cluster, _ []*proxy) {
			lead := c.leader()
			t.Logf("killing leader m%d", lead)
			c.crash(lead)
			time.Sleep(time.Second)
			c.restart(lead)
		}},
		{"MemberDownWhileChurning", func(t *testing.T, c *cluster, _ []*proxy) {
			f := (c.leader() + 1) % 3
			t.Logf("stopping follower m%d for a second", f)
			c.crash(f)
			time.Sleep(time.Second)
			c.restart(f)
		}},
		{"ClientsReconnectWhileChurning", func(t *testing.T, c *cluster, proxies []*proxy) {
			for range 3 {
				for _, px := range proxies {
					px.drop()
				}
				time.Sleep(300 * time.Millisecond)
			}
		}},
	} {
		t.Run(f.name, func(t *testing.T) {
			// 30 answered and up to 60 unanswered rounds, the fault,
			// start-up and the end check.
			watchdog(t, 150*time.Second)
			c := newCluster(t, 3)
			c.needEmbedded(t)
			faultChurn(t, c, f.fault)
		})
	}
	t.Run("HolderClientClosedAbruptly", func(t *testing.T) {
		watchdog(t, 60*time.Second)
		testHolderClientClosed(t, newCluster(t, 3))
	})
	t.Run("PartitionedHolderLearnsLoss", func(t *testing.T) {
		watchdog(t, 60*time.Second)
		c := newCluster(t, 3)
		c.needEmbedded(t)
		testPartitionedHolder(t, c)
	})
	t.Run("CompactionUnderWaitingWatch", func(t *testing.T) {
		watchdog(t, 60*time.Second)
		c := newCluster(t, 3)
		c.needEmbedded(t)
		testCompaction(t, c)
	})
}

// faultChurn runs 32 processes, each with its own client connected through
// a proxy to one member, churning on a semaphore of 4 permits while fault
// runs, and checks the observer, that grants continue after the fault, and
// that the semaphore ends full.
func faultChurn(t *testing.T, c *cluster, fault func(*testing.T, *cluster, []*proxy)) {
	const max, procs = 4, 32
	// The default TTL: lease expiry is not what these faults test, and a
	// 2 s lease does not survive a loaded machine's slow keepalives.
	opts := uniqueOpts(t, fleet.WithTTL(fleet.DefaultTTL))
	var proxies []*proxy
	for _, m := range c.members {
		proxies = append(proxies, newProxy(t, m.clientURL.Host))
	}
	var ps []*proc
	for i := range procs {
		cli := c.client(t, proxies[i%len(proxies)].endpoint())
		o := opts
		if i == 0 {
			o = append(append([]fleet.Option{}, opts...), fleet.WithPermits(max))
		}
		s, err := fleet.Open(bg(t), cli, "sem", o...)
		if err != nil {
			t.Fatalf("Open from process %d: %v", i, err)
		}
		ps = append(ps, &proc{cli: cli, sem: s})
	}
	o := &observer{t: t, max: max}
	var grants atomic.Int64
	stopChurn := churn(t, ps, o, &grants)
	time.Sleep(500 * time.Millisecond)
	before := grants.Load()
	fault(t, c, proxies)
	after := grants.Load()
	awaitGrantsResume(t, c, &grants, before, after, ps)
	stopChurn()
	t.Logf("grants: %d before the fault, %d in all; observer peak %d of %d", before, grants.Load(), o.peak.Load(), max)
	settled(t, c, opts, ps, max)
}

// awaitGrantsResume waits until 8 more grants than after were counted.
// Progress, not speed: the bound counts rounds in which etcd itself
// answered (a Put outside the semaphore, from a client of its own, within a
// second), not seconds. A machine too loaded for etcd to answer anything
// cannot grant either, and that is capacity, not a stall of the semaphore:
// with -race on one core shared with two CPU burners, every client's own Get
// timed out there, before the fault as after it. So grants must resume
// within 30 answered rounds; 60 unanswered rounds in a row fail the test
// naming the overload instead.
func awaitGrantsResume(t *testing.T, c *cluster, grants *atomic.Int64, before, after int64, ps []*proc) {
	t.Helper()
	probe := c.client(t)
	answered, silent := 0, 0
	for grants.Load() < after+8 {
		if answered >= 30 {
			t.Fatalf("grants stalled after the fault while etcd answered %d rounds: %d before it, %d at its end, %d now%s",
				answered, before, after, grants.Load(), debugProcs(ps))
		}
		if silent >= 60 {
			t.Fatalf("etcd answered no request for %d rounds in a row (%d answered before): the machine is too loaded to run this test, a capacity failure and not a stall of the semaphore; grants: %d before the fault, %d at its end, %d now",
				silent, answered, before, after, grants.Load())
		}
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, err := probe.Put(ctx, "/fleet-fault-probe/"+t.Name(), "x")
		cancel()
		if err != nil {
			silent++
			continue
		}
		answered, silent = answered+1, 0
		time.Sleep(time.Second - time.Since(start))
	}
}

// testHolderClientClosed: a holder whose client closes abruptly (its
// process died) loses its permit within TTL plus a bound; the waiter is
// granted and the other holder is untouched.
func testHolderClientClosed(t *testing.T, c *cluster) {
	const ttl = 2 * time.Second
	opts := uniqueOpts(t, fleet.WithTTL(ttl))
	ps := openProcs(t, c, 3, 2, opts)
	dead, err := ps[0].sem.Acquire(bg(t))
	if err != nil {
		t.Fatal(err)
	}
	other, err := ps[1].sem.Acquire(bg(t))
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan *fleet.Permit, 1)
	go func() {
		p, err := ps[2].sem.Acquire(bg(t))
		if err != nil {
			t.Errorf("waiter after the holder's client closed = %v, want a grant", err)
		}
		got <- p
	}()
	waitWaiting(t, ps[1].sem, 1)
	start := time.Now()
	ps[0].cli.Close() // the process is gone: no keepalive, no revoke
	var wp *fleet.Permit
	select {
	case wp = <-got:
		if wp == nil {
			t.FailNow()
		}
	case <-time.After(ttl + 3*time.Second):
		t.Fatalf("waiter not granted %v after the holder's client closed (TTL %v)", ttl+3*time.Second, ttl)
	}
	t.Logf("permit returned %v after the client closed (TTL %v)", time.Since(start).Round(time.Millisecond), ttl)
	select {
	case <-dead.Done():
	case <-time.After(time.Second):
		t.Errorf("dead holder's Permit not Done")
	}
	if other.Err() != nil {
		t.Fatalf("the other holder's Permit: Err = %v, want nil (unaffected)", other.Err())
	}
	if st, _ := ps[1].sem.Stats(bg(t)); st.InUse != 2 {
		t.Fatalf("InUse = %d, want 2 (the other holder and the granted waiter)", st.InUse)
	}
	other.Release()
	wp.Release()
	settled(t, c, opts, ps[1:], 2)
}

// testPartitionedHolder: a holder cut off from etcd (its client's TCP
// connections dropped and refused) learns that its permit is lost before
// its lease expires and the waiter elsewhere is granted (its Done is
// closed when the waiter's Acquire returns), and after the partition heals
// the same Semaphore acquires again (a new lease: the client reconnected).
func testPartitionedHolder(t *testing.T, c *cluster) {
	const ttl = 2 * time.Second
	opts := uniqueOpts(t, fleet.WithTTL(ttl))
	lead := c.leader()
	px := newProxy(t, c.members[lead].clientURL.Host)
	cut := c.client(t, px.endpoint())
	a, err := fleet.Open(bg(t), cut, "sem", append(opts, fleet.WithPermits(1))...)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Detach(bg(t))
	b := openProcs(t, c, 1, 1, opts)[0].sem
	h, err := a.Acquire(bg(t))
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan *fleet.Permit, 1)
	go func() {
		p, err := b.Acquire(bg(t))
		if err != nil {
			t.Errorf("waiter: %v", err)
		}
		got <- p
	}()
	waitWaiting(t, b, 1)
	toldc := make(chan time.Duration, 1)
	start := time.Now()
	go func() {
		<-h.Done()
		toldc <- time.Since(start)
	}()
	px.partition()
	defer px.heal() // before the Detach deferred above
	var bp *fleet.Permit
	select {
	case bp = <-got:
	case <-time.After(ttl + 5*time.Second):
		t.Fatalf("waiter not granted %v after the holder was partitioned (TTL %v)", ttl+5*time.Second, ttl)
	}
	grantedAt := time.Since(start)
	select {
	case <-h.Done():
	default:
		t.Fatalf("waiter granted %v after the holder was cut off (TTL %v), and the holder's Done is still open: both hold the single permit",
			grantedAt.Round(time.Millisecond), ttl)
	}
	select {
	case <-h.Done():
		if !errors.Is(h.Err(), fleet.ErrLeaseLost) {
			t.Fatalf("partitioned holder: Err = %v, want ErrLeaseLost", h.Err())
		}
	case <-time.After(ttl + 5*time.Second):
		t.Fatalf("partitioned holder not told of the loss %v after the partition", ttl+5*time.Second)
	}
	t.Logf("holder told %v, waiter granted %v after the partition (TTL %v)",
		(<-toldc).Round(time.Millisecond), grantedAt.Round(time.Millisecond), ttl)
	bp.Release()
	px.heal()
	ctx, cancel := context.WithTimeout(bg(t), 10*time.Second)
	defer cancel()
	p, err := a.Acquire(ctx)
	if err != nil {
		t.Fatalf("Acquire after the partition healed = %v, want a grant (the client reconnects, a new lease is granted)", err)
	}
	p.Release()
}

// testCompaction: a process whose watch falls behind a compaction (its
// connection is cut while the semaphore moves on and etcd compacts) resyncs
// and still sees its waiter granted.
func testCompaction(t *testing.T, c *cluster) {
	opts := uniqueOpts(t, fleet.WithTTL(5*time.Second))
	lead := c.leader()
	px := newProxy(t, c.members[lead].clientURL.Host)
	cut := c.client(t, px.endpoint())
	holder := openProcs(t, c, 1, 1, opts)[0]
	w, err := fleet.Open(bg(t), cut, "sem", opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Detach(bg(t))
	h, err := holder.sem.Acquire(bg(t))
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan error, 1)
	go func() {
		p, err := w.Acquire(bg(t))
		if err == nil {
			p.Release()
		}
		got <- err
	}()
	waitWaiting(t, holder.sem, 1)
	px.partition()
	h.Release()
	// Move the cluster on (outside the semaphore's prefix) and compact.
	var rev int64
	for i := range 20 {
		r, err := holder.cli.Put(bg(t), fmt.Sprintf("/fleet-compaction-test/%d", i), "x")
		if err != nil {
			t.Fatal(err)
		}
		rev = r.Header.Revision
	}
	if _, err := holder.cli.Compact(bg(t), rev, clientv3.WithCompactPhysical()); err != nil {
		t.Fatalf("Compact(%d): %v", rev, err)
	}
	time.Sleep(300 * time.Millisecond)
	px.heal()
	select {
	case err := <-got:
		if err != nil {
			t.Fatalf("waiter behind a compaction = %v, want a grant", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("waiter not granted 10s after its watch came back behind a compaction")
	}
}

// debugProcs describes every process's view, for a failure message.
func debugProcs(ps []*proc) string {
	out := ""
	for i, p := range ps {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, err := p.cli.Get(ctx, "/health")
		_, derr := p.cli.Delete(ctx, "/health")
		cancel()
		out += fmt.Sprintf("\nprocess %d (client Get: %v, Delete: %v): %s", i, err, derr, fleet.Debug(p.sem))
	}
	return out
}
