package iouring

import (
	"sync"
	"sync/atomic"
	"time"
)

// goPhase bounds the Go phase of every Park of one Backend without a timer
// or a lock per wait. A Park that starts a Go wait stamps its parker with
// the current epoch and announces the wait in its word (wordGoWaiting); it
// then blocks on nothing but its own goWake channel (and ctx.Done, if ctx
// can end), exactly like the generic backend's Parker. A single sweeper
// goroutine runs while any parker is a member (has waited in Go recently):
// every tick (d/2) it advances the epoch and demotes each member whose
// current Go wait is old enough (it records the wait's stamp in the parker's
// demote field and signals goWake), so a Go wait lasts between d and 1.5d
// before its Park arms the kernel wait — longer while the backend is busy
// serving queued waiters, up to about 100d (see threshold). A parker joins
// the members (one mutex section) only when it is not one already; the
// sweeper drops members that have not waited in Go for two ticks, and exits
// when none is left. Close marks the phase closed and signals every member
// in its Go wait until none is left.
//
// Per Go wait this costs an atomic load of the epoch and of closed (a cache
// line written once per tick), a store to the parker's own stamp, and the
// CAS that announces the wait; before, each wait set and stopped a
// timer and blocked in a four-way select on goWake, the timer channel,
// ctx.Done and a channel shared by every waiter (docs/iouring.md).
type goPhase struct {
	// Read on every Go wait, written once per sweep and by Close: kept off
	// the cache line of mu and the members slice.
	epoch  atomic.Uint64 // sweeps so far
	closed atomic.Bool   // Close ran: no Go wait starts or continues
	_      [48]byte

	tick    time.Duration   // d/2: how often the sweeper runs while it has members
	closing <-chan struct{} // the Backend's: stops a sleeping sweeper

	mu       sync.Mutex
	members  []*parker // parkers that waited in Go recently; each at most once
	sweeping bool      // a sweeper goroutine is running (or starting)
	rate     int       // Go waits started per sweep, recently (see threshold)
	sweepers sync.WaitGroup
}

// gpState is what goPhase keeps in each parker.
type gpState struct {
	// stamp identifies the parker's latest Go wait: the epoch it started in
	// (high bits) and the parker's count of Go waits (low stampCountBits
	// bits, wrapping). Written only by the parker's owner, once per Go wait.
	stamp  atomic.Uint64
	member atomic.Bool   // in goPhase.members
	demote atomic.Uint64 // stamp of the Go wait the sweeper ended
	seen   uint64        // stamp at the previous sweep; guarded by goPhase.mu
}

// stampCountBits is the width of a stamp's wait count: a sweep counts the
// Go waits a parker started since the previous sweep as the difference of
// the counts, modulo 2^24 (no parker starts 16 million waits in one tick).
const stampCountBits = 24

func stampEpoch(s uint64) uint64 { return s >> stampCountBits }

// stampAge returns how many sweeps before sweep e the stamp s was taken. A
// stamp holds only the low 64-stampCountBits (40) bits of its epoch, so the
// age is taken modulo 2^40: against the full epoch, every stamp taken after
// 2^40 sweeps (about 12 days of sweeping at d = 2 µs) would look 2^40 sweeps
// old. No age the sweeper acts on comes near 2^40: a Go wait is demoted by
// maxAge, and a member idle for 2 sweeps is dropped.
func stampAge(e, s uint64) uint64 {
	return (e - stampEpoch(s)) & (1<<(64-stampCountBits) - 1)
}

func stampCount(s uint64) uint64 { return s & (1<<stampCountBits - 1) }

// demoteAge is how many sweeps a Go wait lasts when the backend is quiet:
// stamped at any time during epoch e, it is demoted by sweep e+3, that is
// between 2 and 3 ticks (d to 1.5d) after it started. maxAge (100d to
// 100.5d) bounds the extension that threshold grants a busy backend.
const (
	demoteAge = 3
	maxAge    = 201
)

// threshold returns the age (in sweeps) at which a sweep demotes a Go wait,
// given live parkers in their Go wait and rate Go waits started per sweep
// recently. A backend whose Parks keep coming back for new Go waits is
// serving its waiters: at that rate the live ones are served within about
// live/rate sweeps on average, so a wait younger than serviceFactor times
// that is not idle but queued, and moving it to the kernel would only make
// its handoff slower (a futex wake and a completion instead of a goroutine
// wakeup) — which, in a queue of 1024 goroutines on one permit, slowed every
// handoff enough that every wait outlasted a fixed Go phase and the queue
// collapsed to kernel speed. When nothing starts a Go wait (rate 0: the
// waiters are idle), or the estimate says less, the Go phase is demoteAge
// sweeps.
func threshold(live, rate int) uint64 {
	if rate == 0 {
		return demoteAge
	}
	return uint64(min(max(serviceFactor*live/rate+1, demoteAge), maxAge))
}

// serviceFactor covers the tail of a queue's waits, not just their mean:
// with 1024 goroutines on one permit core+generic's mean wait is about
// 0.46 ms but its p99 is 3 to 4 ms, and a factor of 2 demoted enough of
// that tail (each demoted handoff a few microseconds slower) to drag the
// queue toward the collapse above in some runs (p99 wait 19-38 ms,
// docs/iouring.md); 16 kept the p99 wait level with core+generic's.
const serviceFactor = 16

// start stamps p for a Go wait that is about to be announced and returns the
// stamp.
//
// Invariant: the stamp is stored before the Park's CAS 0→3 announces the
// wait. So a sweeper that loads the stamp, finds the word 3 and loads the
// same stamp again knows that this stamp belongs to the wait in progress,
// never to an earlier wait of the same parker (whose count differs).
func (g *goPhase) start(p *parker) uint64 {
	s := g.epoch.Load()<<stampCountBits | stampCount(p.gp.stamp.Load()+1)
	p.gp.stamp.Store(s) // only this goroutine writes it
	return s
}

// enter makes p, whose Go wait is announced (word 3), reachable by the
// sweeper and by Close. It reports false if the phase is closed: the Park
// must withdraw and fail with ErrClosed.
//
// Invariant (with sweep's leave): Park announces (CAS to 3) before it loads
// member here; the sweeper clears member before it loads the word. With
// sequentially consistent atomics one side always sees the other: either
// this Park sees member false and joins under mu, or the sweeper sees the
// word 3 and keeps p. So a Park in its Go wait is always a member, and
// Close, which sets closed and then signals every member whose word is 3,
// reaches it; a Park that is not a member joins under mu, where it sees
// closed. (The first load of closed only spares a closed backend the rest.)
func (g *goPhase) enter(p *parker) bool {
	if g.closed.Load() {
		return false
	}
	if p.gp.member.Load() {
		if testHookEntered != nil {
			testHookEntered()
		}
		return true // the common path: no lock
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed.Load() {
		return false
	}
	if p.gp.member.Load() { // the sweeper kept it after all
		return true
	}
	p.gp.member.Store(true)
	p.gp.seen = p.gp.stamp.Load() - 1 // count this wait in the next sweep's rate
	g.members = append(g.members, p)
	if !g.sweeping {
		g.sweeping = true
		g.sweepers.Add(1)
		go g.sweep()
	}
	return true
}

// Test hooks, set only by tests (export_linux_test.go): testHookEntered runs
// in enter after a member's Park found itself a member; testHookLeaving runs
// in a sweep that is about to drop an idle member p. Together they force the
// interleaving that enter's invariant is about.
var (
	testHookEntered func()
	testHookLeaving func(p *parker)
)

// demoted reports whether the sweeper ended the Go wait stamped s.
func (p *parker) demoted(s uint64) bool { return p.gp.demote.Load() == s }

// sweep runs while members exist: every tick it demotes the Go waits old
// enough (see threshold) and drops members that have not been in a Go wait
// for two epochs. It exits when no member is left, or when the Backend
// closes.
func (g *goPhase) sweep() {
	defer g.sweepers.Done()
	t := time.NewTimer(g.tick)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-g.closing:
			g.mu.Lock()
			g.sweeping = false
			g.mu.Unlock()
			return
		}
		g.mu.Lock()
		if g.sweepLocked() == 0 || g.closed.Load() {
			g.sweeping = false
			g.mu.Unlock()
			return
		}
		g.mu.Unlock()
		t.Reset(g.tick)
	}
}

// sweepLocked is one sweep; it returns how many members remain.
func (g *goPhase) sweepLocked() int {
	e := g.epoch.Add(1)
	started, live := 0, 0
	for _, p := range g.members {
		s := p.gp.stamp.Load()
		started += int(stampCount(s - p.gp.seen))
		p.gp.seen = s
		if p.word.Load() == wordGoWaiting {
			live++
		}
	}
	// The rate follows a rise at once and halves per sweep on a fall, so a
	// pause of a few sweeps (a GC, a descheduled process) does not make a
	// busy queue look idle.
	g.rate = max(started, g.rate/2)
	age := threshold(live, g.rate)
	kept := g.members[:0]
	for _, p := range g.members {
		s1 := p.gp.stamp.Load()
		if p.word.Load() == wordGoWaiting {
			// The stamp read again after the word belongs to the wait in
			// progress (see start's invariant).
			if s2 := p.gp.stamp.Load(); s1 == s2 && stampAge(e, s2) >= age {
				p.gp.demote.Store(s2) // before the signal: Park reads it after waking
				signal(p.goWake)      // a signal dropped on a full slot is sent again next sweep
			}
			kept = append(kept, p)
			continue
		}
		if stampAge(e, s1) < 2 {
			kept = append(kept, p) // waited in Go recently: likely again soon
			continue
		}
		// Leave: clear member, then look at the word (see enter's
		// invariant). A wait announced meanwhile either saw member still
		// true (and the word shows 3 here: keep it) or will see false and
		// join again under mu, after this sweep.
		if testHookLeaving != nil {
			testHookLeaving(p)
		}
		p.gp.member.Store(false)
		if p.word.Load() == wordGoWaiting {
			p.gp.member.Store(true)
			kept = append(kept, p)
		}
	}
	clear(g.members[len(kept):]) // let dropped parkers be collected
	g.members = kept
	return len(kept)
}

// close ends the Go wait of every Park (each wakes, finds closed and returns
// ErrClosed unless its token came) and waits for the sweeper to exit. The
// Backend closes its closing channel first. It signals every member still in
// its Go wait until none is, so no signal can be lost to a full slot.
func (g *goPhase) close() {
	g.mu.Lock()
	g.closed.Store(true) // before loading the words: see enter's invariant
	for {
		waiting := false
		for _, p := range g.members {
			if p.word.Load() == wordGoWaiting {
				waiting = true
				signal(p.goWake)
			}
		}
		if !waiting {
			break
		}
		g.mu.Unlock()
		time.Sleep(100 * time.Microsecond)
		g.mu.Lock()
	}
	for _, p := range g.members {
		p.gp.member.Store(false)
	}
	clear(g.members)
	g.members = nil
	g.mu.Unlock()
	g.sweepers.Wait()
}

// signal leaves one wake signal in ch unless one is pending already.
func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}
