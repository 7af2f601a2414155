package core

import (
	"math"
	"runtime"
	"sync"
	"testing"
)

// stripedForTest returns a Semaphore WithStripes of permits permits with
// its stripes engaged on 4 lanes.
func stripedForTest(t *testing.T, permits int) (*Semaphore, *laneSet) {
	t.Helper()
	old := runtime.GOMAXPROCS(4)
	t.Cleanup(func() { runtime.GOMAXPROCS(old) })
	s := NewSemaphore(permits, nopBackend{}, WithStripes())
	s.mu.Lock()
	s.engageLanesLocked()
	s.mu.Unlock()
	l := s.lanes.Load()
	if l == nil || len(l.lanes) != 4 {
		t.Fatalf("stripes not engaged on 4 lanes: %v", l)
	}
	return s, l
}

type nopBackend struct{}

func (nopBackend) Name() string      { return "nop" }
func (nopBackend) NewParker() Parker { return nil }

// free returns the word's and the lanes' permits together.
func (s *Semaphore) freeForTest(l *laneSet) int64 { return availOf(s.state.Load()) + l.sum() }

// The drain races an operation that loaded the lanes pointer before it:
// step by step, the stale take, steal and put all fail once the drain has
// swapped their lane, and the permits are all in the word.
func TestDrainFailsStaleLaneOperations(t *testing.T) {
	s, l := stripedForTest(t, 16)
	tok := tokenForTest(0)
	// Two permits into lane 0, as a release there would.
	s.state.Add(-permitsDelta(2))
	if !l.put(tok, 2) {
		t.Fatal("put into an engaged lane with room failed")
	}
	s.mu.Lock()
	if s.drainLanesLocked() != 0 {
		t.Fatal("drain reported an over-release")
	}
	s.mu.Unlock()
	if got := availOf(s.state.Load()); got != 16 {
		t.Fatalf("word holds %d after the drain, want 16", got)
	}
	// l is what a goroutine that loaded the pointer before the drain holds.
	if l.take(tok, 1) {
		t.Error("take from a drained lane succeeded")
	}
	if l.steal(tok, 1) {
		t.Error("steal from drained lanes succeeded")
	}
	if l.put(tok, 1) {
		t.Error("put into a drained lane succeeded: those permits would be lost at the next engagement")
	}
	if got := s.freeForTest(l); got != 16 {
		t.Errorf("free = %d after stale operations, want 16", got)
	}
}

// Goroutines take and put on the lanes through stale and fresh pointers
// while another drains and engages them over and over: no permit is lost
// or made up (lane words, the word and the held ones always add up).
func TestDrainRacingLaneOperationsConservesPermits(t *testing.T) {
	s, l := stripedForTest(t, 16)
	const workers, rounds = 4, 20000
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := range workers {
		wg.Go(func() {
			tok := tokenForTest(uint32(w))
			for range rounds {
				// Take from a lane (with the pointer loaded before any
				// drain of the moment), else from the word.
				took := l.take(tok, 1) || l.steal(tok, 1)
				if !took {
					st := s.state.Load()
					if availOf(st) < 1 || !s.state.CompareAndSwap(st, st-permitsDelta(1)) {
						continue
					}
				}
				if !l.put(tok, 1) {
					s.state.Add(permitsDelta(1))
				}
			}
		})
	}
	var drainer sync.WaitGroup
	drainer.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			s.mu.Lock()
			if s.drainLanesLocked() != 0 {
				s.mu.Unlock()
				panic("drain reported an over-release")
			}
			s.engageLanesLocked()
			s.mu.Unlock()
			runtime.Gosched()
		}
	})
	wg.Wait()
	close(stop)
	drainer.Wait()
	if got := s.freeForTest(l); got != 16 {
		t.Fatalf("word %d + lanes %d = %d with nothing held, want 16", availOf(s.state.Load()), l.sum(), got)
	}
}

// A Semaphore whose maximum is MaxPermitsLimit has lanes that together can
// hold one permit more than the maximum (4 lanes of ceil(max/4)). An
// over-release of that one permit, spread over the lanes, makes the drain's
// add carry the word's 46-bit permit field past its top, to a negative
// count: the drain must still see the excess (as afterAdd does for a
// wrapping Release), take it back and report it, and leave the word at the
// maximum, not at a deficit that every later Acquire would wait behind.
func TestDrainFindsAnOverReleaseThatWrapsTheWord(t *testing.T) {
	if math.MaxInt < MaxPermitsLimit {
		t.Skip("int is 32 bits here: a Semaphore cannot have MaxPermitsLimit permits")
	}
	limit := int64(MaxPermitsLimit)
	s, l := stripedForTest(t, int(limit))
	if l.limit*int64(len(l.lanes)) != limit+1 {
		t.Fatalf("%d lanes of %d permits for %d: the lanes do not hold max+1", len(l.lanes), l.limit, limit)
	}
	// Every permit held, then each of the 4 holders' releases lands in its
	// processor's lane, one permit more than was held in all.
	s.state.Add(-permitsDelta(limit))
	for i := range l.lanes {
		if !l.put(tokenForTest(uint32(i)), l.limit) {
			t.Fatalf("put of %d into lane %d failed", l.limit, i)
		}
	}
	s.mu.Lock()
	excess := s.drainLanesLocked()
	s.mu.Unlock()
	if excess != 1 {
		t.Errorf("drain of an over-release by 1 reported an excess of %d, want 1", excess)
	}
	if got := availOf(s.state.Load()); got != limit {
		t.Errorf("word holds %d after the drain took the excess back, want %d", got, limit)
	}
}

// InUse reads under mu when a resize keeps changing the generation between
// its lock-free loads. By the time it holds mu the resize has drained the
// stripes, but an Acquire from the word (TryLock takes a mutex that is just unlocked,
// ahead of InUse's Lock) may have engaged them again and releases may have
// filled them: that read must count the lanes as the lock-free one does.
// Here a cfg whose generation differs from the word's sends every
// lock-free read to mu, with 4 permits held and 2 of the free ones in a
// lane.
func TestInUseUnderTheMutexCountsTheLanes(t *testing.T) {
	s, l := stripedForTest(t, 16)
	s.state.Add(-permitsDelta(6))
	if !l.put(tokenForTest(0), 2) {
		t.Fatal("put into an engaged lane with room failed")
	}
	cfg := s.cfg.Load()
	s.cfg.Store(makeCfg(maxOf(cfg), cfgGen(cfg)+1))
	defer s.cfg.Store(cfg)
	if got := s.InUse(); got != 4 {
		t.Errorf("InUse() read under mu = %d with 4 held and 2 free in a lane, want 4", got)
	}
}

// tokenForTest returns a lane token that picks lane idx (mod the lanes).
func tokenForTest(idx uint32) *laneToken {
	t := new(laneToken)
	t.idx.Store(idx)
	return t
}
