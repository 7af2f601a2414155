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
// made in all and every goroutine has been granted at least once (up to
// g*callersChunk more; the excess is counted). All goroutines start
// together behind a gate. It reports, per contender:
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
// The grant counts behind jain and grant-max/min are those of a window:
// from the grant that makes every goroutine granted at least once until a
// goroutine finds the target reached. Before it, the goroutines that have
// not run yet are waiting for a processor, not for the semaphore: the
// gate readies a thousand goroutines at once, and the ones that ran first
// take turns with each other until the last have started (with counts
// over the whole run, 1024 goroutines on one permit showed max/min from 2
// to 217 for core, x/sync and the channel alike, and 1.005 to 1.05 for
// all three in the window). After it, the goroutines stop one by one,
// each at its next chunk.
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
		// The shares are counted in a window: from when every goroutine
		// has been granted once (until then the last ones to start are
		// still waiting for a processor, not for the semaphore) until
		// the first goroutine sees the target reached (after it, the
		// goroutines stop one by one, each at its next chunk).
		started atomic.Int64
		ended   atomic.Bool
	)
	target := int64(b.N)
	perG := b.N/g + callersChunk
	for i := range g {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rel := make([]time.Duration, 0, perG)
			cyc := make([]time.Duration, 0, perG)
			var mine, last, inWindow int64
			<-gate
			for {
				if err := s.Acquire(ctx, 1); err != nil {
					panic(err)
				}
				if mine == 0 {
					started.Add(1) // once per goroutine
				}
				Work(work)
				t0 := now()
				s.Release(1)
				t1 := now()
				// Judged after the Release, so that no shared load
				// lengthens the critical section.
				if started.Load() == int64(g) && !ended.Load() {
					inWindow++
				}
				rel = append(rel, time.Duration(t1-t0))
				if last != 0 {
					cyc = append(cyc, time.Duration(t0-last))
				}
				last = t0
				mine++
				// Ends once the target is reached and the window has
				// opened (every goroutine granted once), so the shares
				// are never counted over an empty window.
				if mine%callersChunk == 0 && total.Add(callersChunk) >= target && started.Load() == int64(g) {
					ended.Store(true)
					break
				}
			}
			total.Add(mine % callersChunk)
			grants[i] = inWindow
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
