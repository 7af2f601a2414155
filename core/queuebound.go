package core

// SetMaxWaiters bounds the waiter queue to k: from now on an AcquireN that
// would have to queue while k or more waiters are queued fails at once with
// ErrQueueFull instead. k == 0 means no queue at all: an AcquireN succeeds
// only if it can take its permits at once. math.MaxInt, the default, means
// no bound.
//
// Shrinking the bound never fails a waiter that is already queued: they
// keep their places and are served in order, and only new AcquireN calls
// are refused until the queue is shorter than k. TryAcquire is unaffected
// (it never queues). SetMaxWaiters works after Close. It panics with a
// message starting "core:" if k is negative.
func (s *Semaphore) SetMaxWaiters(k int) {
	checkMaxWaiters("SetMaxWaiters", k)
	// A plain store: the bound is read under mu by acquireSlow, at the
	// moment a waiter would join the queue, so each AcquireN is judged
	// against one bound, the last one stored before it took mu.
	s.maxWaiters.Store(int64(k))
}

// MaxWaiters returns the bound on the waiter queue: the k of the last
// SetMaxWaiters or WithMaxWaiters, or math.MaxInt (no bound) by default.
func (s *Semaphore) MaxWaiters() int { return int(s.maxWaiters.Load()) }

// queueFullLocked reports whether a new waiter must be refused because the
// queue already holds MaxWaiters waiters. Called with s.mu held, which is
// what makes the check and the pushBack that follows it one step: waiting
// changes only under mu, so two callers cannot both see room for one.
func (s *Semaphore) queueFullLocked() bool {
	return s.waiting >= s.maxWaiters.Load()
}
