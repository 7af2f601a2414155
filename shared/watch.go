package shared

import (
	"math/rand/v2"
	"time"
)

// Noticing deaths.
//
// A process that dies strands whoever waits behind what it held or owed:
// its permits, its queued requests, the grants it committed but never
// woke, the region lock. Each recoverer (a sweep, Open taking a dead
// handle's slot, the lock's taker) releases all of it and wakes every
// waiter concerned; what is left is that someone notice the death soon.
//
// The queued requests cannot be relied on to notice it. Each sleeps on a
// poll chosen when it went to sleep (pollFor): in a deep queue every
// request went to sleep far back, with pollFar, and is still asleep on
// that timer when it reaches the head. A death that stops the queue (its
// process kept the permits the head needs) then went unnoticed until the
// first pollFar fired, about 2 s (TestChaos's last death, with 40
// requests queued behind it: 1.96-1.99 s in eight runs of eight).
// Collectors sweep too, but only while the queue flows.
//
// So a handle with a request in await runs one watch goroutine, which
// sweeps every watchInterval (plus up to pollJitter) for as long as any
// of its requests is there. Any process with a queued request notices a
// death within sweepInterval and one watch period (the sweep is throttled
// across processes: the first watch after sweepInterval since the last
// sweep does it), whatever its requests' places in the queue, and the
// sweep wakes everyone the death stranded. Cost: per handle with queued
// requests, one timer wake every 100-150 ms (an atomic load and a clock
// read when the throttle says no); across all processes, at most one
// sweep per sweepInterval (an F_OFD_GETLK per attached process slot on
// Linux); nothing per queued request, and nothing at all while the handle
// has none queued.

// watchInterval is how often a handle with queued requests looks for dead
// processes (plus up to pollJitter).
const watchInterval = 100 * time.Millisecond

// startWatch counts a request entering await, starting the handle's watch
// goroutine if none runs; the request calls endWatch when it leaves.
func (s *Semaphore) startWatch() {
	// Invariant: while awaiting is not 0, a watch goroutine runs (and
	// watching is set). The Add comes before the Load: a watch that is
	// stopping either sees this request in its second look, or cleared
	// watching before this Load, and then this request starts one.
	s.awaiting.Add(1)
	if !s.watching.Load() && s.watching.CompareAndSwap(false, true) {
		go s.watch()
	}
}

// endWatch counts a request leaving await; the watch stops at its next
// tick if it was the last.
func (s *Semaphore) endWatch() { s.awaiting.Add(-1) }

// watch sweeps (throttled, see sweep) every watchInterval plus jitter
// while a request of s is in await. It returns at the first tick that
// finds none, and when the handle is detached (its requests are failed
// then, and nothing of it may touch the region any more).
func (s *Semaphore) watch() {
	for {
		time.Sleep(watchInterval + rand.N(pollJitter))
		if s.awaiting.Load() == 0 {
			s.watching.Store(false)
			// A request that came after the Load saw watching still set
			// and started no watch: carry on for it, unless one it
			// started after the Store took over.
			if s.awaiting.Load() == 0 || !s.watching.CompareAndSwap(false, true) {
				return
			}
			continue
		}
		if !s.enter() {
			return
		}
		s.sweep()
		s.leave()
	}
}
