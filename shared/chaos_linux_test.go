package shared_test

import (
	"fmt"
	"math/rand/v2"
	"os"
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
func TestChaos(t *testing.T) {
	kills := chaosKills(t)
	watchdog(t, 30*time.Second+time.Duration(kills)*time.Second)
	const max = 5
	s, name := create(t, max)
	glog, w := newGrantLog(t, max)
	stop := observe(t, s)

	// Children alternate between the futex(2) and the io_uring waiter
	// where io_uring is available, so both are killed mid-wait.
	kind := "futex"
	if iouringAvailable() {
		kind = "mixed"
	}
	live := map[string]*child{}
	isLocker := map[string]bool{}
	spawned, lockers := 0, 0
	spawn := func() {
		spawned++
		id := fmt.Sprint("k", spawned)
		if spawned%7 == 0 {
			lockers++
			isLocker[id] = true
			live[id] = startChild(t, id, "lock", name, "")
			return
		}
		live[id] = startChild(t, id, "workers", name, "g=8,iters=0,maxw=3,cancel=20,log=1,"+childWaiter(kind, spawned), w)
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
		glog.markDead(victim.id)
		victim.kill()
		delete(live, victim.id)
		spawn()
	}
	for id, c := range live {
		glog.markDead(id)
		c.kill()
	}
	elapsed := time.Since(start)
	checks := stop()
	glog.check(t)
	locks, rollbacks, reclaimed := s.RecoveryCounts()
	t.Logf("waiters %s: %d kills (%d inside the lock on purpose) in %v: %d grants logged, peak %d of %d, %d invariant checks; this handle recovered %d locks, rolled back %d transactions, reclaimed %d processes",
		kind, kills, lockers, elapsed.Round(time.Millisecond), glog.n, glog.peak, max, checks, locks, rollbacks, reclaimed)
	if glog.n == 0 {
		t.Errorf("no grant logged: the children never made progress")
	}
	expectFullAndEmpty(t, s, max)
}
