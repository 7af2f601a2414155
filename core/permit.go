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
	// queued records that the permits were handed over through the queue:
	// the holder had to wait, so the semaphore is contended, and releasing
	// to a waiter yields WithThroughputOverFairness (see
	// Semaphore.unlockAndWake).
	queued bool
}

// Release returns the Permit's permits to its Semaphore, with the same
// handoff to waiters as Semaphore.Release, and empties the Permit. Releasing
// an empty Permit (already released, or the zero Permit) does nothing. It
// works after the Semaphore is closed. It cannot over-release (unless the
// Permit was copied and both copies released: then the second panics like
// an over-releasing Semaphore.Release, or passes if others hold permits).
func (p *Permit) Release() {
	n := p.n
	if n == 0 {
		return
	}
	p.n = 0
	p.sem.add(int64(n), p.queued)
}

// Count returns the number of permits the Permit holds: what was acquired,
// or 0 after Release.
func (p Permit) Count() int { return p.n }
