package otelgosync_test

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"

	generic "github.com/compio-sync/gosync/backend-generic"
	"github.com/compio-sync/gosync/core"
	otelgosync "github.com/compio-sync/gosync/otel"
	"github.com/google/go-cmp/cmp"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// collected is what a ManualReader collected, flattened for got/want:
// "name{attr=value,...}" to the value (gauges and counters) or to the
// number of recordings (histograms).
type collected map[string]int64

func collect(t *testing.T, r *sdkmetric.ManualReader) collected {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := r.Collect(context.Background(), &rm); err != nil {
		t.Fatalf("Collect() = %v, want nil", err)
	}
	out := collected{}
	for _, sm := range rm.ScopeMetrics {
		if sm.Scope.Name != otelgosync.ScopeName {
			t.Errorf("scope %q, want %q", sm.Scope.Name, otelgosync.ScopeName)
		}
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Gauge[int64]:
				for _, p := range d.DataPoints {
					out[m.Name+key(p.Attributes)] = p.Value
				}
			case metricdata.Sum[int64]:
				if !d.IsMonotonic || d.Temporality != metricdata.CumulativeTemporality {
					t.Errorf("%s: monotonic %v, temporality %v, want a cumulative counter", m.Name, d.IsMonotonic, d.Temporality)
				}
				for _, p := range d.DataPoints {
					out[m.Name+key(p.Attributes)] = p.Value
				}
			case metricdata.Histogram[float64]:
				for _, p := range d.DataPoints {
					out[m.Name+key(p.Attributes)] = int64(p.Count)
					if p.Count > 0 && !(p.Sum > 0) {
						t.Errorf("%s%s: sum %v of %d waits, want > 0 seconds", m.Name, key(p.Attributes), p.Sum, p.Count)
					}
				}
			default:
				t.Errorf("%s: data %T, want a gauge, a sum or a histogram", m.Name, m.Data)
			}
			if m.Unit == "" {
				t.Errorf("%s has no unit", m.Name)
			}
		}
	}
	return out
}

func key(s attribute.Set) string {
	out := "{"
	for i, kv := range s.ToSlice() {
		if i > 0 {
			out += ","
		}
		out += string(kv.Key) + "=" + kv.Value.String()
	}
	return out + "}"
}

func setup(t *testing.T) (*sdkmetric.ManualReader, *sdkmetric.MeterProvider) {
	t.Helper()
	r := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(r))
	t.Cleanup(func() { mp.Shutdown(context.Background()) })
	return r, mp
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("watchdog: timed out waiting for %s", what)
		}
		runtime.Gosched()
	}
}

// acquireAsync starts AcquireN on a goroutine; the Permit is released as
// soon as it is granted.
func acquireAsync(s *core.Semaphore, ctx context.Context, n int) <-chan error {
	c := make(chan error, 1)
	go func() {
		p, err := s.AcquireN(ctx, n)
		p.Release()
		c <- err
	}()
	return c
}

// TestInstrumentReportsEveryInstrument drives a Semaphore through every
// outcome, queued and not, and checks what the real SDK collects.
func TestInstrumentReportsEveryInstrument(t *testing.T) {
	r, mp := setup(t)
	sem := core.NewSemaphore(2, generic.New(), core.WithMaxWaiters(1))
	inst, err := otelgosync.Instrument(sem, mp, otelgosync.WithName("db"))
	if err != nil {
		t.Fatalf("Instrument() = %v, want nil", err)
	}
	defer inst.Close()
	bg := context.Background()

	a, _ := sem.Acquire(bg)        // granted
	b, _ := sem.Acquire(bg)        // granted
	w1 := acquireAsync(sem, bg, 1) // queues, granted later
	waitFor(t, "a waiter", func() bool { return sem.Waiting() == 1 })

	got := collect(t, r)
	for name, want := range map[string]int64{
		"gosync.semaphore.permits.in_use{gosync.semaphore.name=db}":  2,
		"gosync.semaphore.permits.limit{gosync.semaphore.name=db}":   2,
		"gosync.semaphore.queued_acquires{gosync.semaphore.name=db}": 1,
	} {
		if got[name] != want {
			t.Errorf("%s = %d, want %d (collected %v)", name, got[name], want, got)
		}
	}

	if _, err := sem.Acquire(bg); !errors.Is(err, core.ErrQueueFull) { // queue_full
		t.Fatalf("Acquire with the queue full = %v, want ErrQueueFull", err)
	}
	if _, err := sem.AcquireN(bg, 3); !errors.Is(err, core.ErrTooLarge) { // too_large
		t.Fatalf("AcquireN(3) of 2 = %v, want ErrTooLarge", err)
	}
	a.Release()
	if err := <-w1; err != nil {
		t.Fatalf("queued Acquire = %v, want nil", err)
	}
	ctx, cancel := context.WithCancel(bg)
	w2 := acquireAsync(sem, ctx, 2) // queues, cancelled
	waitFor(t, "a waiter to cancel", func() bool { return sem.Waiting() == 1 })
	cancel()
	if err := <-w2; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled Acquire = %v, want context.Canceled", err)
	}
	w3 := acquireAsync(sem, bg, 2) // queues, closed
	waitFor(t, "a waiter to close", func() bool { return sem.Waiting() == 1 })
	sem.Close()
	if err := <-w3; !errors.Is(err, core.ErrClosed) {
		t.Fatalf("Acquire queued at Close = %v, want ErrClosed", err)
	}
	b.Release()

	got = collect(t, r)
	want := collected{
		"gosync.semaphore.permits.in_use{gosync.semaphore.name=db}":  0,
		"gosync.semaphore.permits.limit{gosync.semaphore.name=db}":   2,
		"gosync.semaphore.queued_acquires{gosync.semaphore.name=db}": 0,

		"gosync.semaphore.acquires{gosync.semaphore.name=db,result=granted}":    3,
		"gosync.semaphore.acquires{gosync.semaphore.name=db,result=canceled}":   1,
		"gosync.semaphore.acquires{gosync.semaphore.name=db,result=closed}":     1,
		"gosync.semaphore.acquires{gosync.semaphore.name=db,result=too_large}":  1,
		"gosync.semaphore.acquires{gosync.semaphore.name=db,result=queue_full}": 1,
		"gosync.semaphore.acquires{gosync.semaphore.name=db,result=failed}":     0,

		// Only the three that queued are timed.
		"gosync.semaphore.acquire.time_in_queue{gosync.semaphore.name=db,result=granted}":  1,
		"gosync.semaphore.acquire.time_in_queue{gosync.semaphore.name=db,result=canceled}": 1,
		"gosync.semaphore.acquire.time_in_queue{gosync.semaphore.name=db,result=closed}":   1,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("collected metrics (-want +got):\n%s", diff)
	}
}

func TestCloseStopsReporting(t *testing.T) {
	r, mp := setup(t)
	sem := core.NewSemaphore(1, generic.New())
	inst, err := otelgosync.Instrument(sem, mp)
	if err != nil {
		t.Fatalf("Instrument() = %v, want nil", err)
	}
	p, _ := sem.Acquire(context.Background())
	p.Release()
	if got := collect(t, r)["gosync.semaphore.acquires{result=granted}"]; got != 1 {
		t.Errorf("acquires{result=granted} before Close = %d, want 1", got)
	}
	if err := inst.Close(); err != nil {
		t.Errorf("Close() = %v, want nil", err)
	}
	if err := inst.Close(); err != nil {
		t.Errorf("second Close() = %v, want nil", err)
	}
	p, _ = sem.Acquire(context.Background())
	p.Release()
	if got := collect(t, r); len(got) != 0 {
		t.Errorf("collected after Close = %v, want nothing (callback unregistered)", got)
	}
	if got := sem.AcquireStats().Count(core.AcquireGranted); got != 1 {
		t.Errorf("granted counted by core after Close = %d, want 1 (Observer detached)", got)
	}
}

// TestNamedSemaphoresShareAProvider: two Semaphores, two series.
func TestNamedSemaphoresShareAProvider(t *testing.T) {
	r, mp := setup(t)
	for _, c := range []struct {
		name    string
		permits int
	}{{"db", 5}, {"cache", 7}} {
		inst, err := otelgosync.Instrument(core.NewSemaphore(c.permits, generic.New()), mp, otelgosync.WithName(c.name), otelgosync.WithAttributes(attribute.String("tier", "a")))
		if err != nil {
			t.Fatalf("Instrument(%s) = %v, want nil", c.name, err)
		}
		defer inst.Close()
	}
	got := collect(t, r)
	for name, want := range map[string]int64{
		"gosync.semaphore.permits.limit{gosync.semaphore.name=db,tier=a}":    5,
		"gosync.semaphore.permits.limit{gosync.semaphore.name=cache,tier=a}": 7,
	} {
		if got[name] != want {
			t.Errorf("%s = %d, want %d (collected %v)", name, got[name], want, got)
		}
	}
}

// TestInstrumentedFastPathAllocatesNothing: with the OTel Observer
// attached, an uncontended Acquire+Release still allocates nothing.
func TestInstrumentedFastPathAllocatesNothing(t *testing.T) {
	_, mp := setup(t)
	sem := core.NewSemaphore(1, generic.New())
	inst, err := otelgosync.Instrument(sem, mp)
	if err != nil {
		t.Fatal(err)
	}
	defer inst.Close()
	ctx := context.Background()
	if allocs := testing.AllocsPerRun(1000, func() {
		p, err := sem.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		p.Release()
	}); allocs != 0 {
		t.Errorf("instrumented Acquire+Release allocations = %v, want 0", allocs)
	}
}

func TestInstrumentPanicsOnNil(t *testing.T) {
	_, mp := setup(t)
	for name, f := range map[string]func(){
		"nil Semaphore":     func() { otelgosync.Instrument(nil, mp) },
		"nil MeterProvider": func() { otelgosync.Instrument(core.NewSemaphore(1, generic.New()), nil) },
	} {
		func() {
			defer func() {
				if r := recover(); r == nil {
					t.Errorf("Instrument with a %s did not panic", name)
				}
			}()
			f()
		}()
	}
}

// TestCloseStopsItsGoroutine: Instrument starts one goroutine (the wait
// flusher) and Close ends it. The flushers are counted by their function
// in the stacks of every goroutine, not by runtime.NumGoroutine, which
// other tests' goroutines ending meanwhile would move.
func TestCloseStopsItsGoroutine(t *testing.T) {
	_, mp := setup(t)
	before := flushers()
	inst, err := otelgosync.Instrument(core.NewSemaphore(1, generic.New()), mp)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the flusher to start", func() bool { return flushers() == before+1 })
	inst.Close()
	waitFor(t, "the flusher to exit", func() bool { return flushers() == before })
}

// flushers counts the goroutines running an Instrumentation's flusher.
func flushers() int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return strings.Count(string(buf[:n]), ".(*observer).flushLoop(")
		}
		buf = make([]byte, 2*len(buf))
	}
}
