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
				excess := s.drainLanesLocked()
				s.mu.Unlock()
				if excess != 0 {
					t.Fatalf("seed %d step %d: drain found an excess of %d", seed, step, excess)
				}
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

// A Semaphore with more permits than its lanes can hold keeps the rest in
// the word, and a credit that would pass the field's top stays there: both
// conservative, never more than is free or held.
func TestLaneFieldsStopAtTheirTop(t *testing.T) {
	if uint64(^uint(0)) < MaxPermitsLimit {
		t.Skip("int is 32 bits here: a Semaphore cannot have MaxPermitsLimit permits")
	}
	max := int64(MaxPermitsLimit)
	s, l := stripedForTest(t, int(max))
	if l.limit != laneLimit {
		t.Fatalf("lane limit %d for %d permits, want %d", l.limit, max, laneLimit)
	}
	if got, want := availOf(s.state.Load()), max-4*laneLimit; got != want {
		t.Errorf("word holds %d after the engagement, want %d", got, want)
	}
	if !l.take(tokenForTest(0), laneLimit) {
		t.Fatal("take of a whole lane failed")
	}
	if got := laneCreditOf(l.lanes[0].w.Load()); got != laneLimit {
		t.Fatalf("credit %d after taking %d, want %d", got, laneLimit, laneLimit)
	}
	// Refill lane 0 from lane 1's holders' view: put back a few, take
	// again; the credit stays at the top and the permits count true.
	if !l.put(tokenForTest(0), 10) || !l.take(tokenForTest(0), 10) {
		t.Fatal("put and take of 10 on lane 0 failed")
	}
	if got := laneCreditOf(l.lanes[0].w.Load()); got != laneLimit {
		t.Errorf("credit %d, want it to stay at %d", got, laneLimit)
	}
	if got := s.freeForTest(l); got != max-laneLimit {
		t.Errorf("free %d with %d held, want %d", got, laneLimit, max-laneLimit)
	}
}

// A Release whose add lands in the word after the lanes engaged (it loaded
// the lanes pointer before the engagement) is judged with the lanes
// drained: a legitimate one goes through, an over-release panics at that
// Release and is taken back whole, and one whose excess another
// goroutine's drain finds first panics there, with the excess taken back.
func TestReleaseRacingTheEngagementIsJudgedExactly(t *testing.T) {
	recovered := func(f func()) (r any) {
		defer func() { r = recover() }()
		f()
		return nil
	}
	s, l := stripedForTest(t, 16)
	if !l.take(tokenForTest(1), 3) {
		t.Fatal("take of 3 failed")
	}
	// Legitimate: 3 held, 2 come back through the word.
	if r := recovered(func() { s.afterAdd(s.state.Add(permitsDelta(2)), 2, false) }); r != nil {
		t.Fatalf("a legitimate Release(2) with 3 held panicked: %v", r)
	}
	if s.lanes.Load() != nil {
		t.Error("the lanes are still engaged after a Release judged with them drained")
	}
	if got := availOf(s.state.Load()); got != 15 {
		t.Fatalf("word holds %d with 1 held, want 15", got)
	}
	s.mu.Lock()
	s.engageLanesLocked()
	s.mu.Unlock()
	// Over-release: 1 held, 2 come back.
	r := recovered(func() { s.afterAdd(s.state.Add(permitsDelta(2)), 2, false) })
	if want := "core: Release of 2 permits, more than are held (1)"; r != want {
		t.Errorf("Release(2) with 1 held panicked with %v, want %q", r, want)
	}
	if got := s.freeForTest(l); got != 15 {
		t.Errorf("%d free after the over-release was taken back, with 1 held, want 15", got)
	}
	s.mu.Lock()
	s.engageLanesLocked()
	s.mu.Unlock()
	// Another goroutine's drain (Close) finds an over-release's add first.
	s.state.Add(permitsDelta(3)) // 1 held, 3 come back: excess 2
	r = recovered(s.Close)
	if want := "core: an earlier Release returned 2 more permits than were held (found when the stripes drained; see WithStripes)"; r != want {
		t.Errorf("Close after an over-release's add panicked with %v, want %q", r, want)
	}
	if !s.Closed() {
		t.Error("Close that found an over-release left the Semaphore open")
	}
	if got := availOf(s.state.Load()); got != 16 {
		t.Errorf("word holds %d after the drain took the excess back, want 16", got)
	}
}

// The drain judges the word even when the lanes it swaps are empty: every
// permit is held from the lanes, and an over-release's add that raced the
// engagement puts more than the maximum in the word.
func TestDrainOfEmptyLanesFindsAnOverRelease(t *testing.T) {
	s, l := stripedForTest(t, 8)
	for i := range uint32(4) {
		if !l.take(tokenForTest(i), 2) {
			t.Fatalf("take of lane %d's 2 permits failed", i)
		}
	}
	s.state.Add(permitsDelta(9)) // 8 held, 9 come back
	s.mu.Lock()
	excess := s.drainLanesLocked()
	s.mu.Unlock()
	if excess != 1 {
		t.Errorf("drain of empty lanes after an over-release by 1 reported %d, want 1", excess)
	}
}
