package iouring_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	iouring "github.com/compio-sync/gosync/backend-iouring"
)

// parkAsync runs Park in a goroutine and returns its result channel.
func parkAsync(ctx context.Context, p interface{ Park(context.Context) error }) <-chan error {
	ch := make(chan error, 1)
	go func() { ch <- p.Park(ctx) }()
	return ch
}

// result waits for a Park result, failing by name instead of hanging.
func result(t *testing.T, ch <-chan error) error {
	t.Helper()
	select {
	case err := <-ch:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("Park did not return within 10s of being woken")
		return nil
	}
}

// TestGoPhaseHandoffArmsNoKernelWait: an Unpark within the Go phase wakes
// the waiter through the Go scheduler; no FUTEX_WAIT was ever in the ring.
func TestGoPhaseHandoffArmsNoKernelWait(t *testing.T) {
	watchdog(t, time.Minute)
	b := newBackendWith(t, iouring.WithGoWait(time.Hour))
	p := b.NewParker()
	ch := parkAsync(context.Background(), p)
	waitFor(func() bool { return iouring.WordState(p) == 3 })
	if n := iouring.InFlight(b); n != 0 {
		t.Fatalf("InFlight during the Go phase = %d, want 0", n)
	}
	p.Unpark()
	if err := result(t, ch); err != nil {
		t.Fatalf("Park = %v, want nil", err)
	}
	if got := iouring.WordState(p); got != 0 {
		t.Fatalf("word after the handoff = %d, want 0 (token consumed)", got)
	}
}

// TestGoPhaseEndsInAKernelWait: a wait longer than the Go phase moves to an
// io_uring FUTEX_WAIT, and an Unpark then wakes it through the kernel.
func TestGoPhaseEndsInAKernelWait(t *testing.T) {
	watchdog(t, time.Minute)
	b := newBackendWith(t, iouring.WithGoWait(time.Millisecond))
	p := b.NewParker()
	ch := parkAsync(context.Background(), p)
	waitFor(func() bool { return iouring.InFlight(b) == 1 && iouring.WordState(p) == 2 })
	p.Unpark()
	if err := result(t, ch); err != nil {
		t.Fatalf("Park = %v, want nil", err)
	}
}

// TestGoPhaseCancelLeavesLaterTokenPending: ctx ending during the Go phase
// returns ctx.Err(), and a token that comes afterwards waits for the next
// Park (no signal is lost to the abandoned wait).
func TestGoPhaseCancelLeavesLaterTokenPending(t *testing.T) {
	watchdog(t, time.Minute)
	b := newBackendWith(t, iouring.WithGoWait(time.Hour))
	p := b.NewParker()
	ctx, cancel := context.WithCancel(context.Background())
	ch := parkAsync(ctx, p)
	waitFor(func() bool { return iouring.WordState(p) == 3 })
	cancel()
	if err := result(t, ch); !errors.Is(err, context.Canceled) {
		t.Fatalf("Park after cancel = %v, want context.Canceled", err)
	}
	p.Unpark()
	if err := p.Park(context.Background()); err != nil {
		t.Fatalf("Park after a later Unpark = %v, want nil at once", err)
	}
	// No stale signal or token is left: the next Park waits again.
	short, cancel2 := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel2()
	if err := p.Park(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("third Park = %v, want DeadlineExceeded", err)
	}
}

// TestGoPhaseCloseFailsPark: Close ends a Park waiting in the Go phase with
// ErrClosed, as it does a kernel wait.
func TestGoPhaseCloseFailsPark(t *testing.T) {
	watchdog(t, time.Minute)
	b, err := iouring.New(iouring.WithGoWait(time.Hour))
	if errors.Is(err, errors.ErrUnsupported) {
		t.Skipf("io_uring futex ops unavailable here: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	p := b.NewParker()
	ch := parkAsync(context.Background(), p)
	waitFor(func() bool { return iouring.WordState(p) == 3 })
	if err := b.Close(); err != nil {
		t.Fatalf("Close = %v", err)
	}
	if err := result(t, ch); !errors.Is(err, iouring.ErrClosed) {
		t.Fatalf("Park after Close = %v, want ErrClosed", err)
	}
}

// TestGoPhaseStaleSignalsAreHarmless races Unpark against the end of a
// very short Go phase many times: every token is consumed exactly once and
// no Park returns without one.
func TestGoPhaseStaleSignalsAreHarmless(t *testing.T) {
	watchdog(t, 2*time.Minute)
	b := newBackendWith(t, iouring.WithGoWait(2*time.Microsecond))
	p := b.NewParker()
	for i := range 2000 {
		ch := parkAsync(context.Background(), p)
		if i%3 == 0 {
			time.Sleep(time.Duration(i%7) * time.Microsecond)
		}
		p.Unpark()
		if err := result(t, ch); err != nil {
			t.Fatalf("round %d: Park = %v, want nil", i, err)
		}
		if s := iouring.WordState(p); s != 0 {
			t.Fatalf("round %d: word after Park = %d, want 0", i, s)
		}
	}
}

func TestWithGoWaitNegativePanics(t *testing.T) {
	defer func() {
		r := recover()
		if s, _ := r.(string); !strings.HasPrefix(s, "iouring: WithGoWait") {
			t.Fatalf("WithGoWait(-1) panicked with %v, want a message starting %q", r, "iouring: WithGoWait")
		}
	}()
	iouring.WithGoWait(-1)
}

// TestGoPhaseCancelRacingUnparkKeepsExactlyOneToken is the kernel wait's
// cancel-versus-Unpark race run in the Go phase: a ctx that ends as Unpark
// swaps the token in and signals must leave exactly one token, consumed by
// that Park (nil) or pending for the next (ctx.Err()). The second run's
// 20us phase lets the race also straddle the move to the kernel.
func TestGoPhaseCancelRacingUnparkKeepsExactlyOneToken(t *testing.T) {
	watchdog(t, 2*time.Minute)
	for _, d := range []time.Duration{time.Hour, 20 * time.Microsecond} {
		b := newBackendWith(t, iouring.WithGoWait(d))
		// Announced: in the Go phase (3) or, once it ended, the kernel (2).
		cancelRacingUnpark(t, b, func(p any) bool { s := iouring.WordState(p); return s == 3 || s == 2 })
	}
}

// TestGoPhaseCloseRacingUnparkKeepsExactlyOneToken closes the Backend while
// a Park waits in the Go phase, at the moment an Unpark swaps the token in:
// Park either consumes the token (nil, none left) or fails with ErrClosed
// and leaves it pending, where the next Park finds it even on the closed
// Backend. The token is never lost or doubled.
func TestGoPhaseCloseRacingUnparkKeepsExactlyOneToken(t *testing.T) {
	watchdog(t, 2*time.Minute)
	cancelled, cancelAll := context.WithCancel(context.Background())
	cancelAll()
	var nils, closes int
	for i := range 300 {
		// Closed here; the Cleanup's second Close returns the first's result.
		b := newBackendWith(t, iouring.WithGoWait(time.Hour))
		p := b.NewParker()
		ch := parkAsync(context.Background(), p)
		waitFor(func() bool { return iouring.WordState(p) == 3 })
		var wg sync.WaitGroup
		wg.Go(func() {
			if err := b.Close(); err != nil {
				t.Errorf("Close = %v", err)
			}
		})
		wg.Go(p.Unpark)
		wg.Wait()
		err := result(t, ch)
		probe := p.Park(cancelled) // consumes a pending token, else ctx.Err()
		switch {
		case err == nil:
			nils++
			if !errors.Is(probe, context.Canceled) {
				t.Fatalf("round %d: Park = nil, then a second token was found (probe = %v)", i, probe)
			}
		case errors.Is(err, iouring.ErrClosed):
			closes++
			if probe != nil {
				t.Fatalf("round %d: Park = %v, and the Unpark's token was lost (probe = %v)", i, err, probe)
			}
		default:
			t.Fatalf("round %d: Park = %v, want nil or ErrClosed", i, err)
		}
	}
	t.Logf("outcomes: %d consumed, %d closed with the token left pending", nils, closes)
}

// TestGoPhaseSweeperExitsWhenIdle: the goroutine that bounds Go waits runs
// only while Go waits exist; after the last one it exits on its own (no
// goroutine ticking for an idle backend), and a later Go wait starts it
// again.
func TestGoPhaseSweeperExitsWhenIdle(t *testing.T) {
	watchdog(t, 30*time.Second)
	b := newBackendWith(t, iouring.WithGoWait(time.Millisecond))
	p := b.NewParker()
	for range 2 {
		ch := parkAsync(context.Background(), p)
		waitFor(func() bool { return iouring.WordState(p) == 3 })
		// The Park announces its Go wait (the word's 3) before it joins
		// the members and starts a sweeper, so give it that moment: a
		// Park left in its Go phase with no sweeper never gets one, and
		// the watchdog names the hang.
		waitFor(func() bool { return iouring.Sweeping(b) })
		p.Unpark()
		if err := result(t, ch); err != nil {
			t.Fatalf("Park = %v, want nil", err)
		}
		waitFor(func() bool { return !iouring.Sweeping(b) })
	}
}

// TestGoPhaseThresholdFollowsTheServiceRate: a quiet backend demotes a Go
// wait after 3 sweeps (d to 1.5d); one whose waits keep re-registering
// extends the Go phase to 16 times the time its recent rate needs to serve
// every registered wait, capped at about 100d.
func TestGoPhaseThresholdFollowsTheServiceRate(t *testing.T) {
	for _, c := range []struct {
		live, rate int
		want       uint64
	}{
		{1, 0, 3},        // idle: the base Go phase
		{1024, 0, 3},     // nobody re-registers: they are idle, not queued
		{9, 1250, 3},     // one idle wait beside busy ones: the base phase
		{1024, 1100, 15}, // a turning queue: 16*1024/1100+1 sweeps
		{1024, 94, 175},  // a slow queue (10us sections): 16*1024/94+1
		{1024, 33, 201},  // capped at maxAge
		{10, 2, 81},      // 16*10/2+1
	} {
		if got := iouring.GoPhaseThreshold(c.live, c.rate); got != c.want {
			t.Errorf("threshold(live %d, rate %d) = %d sweeps, want %d", c.live, c.rate, got, c.want)
		}
	}
}

// TestGoPhaseSweepDroppingAMemberKeepsOneThatJustAnnounced: a parker that
// waited in Go before stays a member, which its next Park checks without a
// lock, and the sweeper drops members idle for two epochs. The interleaving
// where the sweeper has found the parker idle and is about to drop it while
// its next Park announces a Go wait and finds itself still a member is
// forced with hooks: the sweeper must see the announced wait and keep the
// parker, or nothing would ever move that wait to the kernel or end it on
// Close.
func TestGoPhaseSweepDroppingAMemberKeepsOneThatJustAnnounced(t *testing.T) {
	watchdog(t, time.Minute)
	b := newBackendWith(t, iouring.WithGoWait(time.Hour)) // the sweeper never ticks on its own here
	p := b.NewParker()
	ch := parkAsync(context.Background(), p)
	waitFor(func() bool { return iouring.WordState(p) == 3 })
	p.Unpark()
	if err := result(t, ch); err != nil {
		t.Fatalf("Park = %v, want nil", err)
	}
	iouring.Sweep(b) // epoch 1: the wait stamped in epoch 0 is one epoch old
	if !iouring.IsMember(b, p) {
		t.Fatal("the parker left the members one epoch after its Go wait; want it kept for two")
	}
	entered := make(chan struct{})
	iouring.SetHooks(func() { close(entered) }, func(q any) {
		if q != p {
			return
		}
		// The sweep found p idle; its next Park announces and finds itself
		// a member before the sweep clears the membership.
		ch = parkAsync(context.Background(), p)
		<-entered
	})
	defer iouring.SetHooks(nil, nil)
	iouring.Sweep(b) // epoch 2: p looks idle
	if !iouring.IsMember(b, p) {
		t.Fatal("a sweep dropped a parker whose Park had announced its Go wait and found itself a member: the wait is unreachable")
	}
	if err := b.Close(); err != nil {
		t.Fatalf("Close = %v", err)
	}
	if err := result(t, ch); !errors.Is(err, iouring.ErrClosed) {
		t.Fatalf("Park after Close = %v, want ErrClosed", err)
	}
}

// TestGoPhaseLastsThreeSweepsAfterTheEpochOutgrowsTheStamp: a stamp keeps
// only the low 40 bits of the epoch, so a sweep must measure a wait's age
// modulo 2^40. Measured against the full epoch, every Go wait started after
// 2^40 sweeps (about 12 days of sweeping at d = 2 µs, 64 at d = 10 µs)
// looked 2^40 sweeps old: each was demoted at the first sweep after it
// started (a Go phase of at most d/2 for the rest of the backend's life)
// and each idle member was dropped after one sweep instead of two.
func TestGoPhaseLastsThreeSweepsAfterTheEpochOutgrowsTheStamp(t *testing.T) {
	watchdog(t, time.Minute)
	b := newBackendWith(t, iouring.WithGoWait(time.Hour)) // the sweeper never ticks on its own here
	iouring.SetEpoch(b, 1<<40+7)
	p := b.NewParker()
	ch := parkAsync(context.Background(), p)
	waitFor(func() bool { return iouring.WordState(p) == 3 && iouring.IsMember(b, p) })
	for sweep := 1; sweep <= 2; sweep++ {
		iouring.Sweep(b)
		if iouring.DemotionSent(p) {
			t.Fatalf("sweep %d after the Go wait started demoted it; want it kept until sweep 3 (its age was taken against the epoch's bits the stamp does not hold)", sweep)
		}
	}
	iouring.Sweep(b)
	if !iouring.DemotionSent(p) {
		t.Fatal("sweep 3 after the Go wait started did not demote it")
	}
	waitFor(func() bool { return iouring.InFlight(b) == 1 && iouring.WordState(p) == 2 })
	p.Unpark()
	if err := result(t, ch); err != nil {
		t.Fatalf("Park = %v, want nil", err)
	}
	// A parker idle since a Go wait stays a member for the next sweep (it
	// is likely to wait again soon), after the wrap as before it.
	ch = parkAsync(context.Background(), p)
	waitFor(func() bool { return iouring.WordState(p) == 3 })
	p.Unpark()
	if err := result(t, ch); err != nil {
		t.Fatalf("second Park = %v, want nil", err)
	}
	iouring.Sweep(b)
	if !iouring.IsMember(b, p) {
		t.Fatal("the sweep right after a Go wait dropped the parker from the members; want it kept for two sweeps")
	}
}
