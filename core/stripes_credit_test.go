package core

import (
	"math/rand/v2"
	"testing"
)

// creditsForTest returns what the credits of l's lanes add up to.
func creditsForTest(l *laneSet) int64 {
	var sum int64
	for i := range l.lanes {
		sum += laneCreditOf(l.lanes[i].w.Load())
	}
	return sum
}

// Random takes, steals and puts on random lanes (legitimate Releases and
// over-releases alike), takes and returns through the word while the lanes
// are off, drains and engagements, against a model that counts the permits
// held. A put into a lane may succeed only if at least n permits are held
// (x/sync's rule for a Release, which is what lets a Release into a lane
// skip the word), the credits never add up to more than is held (L2), and
// the word, the lanes and the held permits always add up to the maximum.
func TestLaneCreditsNeverExceedHoldings(t *testing.T) {
	for seed := range 300 {
		rng := rand.New(rand.NewPCG(uint64(seed), 7))
		max := int64(8 + rng.IntN(57))
		s, l := stripedForTest(t, int(max))
		var held int64
		for step := range 400 {
			tok := tokenForTest(uint32(rng.IntN(4)))
			n := int64(1 + rng.IntN(4))
			op := ""
			switch r := rng.IntN(12); {
			case r < 3:
				op = "take"
				if l.take(tok, n) {
					held += n
				}
			case r < 4:
				op = "steal"
				if l.steal(tok, n) {
					held += n
				}
			case r < 8:
				op = "put"
				if l.put(tok, n) {
					if held < n {
						t.Fatalf("seed %d step %d: a lane took a put of %d with %d held", seed, step, n, held)
					}
					held -= n
				}
			case r < 9:
				op = "word take"
				if st := s.state.Load(); st&flagLanes == 0 && availOf(st) >= n && s.state.CompareAndSwap(st, st-permitsDelta(n)) {
					held += n
				}
			case r < 10:
				op = "word return"
				if st := s.state.Load(); st&flagLanes == 0 && held >= n && s.state.CompareAndSwap(st, st+permitsDelta(n)) {
					held -= n
				}
			case r < 11:
				op = "drain"
				s.mu.Lock()
				s.drainLanesLocked()
				s.mu.Unlock()
			default:
				op = "engage"
				s.mu.Lock()
				s.engageLanesLocked()
				s.mu.Unlock()
			}
			if c := creditsForTest(l); c > held {
				t.Fatalf("seed %d step %d (%s %d): credits add up to %d with %d held", seed, step, op, n, c, held)
			}
			if got := s.freeForTest(l) + held; got != max {
				t.Fatalf("seed %d step %d (%s %d): word %d + lanes %d + held %d = %d, want %d",
					seed, step, op, n, availOf(s.state.Load()), l.sum(), held, got, max)
			}
		}
	}
}

// The engagement spreads the free permits over the lanes and credits lane
// 0 with what is held at its instant, so the holders' Releases find the
// credit wherever they run.
func TestEngagementSpreadsPermitsAndCreditsTheHeld(t *testing.T) {
	s, l := stripedForTest(t, 16)
	s.mu.Lock()
	s.drainLanesLocked()
	s.state.Add(-permitsDelta(5)) // 5 taken from the word while the lanes were off
	s.engageLanesLocked()
	s.mu.Unlock()
	want := []int64{3, 3, 3, 2}
	for i := range l.lanes {
		if got := lanePermitsOf(l.lanes[i].w.Load()); got != want[i] {
			t.Errorf("lane %d holds %d after the engagement, want %d", i, got, want[i])
		}
	}
	if got := availOf(s.state.Load()); got != 0 {
		t.Errorf("word holds %d after the engagement, want 0", got)
	}
	if got := laneCreditOf(l.lanes[0].w.Load()); got != 5 {
		t.Errorf("lane 0's credit is %d with 5 held, want 5", got)
	}
	// The 5 holders release on lane 3's processor: their credit is in lane
	// 0, where the permits go.
	for range 5 {
		if !l.put(tokenForTest(3), 1) {
			t.Fatal("a holder's put found no credit")
		}
	}
	if l.put(tokenForTest(3), 1) {
		t.Error("a sixth put with nothing held succeeded")
	}
	if got := creditsForTest(l); got != 0 {
		t.Errorf("credits add up to %d with nothing held, want 0", got)
	}
}

// largestStripedForTest is stripedForTest with MaxPermitsLimit permits; it
// skips where int is 32 bits.
func largestStripedForTest(t *testing.T) (*Semaphore, *laneSet) {
	t.Helper()
	if uint64(^uint(0)) < MaxPermitsLimit {
		t.Skip("int is 32 bits here: a Semaphore cannot have MaxPermitsLimit permits")
	}
	limit := int64(MaxPermitsLimit)
	return stripedForTest(t, int(limit))
}

// A Semaphore with more permits than its lanes can hold keeps the rest in
// the word, and a take that would carry a lane's credit past the field's
// top fails instead of losing count.
func TestLaneFieldsStopAtTheirTop(t *testing.T) {
	max := int64(MaxPermitsLimit)
	s, l := largestStripedForTest(t)
	if l.limit != laneLimit {
		t.Fatalf("lane limit %d for %d permits, want %d", l.limit, max, laneLimit)
	}
	// 5 held when the lanes engage: lane 0 gets a full share and their
	// credit.
	s.mu.Lock()
	s.drainLanesLocked()
	s.state.Add(-permitsDelta(5))
	s.engageLanesLocked()
	s.mu.Unlock()
	if got, want := availOf(s.state.Load()), max-5-4*laneLimit; got != want {
		t.Errorf("word holds %d after the engagement, want %d", got, want)
	}
	tok := tokenForTest(0)
	if got := laneCreditOf(l.lanes[0].w.Load()); got != 5 {
		t.Fatalf("lane 0's credit %d with 5 held, want 5", got)
	}
	if l.take(tok, laneLimit-4) {
		t.Fatal("a take that carries lane 0's credit past its top succeeded")
	}
	if !l.take(tok, laneLimit-5) {
		t.Fatal("a take that fills lane 0's credit exactly failed")
	}
	if l.take(tok, 1) {
		t.Error("a take from a lane whose credit is full succeeded")
	}
	if !l.put(tok, 10) || !l.take(tok, 10) {
		t.Error("put and take of 10 on lane 0 failed")
	}
	if got := s.freeForTest(l); got != max-laneLimit {
		t.Errorf("free %d with %d held, want %d", got, laneLimit, max-laneLimit)
	}
}

// The engagement credits the permits held at its instant, so a Release
// that loaded the word before it must not add to the word after it: add's
// CAS fails on the word the engagement changed (the Release then looks
// again, sees the lanes and goes to addSlow, which drains them), and a
// Release that starts after it goes to a lane with the credit (here lane
// 0's, from the engagement). An atomic add there would leave the credit
// counting permits already back, for an over-release to spend.
func TestReleaseThatLookedBeforeTheEngagementGoesToTheLanes(t *testing.T) {
	s, l := stripedForTest(t, 8)
	s.mu.Lock()
	s.drainLanesLocked()
	s.mu.Unlock()
	// One permit held, taken from the word as a fast-path Acquire does
	// (TryAcquire would engage the lanes itself: WithStripes).
	s.state.Add(-permitsDelta(1))
	p := Permit{sem: s, n: 1}
	before := s.state.Load() // what the Release's add loaded
	s.mu.Lock()
	s.engageLanesLocked()
	s.mu.Unlock()
	if s.state.CompareAndSwap(before, before+permitsDelta(1)) {
		t.Fatal("a CAS on the word loaded before the engagement succeeded after it")
	}
	if got := creditsForTest(l); got != 1 {
		t.Fatalf("credits add up to %d with 1 held, want 1", got)
	}
	p.Release()
	if got := creditsForTest(l); got != 0 {
		t.Errorf("credits add up to %d after the Release, want 0", got)
	}
	if r := func() (r any) {
		defer func() { r = recover() }()
		s.Release(1)
		return nil
	}(); r == nil {
		t.Error("Release(1) with nothing held did not panic")
	}
	if got := s.freeForTest(l); got != 8 {
		t.Errorf("free %d with nothing held, want 8", got)
	}
}

// An engagement finds the held permits in the credits' reach or does not
// happen: a credit never saturates, so a holder's Release never fails to
// find it for that reason.
func TestEngagementNeedsRoomForTheCredit(t *testing.T) {
	limit := int64(MaxPermitsLimit)
	s, _ := largestStripedForTest(t)
	s.mu.Lock()
	s.drainLanesLocked()
	s.mu.Unlock()
	p, ok := s.TryAcquireN(4*laneLimit + 1)
	if !ok {
		t.Fatal("TryAcquireN failed on a fresh Semaphore")
	}
	s.mu.Lock()
	s.engageLanesLocked()
	engaged := s.lanes.Load() != nil
	s.mu.Unlock()
	if engaged {
		t.Errorf("the lanes engaged with %d held, more than 4 lanes' credits hold", 4*laneLimit+1)
	}
	p.Release()
	if got := availOf(s.state.Load()); got != limit {
		t.Errorf("word holds %d with nothing held, want %d", got, limit)
	}
}
