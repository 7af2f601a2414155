package core

// A Permit holds permits acquired from a Semaphore and returns them exactly
// once. The zero Permit holds nothing.
//
// A Permit is a small value: keep it in one place and release it through a
// pointer (defer p.Release()). Copying a Permit copies the right to release
// it, and releasing both copies is a bug that the Semaphore cannot always
// detect: the second Release may panic like an over-releasing
// Semaphore.Release, or go unnoticed and return the permits twice. A Permit
// is not safe for concurrent use: release it from one goroutine.
type Permit struct {
	sem *Semaphore
	n   int
	// after is the state word as the acquiring fast-path CAS left it, or 0
	// for a Permit granted through the queue. It never carries flagQueued.
	// If the word still holds exactly that value at Release, no waiter is
	// queued, so returning the permits needs no handoff and one CAS
	// suffices, without first loading the word; otherwise the CAS fails and
	// Release takes the general path.
	after uint64
}

// Release returns the Permit's permits to its Semaphore, with the same
// handoff to waiters as Semaphore.Release, and empties the Permit. Releasing
// an empty Permit (already released, or the zero Permit) does nothing. It
// works after the Semaphore is closed.
func (p *Permit) Release() {
	n, after := p.n, p.after
	if n == 0 {
		return
	}
	p.n = 0
	// Inlined fast path: one CAS, no load, when the word is as the acquiring
	// CAS left it (no waiter queued: after never carries flagQueued).
	if !p.sem.state.CompareAndSwap(after, after+permitsDelta(int64(n))) {
		p.sem.Release(n)
	}
}

// Count returns the number of permits the Permit holds: what was acquired,
// or 0 after Release.
func (p Permit) Count() int { return p.n }
