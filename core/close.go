package core

// Close closes the Semaphore. Every queued Acquire and every later Acquire
// fails with an error satisfying errors.Is(err, ErrClosed) (a later Acquire
// whose ctx is already done reports ctx.Err(), which is checked first), and
// TryAcquire fails. Permits already held stay valid: releasing them still works and
// never panics, and introspection keeps counting them. Close is idempotent.
func (s *Semaphore) Close() {
	var wake wakeList
	s.mu.Lock()
	// L1 (stripes.go): the lanes are off before flagClosed is set, so no
	// lane take succeeds after Close; their permits go back to the word,
	// where introspection keeps counting them.
	s.drainLanesLocked()
	for {
		st := s.state.Load()
		if st&flagClosed != 0 {
			s.mu.Unlock()
			return
		}
		// Set closed and clear queued in one step: fast Acquires now fail on
		// flagClosed, and fast Releases resume.
		if s.state.CompareAndSwap(st, (st|flagClosed)&^flagQueued) {
			break
		}
	}
	for w := s.head; w != nil; w = s.head {
		s.unlink(w, waiterClosed)
		wake.push(w)
	}
	s.mu.Unlock()
	wake.wake()
}
