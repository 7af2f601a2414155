package core

import "fmt"

// TryAcquireUpTo takes as many permits as it can, up to max, at once and
// without blocking: min(max, AvailablePermits()) permits, read and taken in
// one atomic step, so that no concurrent Acquire or Release can slip between
// the count and the take (the gap that makes "take all free permits"
// impossible to write on golang.org/x/sync/semaphore). It returns a Permit
// holding what it took, possibly none.
//
// It takes nothing, returning an empty Permit, if no permit is free, if the
// Semaphore is closed, or if any waiter is queued: like TryAcquire it never
// barges past a waiter, even when some permits are free (they are reserved
// for the head of the queue). max == 0 takes nothing. TryAcquireUpTo panics
// with a message starting "core:" if max is negative.
func (s *Semaphore) TryAcquireUpTo(max int) Permit {
	if max < 0 {
		panic(fmt.Sprintf("core: TryAcquireUpTo with negative max (%d)", max))
	}
	if p, ok := s.tryAcquireUpTo(max); ok {
		return p
	}
	// Free permits may be spread over the lanes: count and take them in
	// the word, under mu, with the lanes drained (they cannot engage again
	// while we hold mu).
	s.mu.Lock()
	s.drainLanesLocked()
	p, _ := s.tryAcquireUpTo(max)
	s.mu.Unlock()
	return p
}

// tryAcquireUpTo is TryAcquireUpTo on the word alone. It reports false,
// taking nothing, if the stripes are engaged (flagLanes): then the word
// does not hold every free permit.
func (s *Semaphore) tryAcquireUpTo(max int) (Permit, bool) {
	for {
		st := s.state.Load()
		if st&flagLanes != 0 {
			return Permit{}, false
		}
		if st&(flagClosed|flagQueued) != 0 {
			return Permit{}, true
		}
		take := min(int64(max), availOf(st))
		if take <= 0 {
			return Permit{}, true
		}
		// The CAS fails if anything changed since the load (a take, a
		// release, a flag being set, a resize), so take is min(max, free)
		// at the instant it succeeds.
		if s.state.CompareAndSwap(st, st-permitsDelta(take)) {
			return Permit{sem: s, n: int(take)}, true
		}
	}
}

// Split moves k of the Permit's permits into a new Permit and returns it:
// afterwards p holds k fewer, and each of the two releases its own permits,
// independently and exactly once (they may be released from different
// goroutines). Splitting lets a holder return a budget in parts as work
// finishes, for example the memory of a batch as each item is written.
// k == 0 returns an empty Permit and leaves p unchanged.
//
// Split panics with a message starting "core:" if k is negative or more than
// p holds (including any k > 0 on a released or zero Permit).
func (p *Permit) Split(k int) Permit {
	if k < 0 || k > p.n {
		panic(fmt.Sprintf("core: Permit.Split(%d) of a Permit holding %d", k, p.n))
	}
	if k == 0 {
		return Permit{}
	}
	p.n -= k
	return Permit{sem: p.sem, n: k, queued: p.queued}
}
