package benchmarks

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Caller-view grid: what a goroutine running Acquire / work / Release in a
// loop feels, rather than the aggregate throughput.
var (
	callersGoroutines = []int{8, 32, 1024}
	callersPermits    = []int{1, 4}
	callersWork       = []time.Duration{0, 100 * time.Nanosecond}
)

// callersChunk is how many grants a goroutine counts locally before adding
// them to the shared total: the stop check must not put a shared cache line
// on every operation, or it would dominate the empty critical section.
const callersChunk = 16

// BenchmarkCallers runs g goroutines, each looping Acquire(1) / work /
// Release(1) on a semaphore of the given permits, until b.N grants have been
// made in all (up to g*callersChunk more; the excess is counted). All
// goroutines start together behind a gate. It reports, per contender:
//   - release-p50-ns, release-p99-ns, release-p99.9-ns: time spent inside
//     every Release call (a handler's `defer p.Release()` delays its return
//     by this much);
//   - cycle-p99-ns: the 99th percentile of the time between a goroutine's
//     consecutive grants (measured between its consecutive Release calls,
//     which follow each grant after the same work), which is how long a
//     worker goes without the resource;
//   - jain: Jain's fairness index of the per-goroutine grant counts, 1 when
//     every goroutine got the same share, 1/g when one got everything;
//   - grant-max/min: the largest per-goroutine grant count over the
//     smallest (a zero minimum counts as one).
//
// Every Release is timed (two clock reads per operation), so ns/op here is
// not a throughput figure; BenchmarkContended measures throughput.
func BenchmarkCallers(b *testing.B) {
	runGrid(b, callersGoroutines, callersPermits, callersWork, func(b *testing.B, s Sem, g, permits int, work time.Duration) {
		runCallers(b, context.Background(), s, g, work)
		mustAllFree(b, s, permits)
	})
}

func runCallers(b *testing.B, ctx context.Context, s Sem, g int, work time.Duration) {
	var (
		total    atomic.Int64 // grants, added in chunks
		gate     = make(chan struct{})
		wg       sync.WaitGroup
		mu       sync.Mutex
		releases []time.Duration
		cycles   []time.Duration
		grants   = make([]int64, g)
	)
	target := int64(b.N)
	perG := b.N/g + callersChunk
	for i := range g {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rel := make([]time.Duration, 0, perG)
			cyc := make([]time.Duration, 0, perG)
			var mine, last int64
			<-gate
			for {
				if err := s.Acquire(ctx, 1); err != nil {
					panic(err)
				}
				Work(work)
				t0 := now()
				s.Release(1)
				t1 := now()
				rel = append(rel, time.Duration(t1-t0))
				if last != 0 {
					cyc = append(cyc, time.Duration(t0-last))
				}
				last = t0
				mine++
				if mine%callersChunk == 0 && total.Add(callersChunk) >= target {
					break
				}
			}
			total.Add(mine % callersChunk)
			grants[i] = mine
			mu.Lock()
			releases = append(releases, rel...)
			cycles = append(cycles, cyc...)
			mu.Unlock()
		}()
	}
	b.ReportAllocs()
	b.ResetTimer()
	close(gate)
	wg.Wait()
	b.StopTimer()
	slices.Sort(releases)
	slices.Sort(cycles)
	b.ReportMetric(float64(rankPermille(releases, 500)), "release-p50-ns")
	b.ReportMetric(float64(rankPermille(releases, 990)), "release-p99-ns")
	b.ReportMetric(float64(rankPermille(releases, 999)), "release-p99.9-ns")
	b.ReportMetric(float64(rankPermille(cycles, 990)), "cycle-p99-ns")
	ratio, _ := MaxMinRatio(grants)
	b.ReportMetric(JainIndex(grants), "jain")
	b.ReportMetric(ratio, "grant-max/min")
}
