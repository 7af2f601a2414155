//go:build linux || windows

package shared_test

import (
	"fmt"
	"maps"

	"github.com/compio-sync/gosync/shared"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strconv"
	"testing"
	"time"
)

// chaosKills is how many children TestChaos SIGKILLs: 60 by default (about
// 10-20 s under -race on 2 cores), 15 with -short, GOSYNC_CHAOS_KILLS if
// set (make stress runs 1000).
func chaosKills(t *testing.T) int {
	if v := os.Getenv("GOSYNC_CHAOS_KILLS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("GOSYNC_CHAOS_KILLS=%q: want a positive count", v)
		}
		return n
	}
	if testing.Short() {
		return 15
	}
	return 60
}

// TestChaos SIGKILLs churning child processes at random moments (inside
// Acquire, inside Release, while queued, while holding or waiting for the
// region lock; every seventh child deliberately dies inside the lock
// halfway through a transaction) and replaces each. Throughout, an
// observer checks the region's invariants under the lock and the log of
// grants never shows more than the maximum held by live children; at the
// end, with every child gone, the semaphore is full and nobody waits.
//
// Beside it, a second semaphore is churned by fastWorkers children, whose
// goroutines spend most of their time inside the pool fast path (the share
// of fast-path grants is logged and must not be zero), so that kills land
// inside fast-path acquires and releases, inside steals and inside
// lock-path pool updates; every fifth of them dies inside a steal on
// purpose (HangInsideSteal, at a random stage, once another child's pool
// is undrained; the test fails if none did). Each round kills one child
// of each semaphore; the same invariants and end state are checked.
//
// Recovery: the children's queued requests never look for dead processes
// on their own (their polls are off, see chaosPolls), so every death must
// be noticed and recovered by someone else, and a waiter it stranded that
// no recoverer wakes sleeps for good. The last death is of a child that
// holds every permit, with no process started after it: every survivor
// is queued behind it. The test fails if a killed child is not reclaimed
// within 10 s, or if afterwards a goroutine of a surviving child is
// granted nothing within 10 s. It logs, per death, the time from the
// SIGKILL (and from the reap) to the end of the reclaim, when the waiters
// the reclaim let through and those the dead child had decided have been
// woken (children log both moments on one clock, monoNow), and who
// reclaimed it.
func TestChaos(t *testing.T) {
	kills := chaosKills(t)
	watchdog(t, 30*time.Second+time.Duration(kills)*time.Second)
	const max = 5
	s, name := create(t, max)
	glog, w := newGrantLog(t, max)
	stop := observe(t, s)

	kind := chaosWaiterKind()
	fast := newFastChaos(t, kind)
	live := map[string]*child{}
	isLocker := map[string]bool{}
	spawned, lockers := 0, 0
	spawn := func() {
		spawned++
		id := fmt.Sprint("k", spawned)
		if spawned%7 == 0 {
			lockers++
			isLocker[id] = true
			live[id] = startChild(t, id, "lock", name, "recovery=1", w)
			return
		}
		live[id] = startChild(t, id, "workers", name, "g=8,iters=0,maxw=3,cancel=20,log=1,recovery=1,"+chaosPolls+","+childWaiter(kind, spawned), w)
	}
	var deaths []death
	kill := func(c *child) {
		glog.markDead(c.id)
		d := death{child: c.id, killed: monoNow()}
		c.kill()
		d.reaped = monoNow()
		deaths = append(deaths, d)
		delete(live, c.id)
	}
	for range 6 {
		spawn()
	}
	start := time.Now()
	for k := 0; k < kills; k++ {
		time.Sleep(time.Duration(20+rand.IntN(100)) * time.Millisecond)
		// A child that hangs inside the lock stalls everyone until it dies:
		// kill it first (it has had one interval to take the lock).
		var victim *child
		for _, c := range live { // map order is random enough
			victim = c
			if isLocker[c.id] {
				break
			}
		}
		kill(victim)
		spawn()
		fast.killOne(t)
	}
	// The last death: a child that holds every permit dies, and no process
	// is started after it, so that only the survivors, every one of them
	// queued behind it, can recover. (Hung lock holders go first: they
	// would keep it from its permits.)
	for id, c := range live {
		if isLocker[id] {
			kill(c)
		}
	}
	holder := startChild(t, "kh", "hold", name, fmt.Sprintf("n=%d,recovery=1", max), w)
	holder.expect(t, "held")
	kill(holder)
	rec := awaitRecoveries(t, glog, deaths, s.Attached)
	awaitProgress(t, glog, slices.Collect(maps.Keys(live)), 8)
	for id, c := range live {
		glog.markDead(id)
		c.kill()
	}
	elapsed := time.Since(start)
	checks := stop()
	fast.finish(t)
	glog.check(t)
	locks, rollbacks, reclaimed := s.RecoveryCounts()
	t.Logf("waiters %s: %d kills (%d inside the lock on purpose) in %v: %d grants logged, peak %d of %d, %d invariant checks; this handle recovered %d locks, rolled back %d transactions, reclaimed %d processes; the longest Acquire of a surviving child waited %v (queueing behind holders and hung lock holders included)",
		kind, kills, lockers, elapsed.Round(time.Millisecond), glog.n, glog.peak, max, checks, locks, rollbacks, reclaimed, glog.longest.Round(time.Millisecond))
	t.Log(rec)
	if glog.n == 0 {
		t.Errorf("no grant logged: the children never made progress")
	}
	expectFullAndEmpty(t, s, max)
}

// A death is a child TestChaos killed: when the SIGKILL was sent and when
// the child was reaped (monoNow).
type death struct {
	child          string
	killed, reaped int64
}

// awaitRecoveries waits until a surviving process has reclaimed every
// killed child that had logged its identity, and describes the recovery
// times: from the SIGKILL (and from the reap) to the end of the reclaim,
// when every waiter the reclaim let through and every waiter the dead
// child had decided has been woken; the last of deaths separately. It
// fails the test if one is not reclaimed within 10 s.
//
// A reclaim is logged by the process that made it, after the transaction
// that made it committed; a process killed between the two leaves a
// reclaim nobody logs. attached tells those apart from a death nobody
// reclaimed: once a reclaim has committed, no process slot holds the dead
// handle's identity (one that rolled back leaves it in place). A child
// whose identity is gone without a logged reclaim counts as reclaimed by a
// process killed before it could say so, and has no recovery time.
func awaitRecoveries(t *testing.T, g *grantLog, deaths []death, attached func(id uint64) bool) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		g.mu.Lock()
		var fromKill, fromReap []time.Duration
		by := map[string]int{}
		var pending []string
		unknown, unlogged := 0, 0
		var last string
		for k, d := range deaths {
			id, ok := g.ident[d.child]
			if !ok {
				unknown++
				continue
			}
			e, ok := g.reclaims[id]
			if !ok {
				if !attached(id) {
					unlogged++
					continue
				}
				pending = append(pending, d.child)
				continue
			}
			fromKill = append(fromKill, time.Duration(e.at-d.killed))
			fromReap = append(fromReap, time.Duration(e.at-d.reaped))
			by[e.by]++
			if k == len(deaths)-1 {
				last = fmt.Sprintf("%v after its SIGKILL, by %s", time.Duration(e.at-d.killed).Round(time.Millisecond), e.by)
			}
		}
		g.mu.Unlock()
		if len(pending) == 0 {
			return fmt.Sprintf("recovery of %d killed children (%d more were killed before they logged their identity, most while starting; %d were reclaimed by a process killed before it logged the reclaim): from the SIGKILL to the end of the reclaim %s; from the reap %s; reclaimed by %v; the last death (every permit held, every survivor queued behind it): %s",
				len(fromKill), unknown, unlogged, spread(fromKill), spread(fromReap), by, last)
		}
		if time.Now().After(deadline) {
			t.Fatalf("killed children %v not reclaimed within 10s by any surviving process", pending)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// awaitProgress waits until each of the g goroutines of every child in ids
// has logged a grant after the call, and fails the test if one has not
// within 10 s: with the children's own polls off, a waiter that a death
// left asleep and that no recoverer woke never would.
func awaitProgress(t *testing.T, g *grantLog, ids []string, goroutines int) {
	t.Helper()
	g.mu.Lock()
	before := maps.Clone(g.progress)
	g.mu.Unlock()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var stuck []goroutine
		g.mu.Lock()
		for _, id := range ids {
			for i := range goroutines {
				if k := (goroutine{id, i}); g.progress[k] == before[k] {
					stuck = append(stuck, k)
				}
			}
		}
		g.mu.Unlock()
		if len(stuck) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("goroutines %v of surviving children granted nothing within 10s after the last death was recovered: a waiter was left asleep", stuck)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// spread describes durations: median, p99 and max.
func spread(ds []time.Duration) string {
	if len(ds) == 0 {
		return "(none)"
	}
	slices.Sort(ds)
	q := func(p float64) time.Duration {
		return ds[min(len(ds)-1, int(p*float64(len(ds))))].Round(time.Millisecond)
	}
	return fmt.Sprintf("median %v, p99 %v, max %v", q(0.5), q(0.99), ds[len(ds)-1].Round(time.Millisecond))
}

// fastChaos is TestChaos's second semaphore, churned by fastWorkers
// children and by children that die inside a steal.
type fastChaos struct {
	s       *shared.Semaphore
	name    string
	kind    string // of waiters, as in TestChaos
	stop    func() int
	live    map[string]*child
	stealer map[string]bool
	spawned int
	// fast and all sum the last "fast F of N" report of every killed
	// fastWorkers child; stealers counts the stealer children killed,
	// hung those killed once they hung, and insideSteal those of them
	// that hung inside a steal of another process's pool.
	fast, all, stealers, hung, insideSteal int
}

const fastChaosMax = 3

// stealWait is how long a stealer waits for another child's pool to be
// undrained before it hangs inside a steal of it. Under Wine handoffs take
// milliseconds, so the queue is almost never empty and every pool stays
// drained (sampled: someone queued in every sample over 5 s): there the
// stealers do not wait, and steal recovery is not required of the kills
// (TestKilledInsideSteal covers it).
var stealWait = func() time.Duration {
	if runtime.GOOS == "linux" {
		return 2 * time.Second
	}
	return 0
}()

func newFastChaos(t *testing.T, kind string) *fastChaos {
	s, name := create(t, fastChaosMax)
	f := &fastChaos{s: s, name: name, kind: kind, stop: observe(t, s), live: map[string]*child{}, stealer: map[string]bool{}}
	for range 3 {
		f.spawn(t)
	}
	return f
}

func (f *fastChaos) spawn(t *testing.T) {
	f.spawned++
	id := fmt.Sprint("f", f.spawned)
	if f.spawned%5 == 0 {
		f.stealer[id] = true
		stage := []string{"journaled", "stolen"}[rand.IntN(2)]
		f.live[id] = startChild(t, id, "steal", f.name, fmt.Sprintf("stage=%s,waitms=%d", stage, stealWait/time.Millisecond))
		return
	}
	f.live[id] = startChild(t, id, "fast", f.name, "g=2,maxw=3,"+childWaiter(f.kind, f.spawned))
}

// killOne SIGKILLs one child (a stealer first: it stalls the others, and
// it is killed only once it reports where it hangs) and replaces it.
func (f *fastChaos) killOne(t *testing.T) {
	var victim *child
	for _, c := range f.live {
		victim = c
		if f.stealer[c.id] {
			f.awaitSteal(t, c)
			break
		}
	}
	f.reap(victim)
	f.spawn(t)
}

// awaitSteal waits until stealer c says whether it hangs inside a steal.
func (f *fastChaos) awaitSteal(t *testing.T, c *child) {
	f.hung++
	timeout := time.After(10 * time.Second)
	for {
		select {
		case line, ok := <-c.lines:
			switch {
			case !ok:
				t.Fatalf("stealer %s exited before it hung", c.id)
			case line == c.id+" stealing":
				f.insideSteal++
				return
			case line == c.id+" stealing none":
				return
			default:
				t.Fatalf("stealer %s said %q", c.id, line)
			}
		case <-timeout:
			t.Fatalf("stealer %s did not hang within 10s", c.id)
		}
	}
}

func (f *fastChaos) reap(c *child) {
	c.kill()
	delete(f.live, c.id)
	if f.stealer[c.id] {
		f.stealers++
		return
	}
	var fast, all int
	for line := range c.lines { // closed once the dead child's output is read
		fmt.Sscanf(line, c.id+" fast %d of %d", &fast, &all)
	}
	f.fast += fast
	f.all += all
}

func (f *fastChaos) finish(t *testing.T) {
	for _, c := range f.live {
		f.reap(c)
	}
	checks := f.stop()
	locks, rollbacks, reclaimed := f.s.RecoveryCounts()
	t.Logf("fast-path semaphore: %d children killed (%d stealers, %d of them inside a steal of another process's pool), %d of their %d grants took the fast path, %d invariant checks; this handle recovered %d locks, rolled back %d transactions, reclaimed %d processes",
		f.spawned, f.stealers, f.insideSteal, f.fast, f.all, checks, locks, rollbacks, reclaimed)
	if f.fast == 0 {
		t.Errorf("no fast-path grant in the fast-path children: the kills did not exercise the fast path")
	}
	if stealWait > 0 && f.hung > 1 && f.insideSteal == 0 {
		t.Errorf("none of the %d stealers killed once they hung was inside a steal: the kills did not exercise steal recovery", f.hung)
	}
	expectFullAndEmpty(t, f.s, fastChaosMax)
}
