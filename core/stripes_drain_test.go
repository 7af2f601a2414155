package core

import (
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
	// The engagement spread the 16 free permits over the 4 lanes. Two are
	// taken from lane 0 and one goes back, as an Acquire and a Release
	// there would: one stays held.
	if !l.take(tok, 2) || !l.put(tok, 1) {
		t.Fatal("take of 2 from lane 0, or the put of 1 back, failed")
	}
	s.mu.Lock()
	s.drainLanesLocked()
	s.mu.Unlock()
	if got := availOf(s.state.Load()); got != 15 {
		t.Fatalf("word holds %d after the drain with 1 held, want 15", got)
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
	if got := s.freeForTest(l); got != 15 {
		t.Errorf("free = %d after stale operations with 1 held, want 15", got)
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
			s.drainLanesLocked()
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

// InUse reads under mu when a resize keeps changing the generation between
// its lock-free loads. By the time it holds mu the resize has drained the
// stripes, but an Acquire from the word (TryLock takes a mutex that is just unlocked,
// ahead of InUse's Lock) may have engaged them again and releases may have
// filled them: that read must count the lanes as the lock-free one does.
// Here a cfg whose generation differs from the word's sends every
// lock-free read to mu, with 4 permits held and the free ones in the
// lanes.
func TestInUseUnderTheMutexCountsTheLanes(t *testing.T) {
	s, l := stripedForTest(t, 16)
	// The engagement put 4 free permits in each lane: 4 are taken, 12
	// stay free in the lanes.
	for i := range uint32(4) {
		if !l.take(tokenForTest(i), 1) {
			t.Fatalf("take from lane %d failed", i)
		}
	}
	cfg := s.cfg.Load()
	s.cfg.Store(makeCfg(maxOf(cfg), cfgGen(cfg)+1))
	defer s.cfg.Store(cfg)
	if got := s.InUse(); got != 4 {
		t.Errorf("InUse() read under mu = %d with 4 held and 12 free in the lanes, want 4", got)
	}
}

// tokenForTest returns a lane token that picks lane idx (mod the lanes).
func tokenForTest(idx uint32) *laneToken {
	t := new(laneToken)
	t.idx.Store(idx)
	return t
}
