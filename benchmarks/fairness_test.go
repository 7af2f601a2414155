package benchmarks

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// overtakeSlack is how much earlier another goroutine must have started
// waiting for a grant to count as a FIFO violation. Requests that start
// within the slack of each other are concurrent and may be granted in either
// order; the slack is far above the few nanoseconds between taking the
// timestamp and joining the queue, and far below sync.Mutex's 1 ms
// starvation threshold. A goroutine whose OS thread is descheduled between
// the two can still produce a false violation on a noisy machine.
const overtakeSlack = 20 * time.Microsecond

// BenchmarkFairness runs g goroutines on one permit (critical section about
// 100 ns). Once every goroutine has been granted the permit at least once
// (so that none is merely waiting for a CPU to start on), it counts a fixed
// window of b.N grants and reports:
//   - overtaken: grants that went to a goroutine while another had started
//     asking more than overtakeSlack earlier and was still waiting. This is
//     request-order fairness as a user sees it: it counts barging, but also
//     delays before a request joins the queue (a runtime lock, a
//     descheduled OS thread), so a strictly FIFO queue can score above 0;
//     BenchmarkFIFO measures queue order exactly;
//   - grant-max/min: the largest per-goroutine grant count over the smallest
//     (a zero minimum counts as one);
//   - jain: Jain's fairness index of the grant counts (1 is equal shares);
//   - starved: goroutines granted nothing in the window.
func BenchmarkFairness(b *testing.B) {
	ctx := context.Background()
	for _, g := range []int{8, 32} {
		b.Run(fmt.Sprintf("g=%d/permits=1", g), func(b *testing.B) {
			Work(100 * time.Nanosecond)
			runContenders(b, 1, nil, func(b *testing.B, s Sem) {
				var (
					since      = make([]atomic.Int64, g) // when goroutine i started waiting; 0 if not waiting
					grants     = make([]int64, g)        // written only while holding the permit
					granted    int64                     // likewise: grants in the window
					warmed     int                       // likewise: goroutines granted before the window
					seen       = make([]bool, g)         // likewise
					violations int64                     // likewise
					stop       atomic.Bool
					wg         sync.WaitGroup
				)
				window := int64(b.N)
				b.ResetTimer()
				for i := range g {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for !stop.Load() {
							mine := now()
							since[i].Store(mine)
							if err := s.Acquire(ctx, 1); err != nil {
								panic(err)
							}
							// Holding the only permit: the bookkeeping below is
							// serialised by the semaphore itself.
							since[i].Store(0)
							if warmed == g && granted < window {
								for j := range since {
									if w := since[j].Load(); w != 0 && w+int64(overtakeSlack) < mine {
										violations++
										break
									}
								}
							}
							if !seen[i] {
								seen[i] = true
								warmed++
							}
							if warmed == g && granted < window {
								grants[i]++
								granted++
								if granted == window {
									stop.Store(true)
								}
							}
							Work(100 * time.Nanosecond)
							s.Release(1)
						}
					}()
				}
				wg.Wait()
				b.StopTimer()
				ratio, starved := MaxMinRatio(grants)
				b.ReportMetric(float64(violations), "overtaken")
				b.ReportMetric(ratio, "grant-max/min")
				b.ReportMetric(JainIndex(grants), "jain")
				b.ReportMetric(float64(starved), "starved")
			})
		})
	}
}
