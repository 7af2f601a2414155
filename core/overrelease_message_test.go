package core_test

import (
	"math"
	"runtime"
	"testing"

	"github.com/compio-sync/gosync/core"
)

// TestOverReleasePanicMessage checks WithOverReleasePanic on both ways a
// Release is judged an over-release (after its add, and n above
// MaxPermitsLimit before it): the panic is the option's message exactly,
// the excess is taken back, and the Semaphore keeps working. Without the
// option the message is core's own; an empty message is refused.
func TestOverReleasePanicMessage(t *testing.T) {
	const msg = "wrapper: released more than held"
	for _, tc := range []struct {
		name string
		opts []core.Option
		want func(r any) bool
	}{
		{"with option", []core.Option{core.WithOverReleasePanic(msg)}, func(r any) bool { return r == msg }},
		{"without option", nil, isOverReleasePanic},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := core.NewSemaphore(2, chanBackend{}, tc.opts...)
			p, ok := s.TryAcquire()
			if !ok {
				t.Fatal("TryAcquire on an idle semaphore failed")
			}
			ns := []int{2}
			if tooMany := int64(core.MaxPermitsLimit) + 1; tooMany <= math.MaxInt {
				ns = append(ns, int(tooMany)) // not representable where int is 32 bits
			}
			for _, n := range ns {
				if r := releasePanic(func() { s.Release(n) }); !tc.want(r) {
					t.Errorf("Release(%d) with 1 held panicked with %v", n, r)
				}
				if in, av := s.InUse(), s.AvailablePermits(); in != 1 || av != 1 {
					t.Errorf("after Release(%d) panicked: InUse=%d Available=%d, want 1 1", n, in, av)
				}
			}
			p.Release()
			if p2, ok := s.TryAcquireN(2); !ok {
				t.Error("TryAcquireN(2) after the panics failed, want the 2 permits")
			} else {
				p2.Release()
			}
		})
	}
	mustPanicCore(t, `WithOverReleasePanic("")`, func() { core.WithOverReleasePanic("") })
}

// TestOverReleasePanicMessageOnStripes: on a Semaphore whose stripes are
// engaged, an over-release panics at the Release with
// WithOverReleasePanic's message, as without stripes, whichever lane the
// holders took their permits from; the Release is taken back whole.
func TestOverReleasePanicMessageOnStripes(t *testing.T) {
	const msg = "wrapper: released more than held"
	old := runtime.GOMAXPROCS(4)
	t.Cleanup(func() { runtime.GOMAXPROCS(old) })
	s := core.NewSemaphore(8, chanBackend{}, core.WithStripes(), core.WithOverReleasePanic(msg))
	if !core.EngageStripes(s) {
		t.Fatal("EngageStripes on a striped Semaphore of 8 = false, want true")
	}
	if r := releasePanic(func() { s.Release(1) }); r != msg {
		t.Errorf("Release(1) with nothing held panicked with %v, want %q", r, msg)
	}
	checkQuiescent(t, s, 0)
	held := make([]core.Permit, 3)
	for i := range held {
		var ok bool
		if held[i], ok = s.TryAcquire(); !ok {
			t.Fatalf("TryAcquire %d of 8 failed", i+1)
		}
	}
	if r := releasePanic(func() { s.Release(4) }); r != msg {
		t.Errorf("Release(4) with 3 held panicked with %v, want %q", r, msg)
	}
	checkQuiescent(t, s, 3)
	for i := range held {
		held[i].Release()
	}
	checkQuiescent(t, s, 0)
}
