package otelgosync

import (
	"context"
	"testing"
	"time"

	"github.com/compio-sync/gosync/core"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// TestFullBufferRecordsDirectly: once maxPending waits are buffered, a
// waiter records its own wait instead of dropping it, and a collection
// sees every wait, buffered or not.
func TestFullBufferRecordsDirectly(t *testing.T) {
	defer func(old int) { maxPending = old }(maxPending)
	maxPending = 2
	r := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(r))
	defer mp.Shutdown(context.Background())
	h, err := mp.Meter("test").Float64Histogram("waits")
	if err != nil {
		t.Fatal(err)
	}
	o := &observer{hist: h, recordOpts: make([][]metric.RecordOption, len(core.AcquireResults()))}
	for range 5 {
		o.AcquireWaited(core.QueuedAcquire{N: 1, Result: core.AcquireGranted, Wait: time.Millisecond})
	}
	if got := len(o.pending); got != 2 {
		t.Errorf("buffered waits = %d, want 2 (maxPending)", got)
	}
	count := func() uint64 {
		var rm metricdata.ResourceMetrics
		if err := r.Collect(context.Background(), &rm); err != nil {
			t.Fatal(err)
		}
		var n uint64
		for _, sm := range rm.ScopeMetrics {
			for _, m := range sm.Metrics {
				for _, p := range m.Data.(metricdata.Histogram[float64]).DataPoints {
					n += p.Count
				}
			}
		}
		return n
	}
	if got := count(); got != 3 {
		t.Errorf("waits in the histogram before a flush = %d, want 3 (recorded directly)", got)
	}
	o.flush()
	if got := count(); got != 5 {
		t.Errorf("waits in the histogram after a flush = %d, want 5", got)
	}
}
