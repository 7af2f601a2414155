package iouring

import (
	"sync"
	"time"
)

// goPhase bounds the Go phase of every Park of one Backend without a timer
// per wait. A Park that starts a Go wait registers its parker here (one
// mutex section) and then blocks on nothing but its own goWake channel (and
// ctx.Done, if ctx can end), exactly like the generic backend's Parker. A
// single sweeper goroutine ticks every d/2 while registrations exist: each
// tick advances the epoch and demotes every registration that is old enough
// and still waiting in Go (it marks the parker demoted and signals goWake),
// so a Go wait lasts between d and 1.5d before its Park arms the kernel wait
// — longer while the backend is busy serving queued waiters, up to 100d
// (see threshold). Close marks the phase closed and signals every
// registered parker.
//
// The per-wait cost is one uncontended mutex section, against a timer reset
// and stop plus a four-way select (on goWake, a timer channel, ctx.Done and
// a channel shared by every waiter) before: see docs/iouring.md.
//
// The list is ordered by epoch: register appends at the tail with the
// current epoch and epochs only grow, so the sweeper stops at the first
// registration that is too young. A registration is removed by the sweeper
// (demoted, or found no longer waiting in Go) or by the parker's next
// register, never on the wake path: a Park woken by its token leaves its
// registration behind, and the sweeper drops it within two ticks.
type goPhase struct {
	tick time.Duration // d/2: how often the sweeper runs while it has work

	mu         sync.Mutex
	head, tail *parker // registered parkers, oldest registration first
	epoch      uint64  // sweeps so far
	live       int     // registrations in the list
	regs       int     // registrations since the last sweep
	rate       int     // registrations per sweep, recent (see threshold)
	sweeping   bool    // a sweeper goroutine is running (or starting)
	closed     bool    // Close ran: no new registrations, every Go wait ends
	sweepers   sync.WaitGroup
	closing    <-chan struct{} // the Backend's: stops a sleeping sweeper
}

// demoteAge is how many sweeps a registration survives in the Go phase
// when the backend is quiet: registered at any time during epoch e, it is
// demoted by sweep e+3, that is between 2 and 3 ticks (d to 1.5d) after it
// started. maxAge (100d to 100.5d) bounds the extension that threshold
// grants a busy backend.
const (
	demoteAge = 3
	maxAge    = 201
)

// threshold returns the age (in sweeps) at which this sweep demotes a
// registration. A backend whose Parks keep coming back for new Go waits
// (rate per sweep, recently) is serving its waiters: at that rate the live
// registered ones are served within about live/rate sweeps on average, so a
// wait younger than serviceFactor times that is not idle but queued, and
// moving it to the kernel would only make its handoff slower (a futex wake
// and a completion instead of a goroutine wakeup) — which, in a queue of
// 1024 goroutines on one permit, slowed every handoff enough that every wait
// outlasted a fixed Go phase and the queue collapsed to kernel speed (issue
// 10). When nothing re-registers (rate 0: the waiters are idle), or the
// estimate says less, the Go phase is demoteAge sweeps.
func (g *goPhase) threshold() uint64 {
	if g.rate == 0 {
		return demoteAge
	}
	return uint64(min(max(serviceFactor*g.live/g.rate+1, demoteAge), maxAge))
}

// serviceFactor covers the tail of a queue's waits, not just their mean:
// with 1024 goroutines on one permit core+generic's mean wait is about
// 0.46 ms but its p99 is 3 to 4 ms, and a factor of 2 demoted enough of
// that tail (each demoted handoff a few microseconds slower) to drag the
// queue toward the collapse above in some runs (p99 wait 19-38 ms,
// docs/iouring.md); 16 kept the p99 wait level with core+generic's.
const serviceFactor = 16

// gpLinks is what goPhase keeps in each parker. All fields are guarded by
// goPhase.mu.
type gpLinks struct {
	prev, next *parker
	linked     bool
	epoch      uint64 // the epoch of the registration
	demoted    bool   // the sweeper ended this registration's Go phase
}

// register records that p starts a Go wait, and starts the sweeper if none
// runs. It reports false (registering nothing) once Close ran; Park then
// goes straight to the kernel wait, which fails with ErrClosed.
//
// Invariant: register happens before the Park's CAS 0→3 (announcing the Go
// wait). So a registration the sweeper finds old while the word is 3 is the
// registration of the wait in progress, never a leftover of an earlier wait
// of the same parker whose next wait has announced but not yet re-registered.
func (g *goPhase) register(p *parker) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return false
	}
	if p.gp.linked {
		g.unlinkLocked(p)
	}
	p.gp.epoch = g.epoch
	p.gp.demoted = false
	g.live++
	g.regs++
	p.gp.prev, p.gp.next, p.gp.linked = g.tail, nil, true
	if g.tail != nil {
		g.tail.gp.next = p
	} else {
		g.head = p
	}
	g.tail = p
	if !g.sweeping {
		g.sweeping = true
		g.sweepers.Add(1)
		go g.sweep()
	}
	return true
}

func (g *goPhase) unlinkLocked(p *parker) {
	if p.gp.prev != nil {
		p.gp.prev.gp.next = p.gp.next
	} else {
		g.head = p.gp.next
	}
	if p.gp.next != nil {
		p.gp.next.gp.prev = p.gp.prev
	} else {
		g.tail = p.gp.prev
	}
	p.gp.prev, p.gp.next, p.gp.linked = nil, nil, false
	g.live--
}

// outcome tells a Park woken without a token why its signal came: demoted
// (the Go phase is over: arm the kernel wait), closed (return ErrClosed), or
// neither (a stale signal: keep waiting). Taking mu orders this read after
// the sweeper's or Close's section that set the flag, and a signal that
// either of them sent after this read finds goWake empty (this Park
// consumed the last one before taking mu), so it is not lost.
func (g *goPhase) outcome(p *parker) (demoted, closed bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return p.gp.demoted, g.closed
}

// sweep runs while registrations exist: every tick it demotes the
// registrations demoteAge epochs old that are still waiting in Go, and drops
// those that are not. It exits after two ticks with nothing registered, or
// when the Backend closes.
func (g *goPhase) sweep() {
	defer g.sweepers.Done()
	t := time.NewTimer(g.tick)
	defer t.Stop()
	idle := 0
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
		g.epoch++
		// The rate follows a rise at once and halves per sweep on a fall,
		// so a pause of a few sweeps (a GC, a descheduled process) does
		// not make a busy queue look idle.
		g.rate = max(g.regs, g.rate/2)
		g.regs = 0
		age := g.threshold()
		for p := g.head; p != nil && g.epoch-p.gp.epoch >= age; p = g.head {
			g.unlinkLocked(p)
			if p.word.Load() != wordGoWaiting {
				continue // woken by its token or withdrawn: nothing to end
			}
			// Still in the Go wait that registered (see register's
			// invariant). demoted is set before the signal, both under mu;
			// Park reads it under mu after waking (see outcome).
			p.gp.demoted = true
			signal(p.goWake)
		}
		if g.head == nil {
			idle++
		} else {
			idle = 0
		}
		if idle >= 2 || g.closed {
			g.sweeping = false
			g.mu.Unlock()
			return
		}
		g.mu.Unlock()
		t.Reset(g.tick)
	}
}

// close ends the Go phase of every registered Park (each wakes, finds
// closed and returns ErrClosed unless its token came) and waits for the
// sweeper to exit. The Backend closes its closing channel first.
func (g *goPhase) close() {
	g.mu.Lock()
	g.closed = true
	for p := g.head; p != nil; p = g.head {
		g.unlinkLocked(p)
		signal(p.goWake)
	}
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
