package core

// SetYield swaps the post-handoff yield, for experiments.
func SetYield(f func()) (restore func()) {
	old := yieldFunc
	yieldFunc = f
	return func() { yieldFunc = old }
}

// EngageStripes turns s's stripes on now, as a lost compare-and-swap on the
// state word would, and reports whether they are on.
func EngageStripes(s *Semaphore) bool {
	s.mu.Lock()
	s.engageLanesLocked()
	s.mu.Unlock()
	return s.lanes.Load() != nil
}

// StripesEngaged reports whether s's stripes are on.
func StripesEngaged(s *Semaphore) bool { return s.lanes.Load() != nil }

// WordPermits returns the available count of s's state word alone.
func WordPermits(s *Semaphore) int64 { return availOf(s.state.Load()) }

// LanePermits returns the permits in each of s's lanes, or nil if its
// stripes are not engaged.
func LanePermits(s *Semaphore) []int64 {
	l := s.lanes.Load()
	if l == nil {
		return nil
	}
	counts := make([]int64, len(l.lanes))
	for i := range l.lanes {
		counts[i] = int64(l.lanes[i].w.Load() >> laneShift)
	}
	return counts
}

// FillLanes puts k permits from the word into every lane of s's engaged
// stripes, as releases on every processor would, and reports whether it
// could.
func FillLanes(s *Semaphore, k int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.lanes.Load()
	if l == nil || availOf(s.state.Load()) < k*int64(len(l.lanes)) || k > l.limit {
		return false
	}
	for i := range l.lanes {
		s.state.Add(-permitsDelta(k))
		l.lanes[i].w.Add(uint64(k) << laneShift)
	}
	return true
}
