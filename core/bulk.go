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
// with a message starting "core:" if max is negative, and, on a Semaphore
// created WithStripes, (with a message starting "core:", or
// WithOverReleasePanic's) if the drain of the lanes it makes finds an earlier
// Release(n) of more permits than were held (see WithStripes).
func (s *Semaphore) TryAcquireUpTo(max int) Permit {
	if max < 0 {
		panic(fmt.Sprintf("core: TryAcquireUpTo with negative max (%d)", max))
	}
	if s.striped {
		// Free permits may be spread over the lanes: count and take them
		// in the word, under mu, with the lanes drained.
		s.mu.Lock()
		s.drainOrPanicLocked()
		p := s.tryAcquireUpTo(max)
		s.mu.Unlock()
		return p
	}
	return s.tryAcquireUpTo(max)
}

// tryAcquireUpTo is TryAcquireUpTo on the word alone.
func (s *Semaphore) tryAcquireUpTo(max int) Permit {
	for {
		st := s.state.Load()
		if st&(flagClosed|flagQueued) != 0 {
			return Permit{}
		}
		take := min(int64(max), availOf(st))
		if take <= 0 {
			return Permit{}
		}
		// The CAS fails if anything changed since the load (a take, a
		// release, flagQueued or flagClosed being set, a resize), so take
		// is min(max, free) at the instant it succeeds.
		if s.state.CompareAndSwap(st, st-permitsDelta(take)) {
			return Permit{sem: s, n: int(take)}
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
