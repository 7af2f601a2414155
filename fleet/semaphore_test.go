package fleet_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/compio-sync/gosync/core"
	"github.com/compio-sync/gosync/fleet"
	clientv3 "go.etcd.io/etcd/client/v3"
)

func bg(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestOpenValidatesNames(t *testing.T) {
	watchdog(t, 30*time.Second)
	c := sharedCluster(t)
	cli := c.client(t)
	for _, name := range []string{"", ".", "..", "a/b", "../x", "a b", "é", strings.Repeat("x", 129)} {
		_, err := fleet.Open(bg(t), cli, name, uniqueOpts(t, fleet.WithPermits(1))...)
		if !errors.Is(err, fleet.ErrBadName) {
			t.Errorf("Open(%q) error = %v, want ErrBadName", name, err)
		}
	}
}

func TestOpenCreatesOnceAndChecksTheMaximum(t *testing.T) {
	watchdog(t, 30*time.Second)
	c := sharedCluster(t)
	cli := c.client(t)
	opts := uniqueOpts(t)
	if _, err := fleet.Open(bg(t), cli, "s", opts...); !errors.Is(err, fleet.ErrNotExist) {
		t.Fatalf("Open of a missing semaphore without WithPermits = %v, want ErrNotExist", err)
	}
	a, err := fleet.Open(bg(t), cli, "s", append(opts, fleet.WithPermits(3))...)
	if err != nil {
		t.Fatalf("Open WithPermits(3): %v", err)
	}
	defer a.Detach(bg(t))
	if _, err := fleet.Open(bg(t), cli, "s", append(opts, fleet.WithPermits(4))...); !errors.Is(err, fleet.ErrPermitsMismatch) {
		t.Fatalf("second Open WithPermits(4) = %v, want ErrPermitsMismatch", err)
	}
	b, err := fleet.Open(bg(t), cli, "s", opts...)
	if err != nil {
		t.Fatalf("Open of an existing semaphore: %v", err)
	}
	defer b.Detach(bg(t))
	if got := b.MaxPermits(); got != 3 {
		t.Fatalf("MaxPermits() = %d, want 3", got)
	}
	c2, err := fleet.Open(bg(t), cli, "s", append(opts, fleet.WithPermits(3))...)
	if err != nil {
		t.Fatalf("Open WithPermits(3) again: %v", err)
	}
	c2.Detach(bg(t))
}

func TestUncontendedAcquireRelease(t *testing.T) {
	watchdog(t, 30*time.Second)
	ps := openProcs(t, sharedCluster(t), 1, 3, uniqueOpts(t))
	s := ps[0].sem
	p, err := s.AcquireN(bg(t), 2)
	if err != nil {
		t.Fatalf("AcquireN(2) = %v", err)
	}
	if p.Count() != 2 || p.Err() != nil {
		t.Fatalf("Permit Count, Err = %d, %v, want 2, nil", p.Count(), p.Err())
	}
	st, err := s.Stats(bg(t))
	if err != nil || st.InUse != 2 || st.Available != 1 || st.Waiting != 0 || st.MaxPermits != 3 {
		t.Fatalf("Stats = %+v, %v, want InUse 2, Available 1, Waiting 0, MaxPermits 3", st, err)
	}
	if _, ok, err := s.TryAcquireNContext(bg(t), 2); ok || err != nil {
		t.Fatalf("TryAcquireNContext(2) with 1 free = %v, %v, want false, nil", ok, err)
	}
	q, ok := s.TryAcquire()
	if !ok {
		t.Fatalf("TryAcquire with 1 free = false, want true")
	}
	if err := p.ReleaseContext(bg(t)); err != nil {
		t.Fatalf("Release: %v", err)
	}
	select {
	case <-p.Done():
	default:
		t.Fatalf("Done not closed after Release")
	}
	if !errors.Is(p.Err(), fleet.ErrReleased) || p.Count() != 0 {
		t.Fatalf("after Release: Err, Count = %v, %d, want ErrReleased, 0", p.Err(), p.Count())
	}
	if err := p.ReleaseContext(bg(t)); err != nil {
		t.Fatalf("second ReleaseContext = %v, want nil (no-op)", err)
	}
	q.Release()
	if got := s.InUse(); got != 0 {
		t.Fatalf("InUse after releasing everything (a Permit released twice) = %d, want 0", got)
	}
	if _, err := s.AcquireN(bg(t), 4); !errors.Is(err, fleet.ErrTooLarge) || !errors.Is(err, core.ErrTooLarge) {
		t.Fatalf("AcquireN(4) of 3 = %v, want ErrTooLarge wrapping core.ErrTooLarge", err)
	}
	z, err := s.AcquireN(bg(t), 0)
	if err != nil || z.Count() != 0 {
		t.Fatalf("AcquireN(0) = %v, %v, want an empty Permit", z, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Acquire(ctx); err != context.Canceled {
		t.Fatalf("Acquire with a done ctx = %v, want context.Canceled", err)
	}
}

// TestStrictFIFOAcrossProcesses: waiters queued one after another from
// three processes are granted as a prefix of the queue order (a waiter that
// does not fit blocks smaller ones behind it), checked after every release
// against a model of the queue.
func TestStrictFIFOAcrossProcesses(t *testing.T) {
	watchdog(t, 60*time.Second)
	const max = 3
	ps := openProcs(t, sharedCluster(t), 3, max, uniqueOpts(t))
	hold, err := ps[0].sem.AcquireN(bg(t), max)
	if err != nil {
		t.Fatal(err)
	}
	weights := []int{2, 2, 1, 3, 1, 1, 2, 1}
	var mu sync.Mutex
	permits := make([]*fleet.Permit, len(weights))
	var wg sync.WaitGroup
	for i, w := range weights {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p, err := ps[i%3].sem.AcquireN(bg(t), w)
			if err != nil {
				t.Errorf("waiter %d: AcquireN(%d) = %v", i, w, err)
				return
			}
			mu.Lock()
			permits[i] = p
			mu.Unlock()
		}()
		waitWaiting(t, ps[0].sem, i+1)
	}
	granted := func() []int {
		mu.Lock()
		defer mu.Unlock()
		var g []int
		for i, p := range permits {
			if p != nil {
				g = append(g, i)
			}
		}
		return g
	}
	// want: after releasing waiters 0..r-1 (in order), waiters r..k-1 hold,
	// k the largest with sum(weights[r:k]) <= max.
	want := func(r int) []int {
		var g []int
		sum := 0
		for k := r; k < len(weights) && sum+weights[k] <= max; k++ {
			sum += weights[k]
			g = append(g, k)
		}
		return g
	}
	hold.Release()
	for r := 0; r < len(weights); r++ {
		w := want(r)
		eventually(t, 5*time.Second, func() string {
			g := granted()
			if len(g) < r+len(w) {
				return fmt.Sprintf("after releasing %d: granted %v, want %v granted too", r, g, w)
			}
			return ""
		})
		time.Sleep(50 * time.Millisecond) // let any wrongful extra grant show
		g := granted()
		if fmt.Sprint(g[r:]) != fmt.Sprint(w) {
			t.Fatalf("after releasing waiters 0..%d: granted %v, want exactly %v (FIFO prefix that fits %d)", r-1, g[r:], w, max)
		}
		mu.Lock()
		p := permits[r]
		mu.Unlock()
		p.Release()
	}
	wg.Wait()
}

func TestNoBargingPastAWaiter(t *testing.T) {
	watchdog(t, 30*time.Second)
	ps := openProcs(t, sharedCluster(t), 2, 2, uniqueOpts(t))
	h, err := ps[0].sem.Acquire(bg(t))
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan error, 1)
	go func() {
		p, err := ps[1].sem.AcquireN(bg(t), 2)
		if err == nil {
			p.Release()
		}
		got <- err
	}()
	waitWaiting(t, ps[0].sem, 1)
	if _, ok := ps[0].sem.TryAcquire(); ok {
		t.Fatalf("TryAcquire with 1 free and a waiter for 2 = true, want false")
	}
	h.Release()
	if err := <-got; err != nil {
		t.Fatalf("waiter: %v", err)
	}
}

func TestCancelRemovesTheWaiter(t *testing.T) {
	watchdog(t, 30*time.Second)
	ps := openProcs(t, sharedCluster(t), 2, 1, uniqueOpts(t))
	if err := checkCancelRemovesWaiter(bg(t), ps); err != nil {
		t.Fatal(err)
	}
}

// checkCancelRemovesWaiter: a cancelled waiter leaves the queue, so the
// next waiter is granted when the holder releases.
func checkCancelRemovesWaiter(ctx context.Context, ps []*proc) error {
	h, err := ps[0].sem.Acquire(ctx)
	if err != nil {
		return err
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 1)
	go func() {
		_, err := ps[1].sem.Acquire(wctx)
		errc <- err
	}()
	if err := pollWaiting(ctx, ps[0].sem, 1); err != nil {
		return err
	}
	// The key is in etcd once Waiting counts it, but the waiter may still
	// be reading its enqueue's answer: cancelled then, it takes the
	// enqueue's own path, not the waiting Acquire's this checks.
	for deadline := time.Now().Add(5 * time.Second); fleet.LocalWaiters(ps[1].sem) != 1; {
		if time.Now().After(deadline) {
			return fmt.Errorf("the queued Acquire never counted itself waiting (%d local waiters)", fleet.LocalWaiters(ps[1].sem))
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-errc; err != context.Canceled {
		return fmt.Errorf("cancelled Acquire = %v, want context.Canceled", err)
	}
	h.Release()
	actx, acancel := context.WithTimeout(ctx, 3*time.Second)
	defer acancel()
	p, err := ps[0].sem.Acquire(actx)
	if err != nil {
		st, _ := ps[0].sem.Stats(ctx)
		return fmt.Errorf("Acquire after the waiter was cancelled and the holder released = %v, want a grant (stats %+v: the cancelled waiter kept its key)", err, st)
	}
	p.Release()
	return nil
}

func pollWaiting(ctx context.Context, s *fleet.Semaphore, want int) error {
	deadline := time.Now().Add(5 * time.Second)
	for {
		st, err := s.Stats(ctx)
		if err == nil && st.Waiting == want {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("Waiting = %d (%v), want %d", st.Waiting, err, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestCancelRacingGrantPassesItOn: cancellations that race grants never
// strand a permit (x/sync's stranded permits, across processes): after many races the
// semaphore is full again and a waiter behind is granted.
func TestCancelRacingGrantPassesItOn(t *testing.T) {
	watchdog(t, 60*time.Second)
	ps := openProcs(t, sharedCluster(t), 2, 1, uniqueOpts(t))
	for i := range 20 {
		h, err := ps[0].sem.Acquire(bg(t))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(bg(t))
		errc := make(chan error, 1)
		var got *fleet.Permit
		go func() {
			p, err := ps[1].sem.Acquire(ctx)
			got = p
			errc <- err
		}()
		waitWaiting(t, ps[0].sem, 1)
		go h.Release()
		time.Sleep(time.Duration(i%5) * time.Millisecond)
		cancel()
		if err := <-errc; err == nil {
			got.Release()
		} else if err != context.Canceled {
			t.Fatalf("race %d: Acquire = %v, want nil or context.Canceled", i, err)
		}
	}
	actx, acancel := context.WithTimeout(bg(t), 5*time.Second)
	defer acancel()
	p, err := ps[0].sem.Acquire(actx)
	if err != nil {
		st, _ := ps[0].sem.Stats(bg(t))
		t.Fatalf("Acquire after 20 cancel/grant races = %v (stats %+v), want a grant: a raced grant was stranded", err, st)
	}
	p.Release()
}

func TestSetMaxPermits(t *testing.T) {
	watchdog(t, 60*time.Second)
	ps := openProcs(t, sharedCluster(t), 2, 2, uniqueOpts(t))
	a, b := ps[0].sem, ps[1].sem
	h, err := a.AcquireN(bg(t), 2)
	if err != nil {
		t.Fatal(err)
	}
	// Grow wakes a waiter.
	errc := make(chan error, 3)
	go func() {
		p, err := b.Acquire(bg(t))
		if err == nil {
			p.Release()
		}
		errc <- err
	}()
	waitWaiting(t, a, 1)
	if err := a.SetMaxPermitsContext(bg(t), 3); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatalf("waiter after grow = %v, want a grant", err)
	}
	// Shrink below what is held: the holder keeps its permits.
	if err := a.SetMaxPermitsContext(bg(t), 1); err != nil {
		t.Fatal(err)
	}
	if h.Err() != nil {
		t.Fatalf("holder after shrink: Err = %v, want nil", h.Err())
	}
	st, _ := a.Stats(bg(t))
	if st.InUse != 2 || st.MaxPermits != 1 || st.Available != 0 {
		t.Fatalf("Stats after shrink below InUse = %+v, want InUse 2, MaxPermits 1, Available 0", st)
	}
	// A queued waiter larger than the new maximum fails; the one behind
	// keeps its place and is granted once InUse+1 <= max.
	if err := a.SetMaxPermitsContext(bg(t), 3); err != nil {
		t.Fatal(err)
	}
	big := make(chan error, 1)
	go func() {
		_, err := b.AcquireN(bg(t), 3)
		big <- err
	}()
	waitWaiting(t, a, 1)
	small := make(chan error, 1)
	go func() {
		p, err := b.Acquire(bg(t))
		if err == nil {
			p.Release()
		}
		small <- err
	}()
	waitWaiting(t, a, 2)
	if err := a.SetMaxPermitsContext(bg(t), 2); err != nil {
		t.Fatal(err)
	}
	if err := <-big; !errors.Is(err, fleet.ErrTooLarge) || !errors.Is(err, core.ErrTooLarge) {
		t.Fatalf("waiter for 3 after shrink to 2 = %v, want ErrTooLarge", err)
	}
	select {
	case err := <-small:
		t.Fatalf("waiter for 1 with InUse 2 of 2 returned %v, want it to wait", err)
	case <-time.After(100 * time.Millisecond):
	}
	h.Release()
	if err := <-small; err != nil {
		t.Fatalf("waiter for 1 after release = %v", err)
	}
}

func TestCloseFailsWaitersEverywhere(t *testing.T) {
	watchdog(t, 30*time.Second)
	ps := openProcs(t, sharedCluster(t), 3, 1, uniqueOpts(t))
	h, err := ps[0].sem.Acquire(bg(t))
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 2)
	for _, p := range ps[1:] {
		go func() {
			_, err := p.sem.Acquire(bg(t))
			errc <- err
		}()
	}
	waitWaiting(t, ps[0].sem, 2)
	if err := ps[0].sem.CloseContext(bg(t)); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := <-errc; !errors.Is(err, fleet.ErrClosed) || !errors.Is(err, core.ErrClosed) {
			t.Fatalf("queued Acquire after Close = %v, want ErrClosed wrapping core.ErrClosed", err)
		}
	}
	if h.Err() != nil {
		t.Fatalf("holder after Close: Err = %v, want nil (held permits stay valid)", h.Err())
	}
	if _, err := ps[1].sem.Acquire(bg(t)); !errors.Is(err, fleet.ErrClosed) {
		t.Fatalf("Acquire after Close = %v, want ErrClosed", err)
	}
	if _, ok := ps[1].sem.TryAcquire(); ok {
		t.Fatalf("TryAcquire after Close = %v, %v, want false, nil", ok, err)
	}
	if err := h.ReleaseContext(bg(t)); err != nil {
		t.Fatalf("Release after Close: %v", err)
	}
	if err := ps[2].sem.CloseContext(bg(t)); err != nil {
		t.Fatalf("second Close = %v, want nil", err)
	}
	st, _ := ps[0].sem.Stats(bg(t))
	if !st.Closed || st.InUse != 0 {
		t.Fatalf("Stats = %+v, want Closed, InUse 0", st)
	}
}

func TestReleaseNWithoutThePermit(t *testing.T) {
	watchdog(t, 30*time.Second)
	ps := openProcs(t, sharedCluster(t), 2, 4, uniqueOpts(t))
	a := ps[0].sem
	if _, err := a.AcquireN(bg(t), 3); err != nil {
		t.Fatal(err)
	}
	if _, err := a.AcquireN(bg(t), 1); err != nil {
		t.Fatal(err)
	}
	if err := a.ReleaseContext(bg(t), 2); err != nil {
		t.Fatalf("Release(2): %v", err)
	}
	if got := a.InUse(); got != 2 {
		t.Fatalf("InUse after Release(2) of 4 = %d, want 2", got)
	}
	func() {
		defer func() {
			if r := recover(); r == nil || !strings.HasPrefix(fmt.Sprint(r), "fleet:") {
				t.Errorf("Release(3) with 2 held: recover() = %v, want a panic starting \"fleet:\"", r)
			}
		}()
		a.Release(3)
	}()
	if err := a.ReleaseContext(bg(t), 2); err != nil {
		t.Fatal(err)
	}
	if got := a.InUse(); got != 0 {
		t.Fatalf("InUse = %d, want 0", got)
	}
}

// TestLeaseLossIsReported: a holder whose lease is revoked (as etcd does
// when it expires) learns that its Permit is lost, and the permit goes to
// the waiter.
func TestLeaseLossIsReported(t *testing.T) {
	watchdog(t, 30*time.Second)
	ps := openProcs(t, sharedCluster(t), 2, 1, uniqueOpts(t))
	if err := checkLeaseLossReported(bg(t), ps); err != nil {
		t.Fatal(err)
	}
}

func checkLeaseLossReported(ctx context.Context, ps []*proc) error {
	h, err := ps[0].sem.Acquire(ctx)
	if err != nil {
		return err
	}
	errc := make(chan error, 1)
	go func() {
		p, err := ps[1].sem.Acquire(ctx)
		if err == nil {
			defer p.Release()
		}
		errc <- err
	}()
	if err := pollWaiting(ctx, ps[0].sem, 1); err != nil {
		return err
	}
	// Revoke the holder's lease from another client, as etcd does when
	// it expires.
	if _, err := ps[1].cli.Revoke(ctx, clientv3.LeaseID(fleet.PermitLease(h))); err != nil {
		return err
	}
	if err := <-errc; err != nil {
		return fmt.Errorf("waiter after the holder's lease was revoked = %v, want a grant", err)
	}
	select {
	case <-h.Done():
		if !errors.Is(h.Err(), fleet.ErrLeaseLost) {
			return fmt.Errorf("lost Permit Err = %v, want ErrLeaseLost", h.Err())
		}
	case <-time.After(3 * time.Second):
		return fmt.Errorf("holder's Permit Done not closed 3s after its lease was revoked and the permit re-granted: the holder was not told")
	}
	return nil
}

// TestOneLeaseOneWatchPerProcess: however many goroutines of one process
// wait, the process holds one lease and one watch, and its waiters are
// served: a process scales to many waiters at the cost of one.
func TestOneLeaseOneWatchPerProcess(t *testing.T) {
	watchdog(t, 60*time.Second)
	ps := openProcs(t, sharedCluster(t), 1, 2, uniqueOpts(t, fleet.WithTTL(fleet.DefaultTTL)))
	s := ps[0].sem
	var mu sync.Mutex
	leases := make(map[int64]bool)
	var wg sync.WaitGroup
	for range 64 {
		wg.Go(func() {
			for range 3 {
				p, err := s.Acquire(bg(t))
				if err != nil {
					t.Errorf("Acquire: %v", err)
					return
				}
				mu.Lock()
				leases[fleet.PermitLease(p)] = true
				mu.Unlock()
				p.Release()
			}
		})
	}
	wg.Wait()
	if len(leases) != 1 {
		t.Errorf("64 goroutines of one process used %d leases, want 1", len(leases))
	}
	if w := fleet.WatchStarts(s); w != 1 {
		t.Errorf("the process opened %d watches, want 1", w)
	}
	if st, _ := s.Stats(bg(t)); st.InUse != 0 || st.Waiting != 0 {
		t.Errorf("Stats after 192 grants = %+v, want InUse 0, Waiting 0", st)
	}
}
