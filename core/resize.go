package core

import "fmt"

// SetMaxPermits sets the maximum number of permits to n.
//
// Growing adds the difference to the available permits and grants them to
// queued waiters at once, in FIFO order. Shrinking removes the difference:
// holders keep their permits, so after a shrink below what is in use InUse
// may exceed MaxPermits and AvailablePermits is 0 until enough permits come
// back; a grant of k permits then waits until InUse + k <= n. Queued waiters
// that ask for more than n fail with an error satisfying
// errors.Is(err, ErrTooLarge); the waiters behind them keep their order.
//
// SetMaxPermits works after Close (it only changes the counts). It panics
// with a message starting "core:" if n is negative or larger than
// MaxPermitsLimit.
func (s *Semaphore) SetMaxPermits(n int) {
	if n < 0 {
		panic(fmt.Sprintf("core: SetMaxPermits with negative n (%d)", n))
	}
	if int64(n) > MaxPermitsLimit {
		panic(fmt.Sprintf("core: SetMaxPermits(%d), more than MaxPermitsLimit (%d)", n, int64(MaxPermitsLimit)))
	}
	var wake wakeList
	s.mu.Lock()
	// The stripes drain first: the new maximum is judged against every
	// free permit, and a new lane size is chosen at the next engagement.
	s.drainLanesLocked()
	cfg := s.cfg.Load()
	delta := int64(n) - maxOf(cfg)
	if delta == 0 {
		s.mu.Unlock()
		return
	}
	gen := cfgGen(cfg) + 1
	// Publish the new maximum first, with the new generation: a fast-path
	// Release that loads the old state and this cfg sees the generations
	// differ and comes to mu, which orders it after this resize.
	s.cfg.Store(makeCfg(int64(n), gen))
	for {
		st := s.state.Load()
		// Changing the generation in state makes any fast-path Release CAS
		// based on an older load fail, so no Release checks against a stale
		// maximum.
		if s.state.CompareAndSwap(st, withGen(st+permitsDelta(delta), gen)) {
			break
		}
	}
	if delta < 0 {
		// Fail the queued waiters the new maximum can never satisfy.
		for w := s.head; w != nil; {
			next := w.next
			if w.n > int64(n) {
				s.unlink(w, waiterTooLarge)
				wake.push(w)
			}
			w = next
		}
	}
	// Growing frees permits; failing a head waiter may unblock smaller ones
	// behind it. Either way, serve the queue.
	s.grantLocked(&wake)
	s.mu.Unlock()
	wake.wake()
}
