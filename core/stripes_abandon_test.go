package core

import (
	"context"
	"runtime"
	"testing"
	"time"
)

// gatedBackend's Parkers hold every Park until gate is closed, then return
// ctx.Err() if ctx has ended, even with a token pending (the Parker
// contract allows either outcome when both are ready), else the token.
type gatedBackend struct{ gate chan struct{} }

func (gatedBackend) Name() string { return "gated" }

func (b gatedBackend) NewParker() Parker {
	return &gatedParker{gate: b.gate, token: make(chan struct{}, 1)}
}

type gatedParker struct {
	gate, token chan struct{}
}

func (p *gatedParker) Park(ctx context.Context) error {
	<-p.gate
	if err := ctx.Err(); err != nil {
		return err
	}
	<-p.token
	return nil
}

func (p *gatedParker) Unpark() {
	select {
	case p.token <- struct{}{}:
	default:
	}
}

// A waiter granted as its ctx ends gives its permits back (abandon) after
// the lanes engaged: the engagement counted them as held and credited
// them, so giving them back must go through the word with the lanes
// drained, as any Release no lane takes, or the credits would count
// permits nobody holds and the next over-release would pass into a lane.
func TestGrantedWaiterThatGivesUpAfterAnEngagementKeepsTheCreditsExact(t *testing.T) {
	old := runtime.GOMAXPROCS(4)
	t.Cleanup(func() { runtime.GOMAXPROCS(old) })
	gate := make(chan struct{})
	s := NewSemaphore(8, gatedBackend{gate: gate}, WithStripes())
	// Every permit held, through the word (the lanes drain for it).
	all, ok := s.TryAcquireN(8)
	if !ok || s.lanes.Load() != nil {
		t.Fatalf("TryAcquireN(8) = %v with the lanes engaged %v, want true and off", ok, s.lanes.Load() != nil)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := s.AcquireN(ctx, 4)
		done <- err
	}()
	deadline := time.Now().Add(10 * time.Second)
	for s.Waiting() != 1 {
		if time.Now().After(deadline) {
			t.Fatal("the waiter never queued")
		}
		time.Sleep(time.Millisecond)
	}
	s.Release(4) // grants the waiter, which is held at the gate
	cancel()
	s.mu.Lock()
	s.engageLanesLocked() // 8 held at this instant: 4 of all's, 4 granted
	engaged := s.lanes.Load() != nil
	s.mu.Unlock()
	if !engaged {
		t.Fatal("the lanes did not engage with nobody queued")
	}
	close(gate)
	select {
	case err := <-done:
		if err != context.Canceled {
			t.Fatalf("AcquireN = %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the waiter never returned")
	}
	all.n = 4 // 4 of all's 8 went back above
	all.Release()
	r := func() (r any) {
		defer func() { r = recover() }()
		s.Release(4)
		return nil
	}()
	if r == nil {
		t.Error("Release(4) with nothing held did not panic")
	}
	if got, want := s.AvailablePermits(), 8; got != want {
		t.Errorf("AvailablePermits() = %d with nothing held, want %d", got, want)
	}
	if got := s.InUse(); got != 0 {
		t.Errorf("InUse() = %d, want 0", got)
	}
}
