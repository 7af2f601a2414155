package benchmarks

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	generic "github.com/compio-sync/gosync/backend-generic"
	"github.com/compio-sync/gosync/core"
	otelgosync "github.com/compio-sync/gosync/otel"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
)

// discardObserver is the cheapest Observer: it drops every report, so the
// uncontended cells measure core's own counting.
type discardObserver struct{}

func (discardObserver) AcquireWaited(core.QueuedAcquire) {}

// BenchmarkObservedUncontended times one goroutine taking and returning
// the only permit of a free semaphore, called directly (Acquire then
// Permit.Release, as in BenchmarkUncontendedDirect), with and without an
// Observer attached, beside the atomic floor (one Load+CAS to take, one Add
// to return). What to look for: unobserved within 1.25x of the floor,
// observed within 1.5x of unobserved, 0 allocs for both.
func BenchmarkObservedUncontended(b *testing.B) {
	ctx := context.Background()
	for _, c := range []struct {
		name string
		opts []core.Option
	}{
		{"core+generic", nil},
		{"core+generic+observed", []core.Option{core.WithObserver(discardObserver{})}},
	} {
		b.Run("c="+c.name, func(b *testing.B) {
			s := core.NewSemaphore(1, generic.New(), c.opts...)
			b.ReportAllocs()
			for b.Loop() {
				p, err := s.Acquire(ctx)
				if err != nil {
					b.Fatal(err)
				}
				p.Release()
			}
		})
	}
	b.Run("c=atomic", func(b *testing.B) {
		var avail atomic.Int64
		avail.Store(1)
		b.ReportAllocs()
		for b.Loop() {
			if v := avail.Load(); v < 1 || !avail.CompareAndSwap(v, v-1) {
				b.Fatal("atomic floor: no permit")
			}
			avail.Add(1)
		}
	})
}

// BenchmarkObservedContended runs four cells of BenchmarkContended (32
// goroutines on 1 or 4 permits, empty or 100 ns critical sections) on a
// core+generic Semaphore without and with the OpenTelemetry
// instrumentation attached (otelgosync.Instrument on a real SDK
// MeterProvider, whose histogram records every queued Acquire's wait).
// What to look for: observed within 1.2x of unobserved in each cell.
func BenchmarkObservedContended(b *testing.B) {
	provider := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	defer provider.Shutdown(context.Background())
	for _, permits := range []int{1, 4} {
		for _, work := range []time.Duration{0, 100 * time.Nanosecond} {
			b.Run(fmt.Sprintf("g=32/permits=%d/work=%s", permits, workName(work)), func(b *testing.B) {
				Work(work) // calibrate outside the timed region
				b.Run("c=core+generic", func(b *testing.B) {
					contendedCell(b, coreSem{core.NewSemaphore(permits, generic.New())}, 32, permits, work)
				})
				b.Run("c=core+generic+observed", func(b *testing.B) {
					s := core.NewSemaphore(permits, generic.New(), core.WithObserver(discardObserver{}))
					contendedCell(b, coreSem{s}, 32, permits, work)
				})
				b.Run("c=core+generic+otel", func(b *testing.B) {
					s := core.NewSemaphore(permits, generic.New())
					inst, err := otelgosync.Instrument(s, provider)
					if err != nil {
						b.Fatal(err)
					}
					defer inst.Close()
					contendedCell(b, coreSem{s}, 32, permits, work)
				})
			})
		}
	}
}
