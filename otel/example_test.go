package otelgosync_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"

	generic "github.com/compio-sync/gosync/backend-generic"
	"github.com/compio-sync/gosync/core"
	otelgosync "github.com/compio-sync/gosync/otel"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// Example instruments a Semaphore with one call and prints what a reader
// collects. In a service, the MeterProvider comes from your OpenTelemetry
// setup (with an OTLP or Prometheus exporter); here a ManualReader stands
// in for the exporter.
func Example() {
	reader := sdkmetric.NewManualReader()
	provider := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer provider.Shutdown(context.Background())

	sem := core.NewSemaphore(2, generic.New(), core.WithMaxWaiters(1))
	inst, err := otelgosync.Instrument(sem, provider, otelgosync.WithName("db"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer inst.Close()

	ctx := context.Background()
	a, _ := sem.Acquire(ctx)
	b, _ := sem.Acquire(ctx)
	done := make(chan struct{})
	go func() { // queues behind a and b
		p, _ := sem.Acquire(ctx)
		p.Release()
		close(done)
	}()
	for sem.Waiting() == 0 {
		runtime.Gosched()
	}
	if _, err := sem.Acquire(ctx); !errors.Is(err, core.ErrQueueFull) { // shed: the queue holds one
		fmt.Println("want ErrQueueFull, got", err)
	}
	a.Release() // the queued Acquire gets a's permit
	<-done

	var rm metricdata.ResourceMetrics
	reader.Collect(ctx, &rm)
	var lines []string
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Gauge[int64]:
				for _, p := range d.DataPoints {
					lines = append(lines, fmt.Sprintf("%s = %d", m.Name, p.Value))
				}
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					if r, _ := p.Attributes.Value(otelgosync.ResultKey); p.Value > 0 {
						lines = append(lines, fmt.Sprintf("%s{result=%s} = %d", m.Name, r.AsString(), p.Value))
					}
				}
			case metricdata.Histogram[float64]:
				for _, p := range d.DataPoints {
					r, _ := p.Attributes.Value(otelgosync.ResultKey)
					lines = append(lines, fmt.Sprintf("%s{result=%s}: %d wait(s) recorded", m.Name, r.AsString(), p.Count))
				}
			}
		}
	}
	slices.Sort(lines)
	for _, l := range lines {
		fmt.Println(l)
	}
	b.Release()

	// Output:
	// gosync.semaphore.acquire.time_in_queue{result=granted}: 1 wait(s) recorded
	// gosync.semaphore.acquires{result=granted} = 3
	// gosync.semaphore.acquires{result=queue_full} = 1
	// gosync.semaphore.permits.in_use = 1
	// gosync.semaphore.permits.limit = 2
	// gosync.semaphore.queued_acquires = 0
}
