package core_test

import (
	"context"
	"runtime"
	"testing"

	"github.com/compio-sync/gosync/core"
)

// atDepth calls f with about 64*d bytes more of the goroutine's stack in
// use than at depth 0.
//
//go:noinline
func atDepth(d int, f func()) {
	var pad [64]byte
	if d == 0 {
		f()
		return
	}
	atDepth(d-1, f)
	_ = pad
}

// TestStripesStayOffForOneGoroutineOnEveryPath: one goroutine taking from
// the word from one place is one taker, whichever path its take went
// through: the inlined fast path (context.Background), acquireN (a ctx
// that can end) or TryAcquire. The contention signal compares a tag of the
// caller's stack; a tag read from the frame of the internal function that
// took (AcquireN's, or acquireN's callee's two frames further down) differs
// between the paths whenever a 2 KiB boundary falls between those frames,
// so at some stack depths one goroutine alone counted as two takers in
// turn and engaged the lanes. Each depth runs on a fresh goroutine and a
// fresh Semaphore, over 64 depths 64 bytes apart (two boundaries).
func TestStripesStayOffForOneGoroutineOnEveryPath(t *testing.T) {
	old := runtime.GOMAXPROCS(2)
	defer runtime.GOMAXPROCS(old)
	cancellable, cancel := context.WithCancel(context.Background())
	defer cancel()
	var engagedAt []int
	for d := range 64 {
		s := core.NewSemaphore(64, chanBackend{})
		done := make(chan struct{})
		go atDepth(d, func() {
			defer close(done)
			// Fewer lane operations than a step-aside check needs, so
			// lanes that engaged are still on at the end.
			for range core.LaneCheckEvery / 4 {
				p, err := s.Acquire(cancellable)
				if err != nil {
					panic(err)
				}
				p.Release()
				if p, ok := s.TryAcquire(); ok {
					p.Release()
				}
				if p, err = s.Acquire(context.Background()); err != nil {
					panic(err)
				}
				p.Release()
			}
		})
		<-done
		if core.StripesEngaged(s) {
			engagedAt = append(engagedAt, d)
		}
	}
	if len(engagedAt) > 0 {
		t.Fatalf("one goroutine taking from one place engaged the lanes at stack depths %v (of 64)", engagedAt)
	}
}
