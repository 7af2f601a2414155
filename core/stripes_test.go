package core_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/compio-sync/gosync/core"
)

// stripedSem returns a Semaphore WithStripes of permits permits with its
// stripes engaged on 4 lanes (GOMAXPROCS is raised to 4 for the test).
func stripedSem(t *testing.T, permits int) *core.Semaphore {
	t.Helper()
	old := runtime.GOMAXPROCS(4)
	t.Cleanup(func() { runtime.GOMAXPROCS(old) })
	s := core.NewSemaphore(permits, chanBackend{}, core.WithStripes())
	if !core.EngageStripes(s) {
		t.Fatalf("EngageStripes(NewSemaphore(%d, WithStripes())) = false, want true", permits)
	}
	return s
}

// filledSem is stripedSem with k permits moved from the word into every
// lane, as releases on every processor would leave them.
func filledSem(t *testing.T, permits int, k int64) *core.Semaphore {
	t.Helper()
	s := stripedSem(t, permits)
	if !core.FillLanes(s, k) {
		t.Fatalf("FillLanes(%d) on %d permits failed", k, permits)
	}
	return s
}

// checkQuiescent fails unless s's introspection is exact: inUse held,
// everything else free, nobody waiting.
func checkQuiescent(t *testing.T, s *core.Semaphore, inUse int) {
	t.Helper()
	if got := s.InUse(); got != inUse {
		t.Errorf("InUse() = %d, want %d", got, inUse)
	}
	if got, want := s.AvailablePermits(), s.MaxPermits()-inUse; got != want {
		t.Errorf("AvailablePermits() = %d, want %d", got, want)
	}
	if got := s.Waiting(); got != 0 {
		t.Errorf("Waiting() = %d, want 0", got)
	}
}

func sum(xs []int64) int64 {
	var t int64
	for _, x := range xs {
		t += x
	}
	return t
}

func TestStripesEngageOnlyWhenAllowed(t *testing.T) {
	old := runtime.GOMAXPROCS(4)
	defer runtime.GOMAXPROCS(old)
	b := chanBackend{}
	if !core.EngageStripes(core.NewSemaphore(64, b)) {
		t.Error("stripes of a Semaphore created without WithStripes did not engage when the contention signal asked")
	}
	if core.EngageStripes(core.NewSemaphore(3, b, core.WithStripes())) {
		t.Error("stripes engaged with 3 permits (fewer than 2 per lane on 2 lanes)")
	}
	closed := core.NewSemaphore(64, b, core.WithStripes())
	closed.Close()
	if core.EngageStripes(closed) {
		t.Error("stripes engaged after Close")
	}
	observed := core.NewSemaphore(64, b, core.WithStripes(), core.WithObserver(nopObserver{}))
	if core.EngageStripes(observed) {
		t.Error("stripes engaged with an Observer attached")
	}
	queued := core.NewSemaphore(64, b, core.WithStripes())
	p, _ := queued.AcquireN(context.Background(), 64)
	done := make(chan error, 1)
	go func() { _, err := queued.Acquire(context.Background()); done <- err }()
	waitFor(t, "the waiter to queue", func() bool { return queued.Waiting() == 1 })
	if core.EngageStripes(queued) {
		t.Error("stripes engaged while a waiter is queued")
	}
	p.Release()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !core.EngageStripes(queued) {
		t.Error("stripes did not engage once the queue emptied")
	}
	if p := core.LanePermits(queued); len(p) != 4 {
		t.Errorf("%d lanes with GOMAXPROCS 4 and 64 permits, want 4", len(p))
	}
	deficit := core.NewSemaphore(64, b, core.WithStripes())
	most, _ := deficit.AcquireN(context.Background(), 60)
	deficit.SetMaxPermits(40) // 60 held of 40: available -20
	if core.EngageStripes(deficit) {
		t.Error("stripes engaged with a deficit after a shrink")
	}
	most.Release()
	if !core.EngageStripes(deficit) {
		t.Error("stripes did not engage once the deficit was paid back")
	}
	checkQuiescent(t, deficit, 0)
	single := runtime.GOMAXPROCS(1)
	one := core.NewSemaphore(64, b, core.WithStripes())
	if core.EngageStripes(one) {
		t.Error("stripes engaged with GOMAXPROCS 1")
	}
	runtime.GOMAXPROCS(single)
	if core.EngageStripes(one) {
		t.Error("stripes engaged after GOMAXPROCS grew on a Semaphore that found it 1")
	}
}

type nopObserver struct{}

func (nopObserver) AcquireWaited(core.QueuedAcquire) {}

// Acquire and Release on engaged stripes work on the lanes and keep the
// introspection exact between calls.
func TestStripedPermitsLiveInLanes(t *testing.T) {
	s := stripedSem(t, 64)
	ctx := context.Background()
	var held []core.Permit
	for i := range 10 {
		p, err := s.AcquireN(ctx, 1+i%3)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, p)
	}
	n := 0
	for _, p := range held {
		n += p.Count()
	}
	checkQuiescent(t, s, n)
	for i := range held {
		held[i].Release()
	}
	checkQuiescent(t, s, 0)
	lanes := core.LanePermits(s)
	if sum(lanes) == 0 {
		t.Fatalf("releases on engaged stripes left the lanes empty (%v): they went to the word", lanes)
	}
	if got := core.WordPermits(s) + sum(lanes); got != 64 {
		t.Errorf("word %d + lanes %v = %d, want 64", core.WordPermits(s), lanes, got)
	}
	// The next acquire comes from a lane, not the word, whichever lane the
	// goroutine's processor token picks (every lane has a permit now).
	if !core.FillLanes(s, 1) {
		t.Fatal("FillLanes(1) failed")
	}
	word := core.WordPermits(s)
	p, _ := s.Acquire(ctx)
	if core.WordPermits(s) != word {
		t.Errorf("an Acquire with permits in its lane took from the word (%d -> %d)", word, core.WordPermits(s))
	}
	p.Release()
}

// No barging (L1): a waiter that must queue drains the lanes first, so
// permits parked in lanes neither strand the waiter nor go to a newcomer.
func TestStripesDrainBeforeAWaiterQueues(t *testing.T) {
	s := stripedSem(t, 8)
	ctx := context.Background()
	if !core.FillLanes(s, 2) { // all 8 permits in the 4 lanes, none in the word
		t.Fatal("FillLanes(2) failed")
	}
	// 8 are free, spread 2 per lane: AcquireN(8) must be granted at once,
	// by the slow path after the drain, not queue behind its own lanes.
	stop := watchdog(t, 10*time.Second)
	defer stop()
	all, err := s.AcquireN(ctx, 8)
	if err != nil {
		t.Fatal(err)
	}
	if core.StripesEngaged(s) {
		t.Error("stripes still engaged after an AcquireN had to drain them")
	}
	all.Release()
	if !core.EngageStripes(s) || !core.FillLanes(s, 1) {
		t.Fatal("could not engage and fill the lanes again")
	}
	// 4 in lanes, 4 in the word; take the word's 4 and queue a waiter for 5.
	four, _ := s.AcquireN(ctx, 4)
	got := make(chan core.Permit, 1)
	go func() {
		p, err := s.AcquireN(ctx, 5)
		if err != nil {
			panic(err)
		}
		got <- p
	}()
	waitFor(t, "the AcquireN(5) to queue", func() bool { return s.Waiting() == 1 })
	if core.StripesEngaged(s) {
		t.Fatal("a waiter queued with the stripes engaged")
	}
	if _, ok := s.TryAcquire(); ok {
		t.Fatal("TryAcquire succeeded while a waiter was queued (lane permits barged)")
	}
	if core.EngageStripes(s) {
		t.Fatal("stripes engaged while a waiter was queued")
	}
	if got := s.AvailablePermits(); got != 4 {
		t.Errorf("AvailablePermits() = %d with 4 free, want 4", got)
	}
	four.Release()
	p := <-got
	if p.Count() != 5 {
		t.Errorf("waiter got %d permits, want 5", p.Count())
	}
	checkQuiescent(t, s, 5)
	p.Release()
	checkQuiescent(t, s, 0)
}

// TryAcquireN fails only when too few permits are free: permits spread over
// lanes, none of which alone has enough, still satisfy it.
func TestStripedTryAcquireGathersLanes(t *testing.T) {
	s := filledSem(t, 8, 2)
	p, ok := s.TryAcquireN(7)
	if !ok {
		t.Fatalf("TryAcquireN(7) failed with 8 free in lanes of 2 (lanes %v, word %d)", core.LanePermits(s), core.WordPermits(s))
	}
	if _, ok := s.TryAcquireN(2); ok {
		t.Error("TryAcquireN(2) succeeded with 1 free")
	}
	p.Release()
	checkQuiescent(t, s, 0)
}

func TestStripedTryAcquireUpToTakesEveryLane(t *testing.T) {
	s := filledSem(t, 16, 3) // 12 in lanes, 4 in the word
	p := s.TryAcquireUpTo(100)
	if p.Count() != 16 {
		t.Errorf("TryAcquireUpTo(100) took %d of 16 free (some in lanes)", p.Count())
	}
	checkQuiescent(t, s, 16)
	p.Release()
	checkQuiescent(t, s, 0)
}

// TryRelease stays exact: permits free in lanes are not held.
func TestStripedTryReleaseIsExact(t *testing.T) {
	s := filledSem(t, 8, 2) // all 8 free permits in the lanes, none in the word
	q, _ := s.AcquireN(context.Background(), 2)
	if s.TryRelease(3) {
		t.Fatal("TryRelease(3) with 2 held reported true")
	}
	if !s.TryRelease(2) {
		t.Fatal("TryRelease(2) with 2 held reported false")
	}
	_ = q // returned by TryRelease(2)
	checkQuiescent(t, s, 0)
}

func TestStripesDrainOnCloseAndResize(t *testing.T) {
	s := filledSem(t, 16, 2)
	p, _ := s.AcquireN(context.Background(), 3)
	s.SetMaxPermits(10)
	if core.StripesEngaged(s) {
		t.Error("stripes engaged after SetMaxPermits")
	}
	checkQuiescent(t, s, 3)
	if got := core.WordPermits(s); got != 7 {
		t.Errorf("word holds %d after the resize drained the lanes, want 7", got)
	}
	if !core.EngageStripes(s) || !core.FillLanes(s, 1) {
		t.Fatal("could not engage and fill the lanes again")
	}
	s.Close()
	if core.StripesEngaged(s) {
		t.Error("stripes engaged after Close")
	}
	if _, ok := s.TryAcquire(); ok {
		t.Error("TryAcquire succeeded after Close")
	}
	if core.EngageStripes(s) {
		t.Error("stripes engaged after Close")
	}
	checkQuiescent(t, s, 3)
	p.Release()
	checkQuiescent(t, s, 0)
}

// An over-release on engaged stripes panics at the Release, as without
// them, and is taken back whole: no lane takes a put that its credit does
// not cover (L2 in stripes.go), so the Release goes to the word with the
// lanes drained, where what is held is exact. Legitimate Releases of
// permits taken on other goroutines (other processors, other lanes) go
// through, in any order.
func TestStripedOverReleasePanicsAtTheRelease(t *testing.T) {
	s := stripedSem(t, 8)
	if r := releasePanic(func() { s.Release(1) }); r != "core: Release of 1 permits, more than are held (0)" {
		t.Fatalf("Release(1) with nothing held on engaged stripes: recovered %v, want core's over-release panic", r)
	}
	checkQuiescent(t, s, 0)
	if s.Closed() {
		t.Fatal("closed after an over-release")
	}
	// Three goroutines hold a permit each, taken wherever they ran.
	ctx := context.Background()
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() {
			if _, err := s.Acquire(ctx); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if r := releasePanic(func() { s.Release(4) }); r != "core: Release of 4 permits, more than are held (3)" {
		t.Errorf("Release(4) with 3 held: recovered %v, want core's over-release panic", r)
	}
	checkQuiescent(t, s, 3)
	// The three are returned by others, one at a time, then a fourth
	// Release finds nothing held.
	for range 3 {
		wg.Go(func() { s.Release(1) })
		wg.Wait()
	}
	checkQuiescent(t, s, 0)
	if r := releasePanic(func() { s.Release(1) }); !isOverReleasePanic(r) {
		t.Errorf("Release(1) after every permit came back: recovered %v, want core's over-release panic", r)
	}
	checkQuiescent(t, s, 0)
}

// The storm: goroutines acquire (blocking, weighted, cancellable), try,
// take up to and release while a resizer, an engager and a draining big
// waiter keep switching the stripes on and off, and a sampler checks that
// the introspection stays within [0, max]. At the end nothing is held, and
// the counts are exact.
func TestStripesStorm(t *testing.T) {
	s := stripedSem(t, 64)
	stop := watchdog(t, 60*time.Second)
	defer stop()
	const workers = 8
	rounds := 3000
	if testing.Short() {
		rounds = 500
	}
	var (
		wg       sync.WaitGroup
		bad      atomic.Value
		finished atomic.Bool
	)
	fail := func(format string, args ...any) { bad.CompareAndSwap(nil, fmt.Sprintf(format, args...)) }
	for w := range workers {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 1))
			for range rounds {
				switch r.IntN(6) {
				case 0, 1, 2:
					n := 1 + r.IntN(3)
					p, err := s.AcquireN(context.Background(), n)
					if err != nil {
						fail("AcquireN(%d): %v", n, err)
						return
					}
					p.Release()
				case 3:
					if p, ok := s.TryAcquireN(1 + r.IntN(2)); ok {
						p.Release()
					}
				case 4:
					ctx, cancel := context.WithTimeout(context.Background(), time.Duration(r.IntN(20))*time.Microsecond)
					if p, err := s.AcquireN(ctx, 1+r.IntN(8)); err == nil {
						p.Release()
					} else if !errors.Is(err, context.DeadlineExceeded) {
						fail("AcquireN with deadline: %v", err)
					}
					cancel()
				case 5:
					if r.IntN(2) == 0 {
						p := s.TryAcquireUpTo(r.IntN(5))
						p.Release()
					} else if _, err := s.AcquireN(context.Background(), 1); err == nil {
						s.Release(1) // the x/sync style
					}
				}
			}
		})
	}
	var bg sync.WaitGroup
	bg.Go(func() { // engages the stripes as contention would
		for !finished.Load() {
			core.EngageStripes(s)
			runtime.Gosched()
		}
	})
	bg.Go(func() { // a big waiter: drains the stripes and queues
		for !finished.Load() {
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Microsecond)
			if p, err := s.AcquireN(ctx, 40); err == nil {
				p.Release()
			}
			cancel()
			time.Sleep(100 * time.Microsecond)
		}
	})
	bg.Go(func() { // resizes between 48 and 64
		for i := 0; !finished.Load(); i++ {
			s.SetMaxPermits(48 + 16*(i%2))
			time.Sleep(300 * time.Microsecond)
		}
		s.SetMaxPermits(64)
	})
	bg.Go(func() { // samples the introspection
		for !finished.Load() {
			max := s.MaxPermits()
			if a := s.AvailablePermits(); a < 0 || a > 64 {
				fail("AvailablePermits() = %d, outside [0, 64]", a)
			}
			if u := s.InUse(); u < 0 || u > 64 {
				fail("InUse() = %d, outside [0, %d]", u, max)
			}
			runtime.Gosched()
		}
	})
	wg.Wait()
	finished.Store(true)
	bg.Wait()
	if v := bad.Load(); v != nil {
		t.Fatal(v)
	}
	checkQuiescent(t, s, 0)
	// Everything is free and the semaphore still works both ways.
	all, err := s.AcquireN(context.Background(), 64)
	if err != nil || all.Count() != 64 {
		t.Fatalf("AcquireN(64) after the storm = %d, %v", all.Count(), err)
	}
	all.Release()
	checkQuiescent(t, s, 0)
}

// Strict FIFO with the stripes: permits parked in lanes, then a holder
// that takes everything (draining them) and a line of waiters; the holder
// returns one permit at a time, and each goes to the next waiter in line,
// while a barger hammers TryAcquire and tries to engage the lanes again. A
// barger success while a waiter is still queued, or a grant out of line
// order, fails the test.
func TestStripesKeepStrictFIFO(t *testing.T) {
	stop := watchdog(t, 60*time.Second)
	defer stop()
	const waiters = 6
	for round := range 50 {
		s := filledSem(t, 8, 1) // 4 in lanes, 4 in the word
		all, err := s.AcquireN(context.Background(), 8)
		if err != nil {
			t.Fatal(err)
		}
		var (
			granted  atomic.Int64
			order    [waiters]atomic.Int64
			barged   atomic.Int64
			held     [waiters]core.Permit
			finished atomic.Bool
			wg       sync.WaitGroup
		)
		for i := range waiters {
			wg.Go(func() {
				p, err := s.Acquire(context.Background())
				if err != nil {
					panic(err)
				}
				order[i].Store(granted.Add(1))
				held[i] = p // kept until the end, so each grant needs a release by the holder
			})
			waitFor(t, "waiter to queue", func() bool { return s.Waiting() == i+1 })
		}
		wg.Go(func() {
			for !finished.Load() {
				core.EngageStripes(s)
				if p, ok := s.TryAcquire(); ok {
					if s.Waiting() > 0 {
						barged.Add(1)
					}
					p.Release()
				}
			}
		})
		for k := range waiters {
			one := all.Split(1)
			one.Release()
			waitFor(t, "the next waiter to be granted", func() bool { return granted.Load() == int64(k+1) })
		}
		finished.Store(true)
		wg.Wait()
		all.Release()
		for i := range held {
			held[i].Release()
		}
		for i := range waiters {
			if got := order[i].Load(); got != int64(i+1) {
				t.Fatalf("round %d: waiter %d was granted %d-th, want %d-th", round, i, got, i+1)
			}
		}
		if n := barged.Load(); n != 0 {
			t.Fatalf("round %d: TryAcquire succeeded %d times while a waiter was queued", round, n)
		}
		checkQuiescent(t, s, 0)
	}
}

// A Release through a lane happens before the TryAcquire that takes the
// permit from a lane. The holder of every permit writes plain data and
// returns one permit into its lane; a goroutine started before the write,
// which learns nothing from the holder except through the Semaphore (it
// sleeps, which the race detector does not count as synchronization), takes
// the permit from the lanes and reads the data. Under -race a handover that
// did not synchronize would be reported as a data race on data.
func TestStripedReleaseHappensBeforeLaneAcquire(t *testing.T) {
	s := stripedSem(t, 4)
	// Every permit, one at a time from the lanes (the caller's, then the
	// other's): the lanes stay engaged.
	takeAll := func() []core.Permit {
		var all []core.Permit
		for range 4 {
			p, err := s.Acquire(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, p)
		}
		if !core.StripesEngaged(s) {
			t.Fatal("stripes not engaged after taking every permit from the lanes")
		}
		return all
	}
	all := takeAll()
	type result struct {
		p core.Permit
		v int
	}
	var data int
	var held []core.Permit
	throughLanes := 0
	for round := 1; round <= 40; round++ {
		got := make(chan result)
		go func() {
			time.Sleep(2 * time.Millisecond)
			if p, ok := s.TryAcquire(); ok {
				got <- result{p, data} // plain read, ordered only by the handover
				return
			}
			got <- result{v: -1} // the holder had not released yet: no handover
		}()
		data = round // plain write by the holder
		one := all[len(all)-1]
		all = all[:len(all)-1]
		one.Release() // into a lane while the stripes are engaged
		inLane := sum(core.LanePermits(s)) == 1
		r := <-got
		if r.v == -1 {
			// Too slow this round: take the permit back, re-engage.
			back, _ := s.TryAcquire()
			held = append(held, back)
		} else {
			if r.v != round {
				t.Fatalf("round %d: read %d after taking the permit", round, r.v)
			}
			if inLane {
				throughLanes++
			}
			held = append(held, r.p)
		}
		core.EngageStripes(s)
		if len(all) == 0 {
			for _, p := range held {
				p.Release()
			}
			held = held[:0]
			all = takeAll()
		}
	}
	for _, p := range append(all, held...) {
		p.Release()
	}
	if throughLanes == 0 {
		t.Fatal("no round handed a permit over through a lane")
	}
	t.Logf("%d of 40 rounds handed the permit over through a lane", throughLanes)
	checkQuiescent(t, s, 0)
}

// A Release whose add pushes the word past the maximum while free permits
// sit in the lanes reports how many permits are held, not the lanes'
// permits as held too: every permit is free here, 2 in each of the 4
// lanes.
func TestStripedOverReleaseMessageCountsTheLanesAsFree(t *testing.T) {
	s := filledSem(t, 8, 2)
	r := releasePanic(func() { s.Release(9) }) // more than a lane's share: to the word, 9 > 8
	if want := "core: Release of 9 permits, more than are held (0)"; r != want {
		t.Errorf("Release(9) with nothing held panicked with %v, want %q", r, want)
	}
	checkQuiescent(t, s, 0)
}

// Lanes count no grants: attaching an Observer drains them, and the
// Acquires after it are counted.
func TestStripesDrainWhenObserved(t *testing.T) {
	s := filledSem(t, 16, 2)
	s.SetObserver(nopObserver{})
	if core.StripesEngaged(s) {
		t.Fatal("stripes still engaged after SetObserver")
	}
	if got := core.WordPermits(s); got != 16 {
		t.Errorf("word holds %d after the drain, want 16", got)
	}
	for range 3 {
		p, err := s.Acquire(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		p.Release()
	}
	if got := s.AcquireStats().Count(core.AcquireGranted); got != 3 {
		t.Errorf("AcquireStats granted = %d after 3 observed Acquires, want 3", got)
	}
	s.SetObserver(nil)
	if !core.EngageStripes(s) {
		t.Error("stripes did not engage once the Observer was detached")
	}
}

// Goroutines that hold at most one permit each keep taking and returning
// permits on engaged stripes while another keeps releasing more than they
// could all hold together: every over-release panics at its Release (it
// changes nothing), no legitimate Release ever panics, and at the end the
// counts are exact. An over-release that moved permits before it panicked
// would let an engagement credit a held count that the take-back then
// falsified, after which the lanes accepted over-releases silently.
func TestOverReleasesUnderContentionAlwaysPanic(t *testing.T) {
	s := stripedSem(t, 8)
	stop := watchdog(t, 60*time.Second)
	defer stop()
	const workers, rounds = 3, 20000
	ctx := context.Background()
	var done atomic.Bool
	var legitPanics atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range rounds {
				p, err := s.Acquire(ctx)
				if err != nil {
					t.Error(err)
					return
				}
				if r := releasePanic(p.Release); r != nil {
					legitPanics.Add(1)
					t.Errorf("a legitimate Release panicked: %v", r)
					return
				}
			}
		})
	}
	var silent, caught int
	var over sync.WaitGroup
	over.Go(func() {
		for !done.Load() {
			if r := releasePanic(func() { s.Release(workers + 1) }); r == nil {
				silent++
			} else {
				caught++
			}
			runtime.Gosched()
		}
	})
	wg.Wait()
	done.Store(true)
	over.Wait()
	if silent != 0 {
		t.Errorf("%d of %d Release(%d) calls with at most %d held returned without a panic", silent, silent+caught, workers+1, workers)
	}
	t.Logf("%d over-releases caught; stripes engaged at the end: %v", caught, core.StripesEngaged(s))
	checkQuiescent(t, s, 0)
}
