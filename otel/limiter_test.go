package otelgosync_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/compio-sync/gosync/adaptive"
	generic "github.com/compio-sync/gosync/backend-generic"
	"github.com/compio-sync/gosync/core"
	otelgosync "github.com/compio-sync/gosync/otel"
	"github.com/google/go-cmp/cmp"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
)

func TestInstrumentLimiterReportsLimitInflightAndOutcomes(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(context.Background())

	l := adaptive.New(core.NewSemaphore(10, generic.New()), adaptive.Fixed(3))
	inst, err := otelgosync.InstrumentLimiter(l, mp, otelgosync.WithName("api"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ok, err := l.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ok.Success()
	dropped, err := l.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	dropped.Drop()
	held, err := l.AcquireN(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	done, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := l.Acquire(done); !errors.Is(err, context.Canceled) {
		t.Fatalf("Acquire with a done ctx = %v, want context.Canceled", err)
	}

	got := collect(t, reader)
	name := "gosync.semaphore.name=api"
	want := collected{
		"gosync.limiter.limit{" + name + "}":    3,
		"gosync.limiter.inflight{" + name + "}": 2,
		"gosync.limiter.queued{" + name + "}":   0,
	}
	for _, o := range adaptive.Outcomes() {
		want["gosync.limiter.outcomes{"+name+",outcome="+o.String()+"}"] = 0
	}
	want["gosync.limiter.outcomes{"+name+",outcome=succeeded}"] = 1
	want["gosync.limiter.outcomes{"+name+",outcome=dropped}"] = 1
	want["gosync.limiter.outcomes{"+name+",outcome=canceled}"] = 1
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("collected (-want +got):\n%s", diff)
	}
	held.Ignore()

	if err := inst.Close(); err != nil {
		t.Fatalf("Close() = %v", err)
	}
	if err := inst.Close(); err != nil {
		t.Fatalf("second Close() = %v", err)
	}
	for k := range collect(t, reader) {
		if strings.HasPrefix(k, "gosync.limiter.") {
			t.Errorf("after Close, collected %s", k)
		}
	}
}

func TestInstrumentLimiterPanicsOnNil(t *testing.T) {
	mp := sdkmetric.NewMeterProvider()
	l := adaptive.New(core.NewSemaphore(1, generic.New()), adaptive.Fixed(1))
	for _, c := range []struct {
		name string
		call func()
	}{
		{"nil Limiter", func() { _, _ = otelgosync.InstrumentLimiter(nil, mp) }},
		{"nil MeterProvider", func() { _, _ = otelgosync.InstrumentLimiter(l, nil) }},
	} {
		func() {
			defer func() {
				if r := recover(); r == nil || !strings.HasPrefix(r.(string), "otelgosync:") {
					t.Errorf("%s: panic %v, want one starting otelgosync:", c.name, r)
				}
			}()
			c.call()
		}()
	}
}
