package fleet_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/compio-sync/gosync/fleet"
)

// checkFIFOByRevision: two waiters from two processes, queued one after the
// other, are granted in that order when the holder releases one permit,
// even though the second process's clock runs an hour behind (clocks of
// different machines disagree; etcd's revision order does not).
func checkFIFOByRevision(ctx context.Context, ps []*proc) error {
	h, err := ps[0].sem.Acquire(ctx)
	if err != nil {
		return err
	}
	type grant struct {
		who int
		p   *fleet.Permit
	}
	got := make(chan grant, 2)
	for i, p := range ps[:2] {
		go func() {
			wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			pm, err := p.sem.Acquire(wctx)
			if err == nil {
				got <- grant{i, pm}
			}
		}()
		if err := pollWaiting(ctx, ps[0].sem, i+1); err != nil {
			return err
		}
	}
	o := &errObserver{max: 1}
	h.Release()
	first := <-got
	o.acquired(first.who)
	// The second waiter may only be granted after the first releases.
	select {
	case second := <-got:
		o.acquired(second.who)
		second.p.Release()
		first.p.Release()
		return fmt.Errorf("both waiters hold the single permit at once (granted %d, then %d before %d released): %v", first.who, second.who, first.who, o.err)
	case <-time.After(300 * time.Millisecond):
	}
	if first.who != 0 {
		first.p.Release()
		s := <-got
		s.p.Release()
		return fmt.Errorf("waiter of process %d granted first, want process 0's (queued first, at a lower revision)", first.who)
	}
	first.p.Release()
	second := <-got
	second.p.Release()
	return nil
}

// errObserver is the observer of mutants_test: it records the first
// over-admission as an error instead of failing the test.
type errObserver struct {
	max, held int
	err       error
}

func (o *errObserver) acquired(who int) {
	o.held++
	if o.held > o.max && o.err == nil {
		o.err = fmt.Errorf("observer: %d holders of %d permits", o.held, o.max)
	}
}

func TestFIFOIsByRevisionNotClientClock(t *testing.T) {
	watchdog(t, 30*time.Second)
	ps := openProcs(t, sharedCluster(t), 2, 1, uniqueOpts(t))
	fleet.SetClock(ps[1].sem, func() time.Time { return time.Now().Add(-time.Hour) })
	if err := checkFIFOByRevision(bg(t), ps); err != nil {
		t.Fatal(err)
	}
}

// TestMutantsAreCaught proves that the checks above can fail: each mutant
// is a Semaphore with one deliberate bug, and the check named for it must
// report it.
func TestMutantsAreCaught(t *testing.T) {
	for _, m := range []struct {
		mutant, check string
		proc          int // which process runs the mutant
		setup         func(ps []*proc)
		run           func(context.Context, []*proc) error
	}{
		{"GrantByArrival", "TestFIFOIsByRevisionNotClientClock", 1, func(ps []*proc) {
			fleet.SetClock(ps[1].sem, func() time.Time { return time.Now().Add(-time.Hour) })
		}, checkFIFOByRevision},
		{"KeepOnCancel", "TestCancelRemovesTheWaiter", 1, nil, checkCancelRemovesWaiter},
		{"SilentLoss", "TestLeaseLossIsReported", 0, nil, checkLeaseLossReported},
	} {
		t.Run(m.mutant, func(t *testing.T) {
			watchdog(t, 30*time.Second)
			ps := openProcs(t, sharedCluster(t), 2, 1, uniqueOpts(t))
			if m.setup != nil {
				m.setup(ps)
			}
			fleet.SetMutant(ps[m.proc].sem, m.mutant)
			err := m.run(bg(t), ps)
			if err == nil {
				t.Fatalf("mutant %s passed the check of %s: that test cannot tell it from a correct semaphore", m.mutant, m.check)
			}
			t.Logf("caught by %s: %v", m.check, err)
		})
	}
}
