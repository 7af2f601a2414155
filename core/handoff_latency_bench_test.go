package core_test

import (
	"context"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/compio-sync/gosync/core"
)

func spinFor(d time.Duration) {
	t := time.Now()
	for time.Since(t) < d {
	}
}

// BenchmarkHandoffLatency measures the other side of the yield after a
// handoff: one waiter parked long before the Release (the other P idle), the
// time from Release to the waiter running, with and without the yield.
// go test -run '^$' -bench HandoffLatency -benchtime=1000x -count=3
func BenchmarkHandoffLatency(b *testing.B) {
	for _, mode := range []string{"gosched", "none"} {
		b.Run(mode, func(b *testing.B) {
			if mode == "none" {
				defer core.SetYield(func() {})()
			}
			ctx := context.Background()
			s := core.NewSemaphore(1, chanBackend{})
			n := b.N
			lat := make([]time.Duration, 0, n)
			var released atomic.Int64
			ready := make(chan struct{})
			done := make(chan struct{})
			go func() {
				for range n {
					ready <- struct{}{}
					p, _ := s.Acquire(ctx)
					lat = append(lat, time.Duration(time.Now().UnixNano()-released.Load()))
					p.Release()
					done <- struct{}{}
				}
			}()
			for range n {
				p, _ := s.Acquire(ctx)
				<-ready
				spinFor(50 * time.Microsecond)
				released.Store(time.Now().UnixNano())
				p.Release()
				<-done
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2]), "p50-ns")
		})
	}
}
