package core

// SetYield swaps the post-handoff yield, for experiments.
func SetYield(f func()) (restore func()) {
	old := yieldFunc
	yieldFunc = f
	return func() { yieldFunc = old }
}

// EngageStripes turns s's stripes on now, as the contention signal would
// (without its TryLock), and reports whether they are on.
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
		counts[i] = lanePermitsOf(l.lanes[i].w.Load())
	}
	return counts
}

// FillLanes arranges the free permits of s's engaged stripes so that every
// lane holds exactly k and the word the rest, as takes and releases on
// every processor would leave them (the lanes' credits stay as they are),
// and reports whether it could.
func FillLanes(s *Semaphore, k int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.lanes.Load()
	if l == nil || k > laneLimit || availOf(s.state.Load())+l.sum() < k*int64(len(l.lanes)) {
		return false
	}
	// Nothing else runs: the caller's test has no other goroutine on s.
	for i := range l.lanes {
		w := l.lanes[i].w.Load()
		s.state.Add(permitsDelta(lanePermitsOf(w)))
		l.lanes[i].w.Store(w - uint64(lanePermitsOf(w))<<laneShift + uint64(k)<<laneShift)
		s.state.Add(-permitsDelta(k))
	}
	return true
}

// EngageAfterChanges is how many changes of taker engage the stripes (the
// default, whatever TuneStripes set).
var EngageAfterChanges = int(engageAfterChanges)

// LaneCheckEvery is how many operations on one lane pass between two
// step-aside checks (the default, whatever TuneStripes set).
var LaneCheckEvery = int(laneCheckEvery)

// TuneStripes makes the stripes of the Semaphores created from now on
// engage after engageAfter changes of taker and check for a step-aside
// every checkEvery operations on a lane (a power of two), so that a test
// can have them engage and step aside constantly. The caller must have no
// other goroutine using a Semaphore while it tunes or restores.
func TuneStripes(engageAfter, checkEvery int) (restore func()) {
	if checkEvery <= 0 || checkEvery&(checkEvery-1) != 0 || checkEvery > 1<<16 || engageAfter <= 0 {
		panic("TuneStripes: engageAfter must be positive and checkEvery a power of two up to 2^16")
	}
	oldEngage, oldCheck := engageAfterChanges, laneCheckEvery
	engageAfterChanges, laneCheckEvery = uint32(engageAfter), uint64(checkEvery)
	return func() { engageAfterChanges, laneCheckEvery = oldEngage, oldCheck }
}

// TouchLane takes one permit from lane i of s's engaged stripes and puts
// it back, as a goroutine on that lane's processor would, and reports
// whether both succeeded.
func TouchLane(s *Semaphore, i int) bool {
	l := s.lanes.Load()
	if l == nil {
		return false
	}
	var t laneToken
	t.idx.Store(uint32(i))
	if !l.take(&t, 1) {
		return false
	}
	if !l.put(&t, 1) {
		// The lanes stepped aside between the two: the permit goes to
		// the word.
		s.Release(1)
	}
	return true
}

// NeverEnds is neverEnds, the fast path's test for Background and TODO.
var NeverEnds = neverEnds
