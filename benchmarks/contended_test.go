package benchmarks

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// Contended scenario grid: goroutines x permits x critical section.
var (
	contendedGoroutines = []int{2, 8, 32, 128, 1024}
	contendedPermits    = []int{1, 4, 64}
	contendedWork       = []time.Duration{0, 100 * time.Nanosecond, 10 * time.Microsecond}
)

// workName names a critical-section length in benchmark names.
func workName(d time.Duration) string {
	if d == 0 {
		return "0"
	}
	return d.String()
}

// BenchmarkContended measures throughput (ns/op is wall time per
// Acquire+work+Release across all goroutines) with g goroutines on a
// semaphore of the given permits, each holding its permit for about work
// (spinning, not sleeping). It also reports the p50 and p99 time spent in
// Acquire, sampled every 32nd operation. The goroutine count is exact when
// GOMAXPROCS divides it (cmd/benchreport runs with -cpu=2).
func BenchmarkContended(b *testing.B) {
	runGrid(b, contendedGoroutines, contendedPermits, contendedWork, contendedCell)
}

// runGrid runs cell as sub-benchmark g=<g>/permits=<permits>/work=<work>/c=<contender>
// for every combination of the given goroutine counts, permit counts and
// critical sections, and every contender that can model the semaphore.
// Work is calibrated before each cell, outside the timed region.
func runGrid(b *testing.B, goroutines, permitCounts []int, works []time.Duration,
	cell func(b *testing.B, s Sem, g, permits int, work time.Duration)) {
	for _, g := range goroutines {
		for _, permits := range permitCounts {
			for _, work := range works {
				name := fmt.Sprintf("g=%d/permits=%d/work=%s", g, permits, workName(work))
				b.Run(name, func(b *testing.B) {
					Work(work)
					runContenders(b, permits, nil, func(b *testing.B, s Sem) {
						cell(b, s, g, permits, work)
					})
				})
			}
		}
	}
}

// contendedCell is one cell of BenchmarkContended: g goroutines loop
// Acquire(1), about work of spinning, Release(1) on s (permits permits),
// sampling the time in Acquire every sampleEvery operations.
func contendedCell(b *testing.B, s Sem, g, permits int, work time.Duration) {
	ctx := context.Background()
	var lat sampler
	b.ReportAllocs()
	b.SetParallelism(parallelism(g))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		local := make([]time.Duration, 0, 256)
		for i := 0; pb.Next(); i++ {
			if i%sampleEvery == 0 {
				t0 := now()
				if err := s.Acquire(ctx, 1); err != nil {
					panic(err)
				}
				local = append(local, time.Duration(now()-t0))
			} else if err := s.Acquire(ctx, 1); err != nil {
				panic(err)
			}
			Work(work)
			s.Release(1)
		}
		lat.merge(local)
	})
	b.StopTimer()
	lat.report(b, "wait-")
	mustAllFree(b, s, permits)
}

// BenchmarkWeighted measures throughput with g goroutines taking mixed
// weights 1..16 from 64 permits, holding them for about 100 ns. Only
// contenders with weights take part (not the channel or sync.Mutex).
func BenchmarkWeighted(b *testing.B) {
	const permits = 64
	ctx := context.Background()
	for _, g := range []int{8, 32, 128} {
		b.Run(fmt.Sprintf("g=%d/permits=%d/n=1..16", g, permits), func(b *testing.B) {
			Work(100 * time.Nanosecond)
			runContenders(b, permits, weighted, func(b *testing.B, s Sem) {
				var lat sampler
				b.ReportAllocs()
				b.SetParallelism(parallelism(g))
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					local := make([]time.Duration, 0, 256)
					rng := uint32(time.Now().UnixNano()) | 1 // xorshift32 state, per goroutine
					for i := 0; pb.Next(); i++ {
						rng ^= rng << 13
						rng ^= rng >> 17
						rng ^= rng << 5
						n := int(rng%16) + 1
						t0 := now()
						if err := s.Acquire(ctx, n); err != nil {
							panic(err)
						}
						if i%sampleEvery == 0 {
							local = append(local, time.Duration(now()-t0))
						}
						Work(100 * time.Nanosecond)
						s.Release(n)
					}
					lat.merge(local)
				})
				b.StopTimer()
				lat.report(b, "wait-")
				mustAllFree(b, s, permits)
			})
		})
	}
}

// BenchmarkCancel is the cancellation-heavy scenario: g goroutines on 4
// permits hold them for about 1 us; every other goroutine gives each Acquire
// a 10 us deadline, which often expires in the queue. ns/op is per attempt;
// cancelled-frac is the fraction of deadline-carrying attempts that failed.
// After the run every permit must be free again.
func BenchmarkCancel(b *testing.B) {
	const (
		permits  = 4
		work     = time.Microsecond
		deadline = 10 * time.Microsecond
	)
	for _, g := range []int{8, 32, 128} {
		b.Run(fmt.Sprintf("g=%d/permits=%d/deadline=%s", g, permits, deadline), func(b *testing.B) {
			Work(work)
			runContenders(b, permits, cancellable, func(b *testing.B, s Sem) {
				var (
					id        atomicCounter
					tried     atomicCounter
					cancelled atomicCounter
				)
				b.ReportAllocs()
				b.SetParallelism(parallelism(g))
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					withDeadline := id.add(1)%2 == 0
					var nTried, nCancelled int64
					for pb.Next() {
						ctx, cancel := context.Background(), context.CancelFunc(nil)
						if withDeadline {
							ctx, cancel = context.WithTimeout(ctx, deadline)
							nTried++
						}
						if err := s.Acquire(ctx, 1); err != nil {
							if ctx.Err() == nil {
								panic(fmt.Sprintf("Acquire failed with live ctx: %v", err))
							}
							nCancelled++
						} else {
							Work(work)
							s.Release(1)
						}
						if cancel != nil {
							cancel()
						}
					}
					tried.add(nTried)
					cancelled.add(nCancelled)
				})
				b.StopTimer()
				if t := tried.load(); t > 0 {
					b.ReportMetric(float64(cancelled.load())/float64(t), "cancelled-frac")
				}
				mustAllFree(b, s, permits)
			})
		})
	}
}
