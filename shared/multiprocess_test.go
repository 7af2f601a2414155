//go:build linux || windows

package shared_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/compio-sync/gosync/shared"
)

// grantLog reads the log lines that children write to one shared pipe and
// checks, in pipe order, that the weights logged as held never exceed max.
// A child logs "+ w" after its Acquire returns and "- w" before it
// releases, and the pipe orders the lines as the writes happened, so the
// logged sum never exceeds what is really held: a sum above max is a real
// violation. Lines of a child marked dead are ignored from then on (its
// holdings are dropped, which can only lower the sum).
type grantLog struct {
	max int

	mu       sync.Mutex
	held     map[string]int
	dead     map[string]bool
	sum      int
	peak     int
	grants   []order // queued grants: ticket and grant order
	n        int
	longest  time.Duration // the longest wait of a logged Acquire
	problems []string
	done     map[string]bool

	// ident maps a child to the identity of its handle, and reclaims an
	// identity to the first reclaim of it (children given recovery=1 log
	// both, whether or not they have died since).
	ident    map[string]uint64
	reclaims map[uint64]reclaimEvent
	// progress counts the grants of each goroutine of each child.
	progress map[goroutine]int
}

// A goroutine is one of a workers child's goroutines, by index.
type goroutine struct {
	child string
	g     int
}

// A reclaimEvent is a dead handle's reclaim as its recoverer logged it:
// when (monoNow), and how ("sweep" or "open").
type reclaimEvent struct {
	at int64
	by string
}

type order struct{ ticket, grant uint64 }

func newGrantLog(t *testing.T, max int) (*grantLog, *os.File) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	g := &grantLog{max: max, held: map[string]int{}, dead: map[string]bool{}, done: map[string]bool{}, ident: map[string]uint64{}, reclaims: map[uint64]reclaimEvent{}, progress: map[goroutine]int{}}
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			g.line(sc.Text())
		}
	}()
	t.Cleanup(func() {
		w.Close() // children are killed by their own cleanups, registered later, so run first
		<-finished
		r.Close()
	})
	return g, w
}

func (g *grantLog) line(l string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	f := strings.Fields(l)
	if len(f) == 3 && f[1] == "I" {
		var id uint64
		fmt.Sscan(f[2], &id)
		g.ident[f[0]] = id
		return
	}
	if len(f) == 5 && f[1] == "R" {
		var id uint64
		var e reclaimEvent
		fmt.Sscan(f[2]+" "+f[3]+" "+f[4], &id, &e.at, &e.by)
		if _, ok := g.reclaims[id]; !ok {
			g.reclaims[id] = e
		}
		return
	}
	if len(f) < 2 || g.dead[f[0]] {
		return
	}
	id := f[0]
	var w int
	switch f[1] {
	case "+":
		var t, gr, us uint64
		var q bool
		var gi int
		fmt.Sscan(strings.Join(f[2:], " "), &w, &t, &gr, &q, &us, &gi)
		g.longest = max(g.longest, time.Duration(us)*time.Microsecond)
		g.progress[goroutine{id, gi}]++
		g.held[id] += w
		g.sum += w
		g.n++
		g.peak = max(g.peak, g.sum)
		if g.sum > g.max {
			g.problems = append(g.problems, fmt.Sprintf("after %q logged holdings %d exceed max %d", l, g.sum, g.max))
		}
		if q {
			g.grants = append(g.grants, order{t, gr})
		}
	case "-":
		fmt.Sscan(f[2], &w)
		g.held[id] -= w
		g.sum -= w
	case "done":
		g.done[id] = true
	default:
		g.problems = append(g.problems, fmt.Sprintf("child said %q", l))
	}
}

// markDead drops a killed child's holdings and ignores its later lines.
func (g *grantLog) markDead(id string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.dead[id] = true
	g.sum -= g.held[id]
	delete(g.held, id)
}

// check reports every violation seen, and that grants through the queue
// happened in ticket order (strict FIFO across processes).
func (g *grantLog) check(t *testing.T) {
	t.Helper()
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, p := range g.problems {
		t.Error(p)
	}
	gs := slices.Clone(g.grants)
	slices.SortFunc(gs, func(a, b order) int { return int(a.ticket) - int(b.ticket) })
	for i := 1; i < len(gs); i++ {
		if gs[i].grant <= gs[i-1].grant {
			t.Errorf("FIFO violated: ticket %d granted %d-th, after ticket %d granted %d-th", gs[i].ticket, gs[i].grant, gs[i-1].ticket, gs[i-1].grant)
			break
		}
	}
}

// observe checks the region's invariants every few milliseconds until the
// test ends, failing it on the first violation.
func observe(t *testing.T, s *shared.Semaphore) (stop func() int) {
	quit := make(chan struct{})
	var checks int
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-quit:
				return
			case <-time.After(3 * time.Millisecond):
			}
			if err := s.CheckInvariants(); err != nil {
				t.Errorf("observer: %v", err)
				return
			}
			checks++
		}
	})
	var once sync.Once
	stop = func() int { once.Do(func() { close(quit); wg.Wait() }); return checks }
	t.Cleanup(func() { stop() })
	return stop
}

// expectFullAndEmpty checks the end state once every child is gone: after a
// sweep, every permit is available and nobody waits.
func expectFullAndEmpty(t *testing.T, s *shared.Semaphore, max int) {
	t.Helper()
	s.SweepNow()
	if err := s.CheckInvariants(); err != nil {
		t.Errorf("final invariants: %v", err)
	}
	if got, w, a := s.InUse(), s.Waiting(), s.AvailablePermits(); got != 0 || w != 0 || a != max {
		t.Errorf("final InUse, Waiting, AvailablePermits = %d, %d, %d, want 0, 0, %d", got, w, a, max)
	}
}

// TestMultiProcessFIFOAndWeights: 8 processes of 32 goroutines each take
// random weights of a 4-permit semaphore, some with deadlines that expire
// while queued or race their grant. The log never shows more than 4 held,
// grants through the queue follow ticket order across processes, the
// region's invariants hold throughout, and at the end all is returned.
func TestMultiProcessFIFOAndWeights(t *testing.T) {
	for _, kind := range waiterKinds {
		t.Run(kind, func(t *testing.T) { testMultiProcessFIFOAndWeights(t, kind) })
	}
}

func testMultiProcessFIFOAndWeights(t *testing.T, kind string) {
	watchdog(t, 90*time.Second)
	const max = 4
	s, name := create(t, max, waiterOpts(t, kind)...)
	glog, w := newGrantLog(t, max)
	stop := observe(t, s)
	iters := 12
	if testing.Short() {
		iters = 3
	}
	var kids []*child
	for i := range 8 {
		kids = append(kids, startChild(t, fmt.Sprint("c", i), "workers", name, fmt.Sprintf("g=32,iters=%d,maxw=3,cancel=10,log=1,%s", iters, childWaiter(kind, i)), w))
	}
	for _, c := range kids {
		select {
		case <-c.done:
		case <-time.After(60 * time.Second):
			t.Fatalf("child %s still running after 60s (InUse %d, Waiting %d)", c.id, s.InUse(), s.Waiting())
		}
	}
	waitFor(t, func() bool {
		glog.mu.Lock()
		defer glog.mu.Unlock()
		return len(glog.done) == len(kids)
	})
	checks := stop()
	glog.check(t)
	t.Logf("%d grants (%d through the queue), peak logged holding %d of %d, %d invariant checks", glog.n, len(glog.grants), glog.peak, max, checks)
	if len(glog.grants) < 10 {
		t.Errorf("only %d grants went through the queue: the test did not exercise FIFO", len(glog.grants))
	}
	expectFullAndEmpty(t, s, max)
}

// TestCloseFromAnotherProcess: waiters queued in four processes all fail
// with ErrClosed when a fifth process closes the semaphore.
func TestCloseFromAnotherProcess(t *testing.T) {
	watchdog(t, 60*time.Second)
	s, name := create(t, 1)
	p, _ := s.Acquire(context.Background())
	defer p.Release()
	var kids []*child
	for i := range 4 {
		kids = append(kids, startChild(t, fmt.Sprint("q", i), "queue", name, "g=8,n=1"))
	}
	waitFor(t, func() bool { return s.Waiting() == 32 })
	closer := startChild(t, "closer", "close", name, "")
	closer.expect(t, "closed")
	for _, c := range kids {
		for range 8 {
			c.expect(t, "closed")
		}
		c.expect(t, "done")
	}
	if !s.Closed() {
		t.Errorf("Closed() in the creating process = false after another process closed it")
	}
	if w := s.Waiting(); w != 0 {
		t.Errorf("Waiting after Close = %d, want 0", w)
	}
}

// TestKilledHolderReturnsPermits: a process SIGKILLed while holding every
// permit gives them back, and a waiter in another process is served.
func TestKilledHolderReturnsPermits(t *testing.T) {
	watchdog(t, 30*time.Second)
	s, name := create(t, 3)
	c := startChild(t, "holder", "hold", name, "n=3")
	c.expect(t, "held")
	got := make(chan time.Time, 1)
	go func() {
		p, err := s.AcquireN(context.Background(), 2)
		if err != nil {
			t.Errorf("AcquireN after the holder died = %v", err)
		}
		at := time.Now()
		p.Release()
		got <- at
	}()
	waitFor(t, func() bool { return s.Waiting() == 1 })
	c.kill()
	dead := time.Now()
	select {
	case at := <-got:
		t.Logf("permits of the killed holder came back %v after its death", at.Sub(dead))
	case <-time.After(10 * time.Second):
		t.Fatalf("waiter not served 10s after the holder was killed (InUse %d, Waiting %d)", s.InUse(), s.Waiting())
	}
	expectFullAndEmpty(t, s, 3)
}

// TestKilledWaiterLeavesQueue: a process SIGKILLed while queued at the head
// leaves the queue, even after a release handed it the permits, and the
// waiter behind it is served.
func TestKilledWaiterLeavesQueue(t *testing.T) {
	watchdog(t, 30*time.Second)
	s, name := create(t, 1)
	p, _ := s.Acquire(context.Background())
	c := startChild(t, "waiter", "queue", name, "n=1")
	waitFor(t, func() bool { return s.Waiting() == 1 })
	got := make(chan time.Time, 1)
	go func() {
		q, err := s.Acquire(context.Background())
		if err != nil {
			t.Errorf("Acquire behind the killed waiter = %v", err)
		}
		at := time.Now()
		q.Release()
		got <- at
	}()
	waitFor(t, func() bool { return s.Waiting() == 2 })
	c.kill()
	dead := time.Now()
	p.Release() // granted to the dead child's slot first: strict FIFO
	select {
	case at := <-got:
		t.Logf("queue healed %v after the waiter's death", at.Sub(dead))
	case <-time.After(10 * time.Second):
		t.Fatalf("waiter behind a killed one not served within 10s (InUse %d, Waiting %d)", s.InUse(), s.Waiting())
	}
	expectFullAndEmpty(t, s, 1)
}

// TestKilledInsideLock: a process SIGKILLed while holding the region's
// internal lock halfway through a transaction; the next process to need
// the lock takes it over and rolls the half-done update back.
func TestKilledInsideLock(t *testing.T) {
	watchdog(t, 30*time.Second)
	s, name := create(t, 2)
	c := startChild(t, "locker", "lock", name, "")
	c.expect(t, "locked")
	c.kill()
	dead := time.Now()
	p, err := s.AcquireN(context.Background(), 2)
	if err != nil {
		t.Fatalf("AcquireN(2) after the lock holder died = %v", err)
	}
	t.Logf("lock recovered %v after its owner's death", time.Since(dead))
	p.Release()
	if locks, rollbacks, _ := s.RecoveryCounts(); locks != 1 || rollbacks != 1 {
		t.Errorf("RecoveryCounts = %d locks, %d rollbacks, want 1 and 1", locks, rollbacks)
	}
	expectFullAndEmpty(t, s, 2)
}
