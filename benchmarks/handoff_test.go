package benchmarks

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

// parkGrace is how long the releaser spins before releasing, so that the
// waiter has reached the bottom of Acquire (parked in the Go scheduler or in
// the kernel) and the measured latency includes the whole wake-up.
const parkGrace = 50 * time.Microsecond

// BenchmarkHandoff measures the time from Release to the woken goroutine
// running: one goroutine holds the only permit, another blocks in Acquire,
// the holder releases, and the waiter timestamps its return from Acquire.
// Reported as p50-ns, p99-ns and max-ns over b.N handoffs; ns/op is
// dominated by parkGrace and is not a result. c=futex-threads is the same
// shape between two locked OS threads with raw futex wait/wake (Linux
// only): the floor for a handoff to a waiter that has slept, which on a VM
// includes waking an idle virtual CPU: read core+iouring's p99 against
// its p99.
func BenchmarkHandoff(b *testing.B) {
	ctx := context.Background()
	Work(parkGrace)
	b.Run("c=futex-threads", func(b *testing.B) {
		lat, err := FutexHandoff(b.N, func() { Work(parkGrace) })
		if errors.Is(err, errors.ErrUnsupported) {
			b.Skip(err)
		}
		if err != nil {
			b.Fatal(err)
		}
		p := Summarize(lat)
		b.ReportMetric(float64(p.P50), "p50-ns")
		b.ReportMetric(float64(p.P99), "p99-ns")
		b.ReportMetric(float64(p.Max), "max-ns")
	})
	runContenders(b, 1, nil, func(b *testing.B, s Sem) {
		n := b.N
		lat := make([]time.Duration, 0, n)
		var released atomic.Int64 // time of the Release being measured
		ready := make(chan struct{})
		done := make(chan struct{})
		go func() { // the waiter
			for range n {
				ready <- struct{}{}
				if err := s.Acquire(ctx, 1); err != nil {
					panic(err)
				}
				lat = append(lat, time.Duration(now()-released.Load()))
				s.Release(1)
				done <- struct{}{}
			}
		}()
		b.ResetTimer()
		for range n {
			if err := s.Acquire(ctx, 1); err != nil {
				b.Fatal(err)
			}
			<-ready
			Work(parkGrace)
			released.Store(now())
			s.Release(1)
			<-done
		}
		b.StopTimer()
		p := Summarize(lat)
		b.ReportMetric(float64(p.P50), "p50-ns")
		b.ReportMetric(float64(p.P99), "p99-ns")
		b.ReportMetric(float64(p.Max), "max-ns")
	})
}
