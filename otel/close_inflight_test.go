package otelgosync_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	generic "github.com/compio-sync/gosync/backend-generic"
	"github.com/compio-sync/gosync/core"
	otelgosync "github.com/compio-sync/gosync/otel"
	"github.com/google/go-cmp/cmp"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
)

const waitHist = "gosync.semaphore.acquire.time_in_queue"

// instrumentedHeld returns a reader, an instrumented one-permit Semaphore,
// its Instrumentation, and the Permit that holds the Semaphore, so that
// the next Acquire queues.
func instrumentedHeld(t *testing.T) (*sdkmetric.ManualReader, *core.Semaphore, *otelgosync.Instrumentation, core.Permit) {
	t.Helper()
	r, mp := setup(t)
	sem := core.NewSemaphore(1, generic.New())
	inst, err := otelgosync.Instrument(sem, mp)
	if err != nil {
		t.Fatalf("Instrument() = %v, want nil", err)
	}
	held, err := sem.Acquire(context.Background())
	if err != nil {
		t.Fatalf("Acquire() = %v, want nil", err)
	}
	return r, sem, inst, held
}

// An Acquire that queued before Close and ends after it is recorded in the
// histogram, whatever its result; one that queues after Close is not.
func TestCloseRecordsWaitsQueuedBeforeIt(t *testing.T) {
	r, sem, inst, held := instrumentedHeld(t)
	bg := context.Background()
	granted := acquireAsync(sem, bg, 1)
	waitFor(t, "the first waiter to queue", func() bool { return sem.Waiting() == 1 })
	ctx, cancel := context.WithCancel(bg)
	defer cancel()
	canceled := acquireAsync(sem, ctx, 1)
	waitFor(t, "the second waiter to queue", func() bool { return sem.Waiting() == 2 })

	if err := inst.Close(); err != nil {
		t.Fatalf("Close() = %v, want nil", err)
	}
	cancel()
	if err := <-canceled; !errors.Is(err, context.Canceled) {
		t.Fatalf("Acquire cancelled after Close = %v, want context.Canceled", err)
	}
	held.Release()
	if err := <-granted; err != nil {
		t.Fatalf("Acquire granted after Close = %v, want nil", err)
	}
	// Queued after Close: not timed.
	held, _ = sem.Acquire(bg)
	late := acquireAsync(sem, bg, 1)
	waitFor(t, "a waiter queued after Close", func() bool { return sem.Waiting() == 1 })
	held.Release()
	if err := <-late; err != nil {
		t.Fatalf("Acquire queued after Close = %v, want nil", err)
	}

	want := collected{
		waitHist + "{result=granted}":  1,
		waitHist + "{result=canceled}": 1,
	}
	if diff := cmp.Diff(want, collect(t, r)); diff != "" {
		t.Errorf("collected after Close (-want +got):\n%s", diff)
	}
}

// Close racing the ends of many queued waits records each exactly once:
// buffered before Close and flushed by it, or recorded directly after.
func TestCloseRacingWaitsRecordsEachOnce(t *testing.T) {
	for round := range 20 {
		r, sem, inst, held := instrumentedHeld(t)
		bg := context.Background()
		const n = 32
		var ends []<-chan error
		for i := range n {
			ends = append(ends, acquireAsync(sem, bg, 1))
			waitFor(t, fmt.Sprintf("waiter %d to queue", i), func() bool { return sem.Waiting() == i+1 })
		}
		// Each waiter releases as soon as it is granted, so the handoffs
		// run down the queue while Close runs.
		var wg sync.WaitGroup
		wg.Go(func() {
			if err := inst.Close(); err != nil {
				t.Errorf("Close() = %v, want nil", err)
			}
		})
		held.Release()
		for i, c := range ends {
			if err := <-c; err != nil {
				t.Fatalf("round %d: waiter %d: Acquire = %v, want nil", round, i, err)
			}
		}
		wg.Wait()
		if got := collect(t, r)[waitHist+"{result=granted}"]; got != n {
			t.Fatalf("round %d: %s{result=granted} = %d, want %d (each wait that queued before Close, once)", round, waitHist, got, n)
		}
	}
}
