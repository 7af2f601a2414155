package benchmarks

import (
	"sync"
	"sync/atomic"
	"time"
)

// Work busy-spins for about d, on the calling goroutine's CPU, without
// blocking or yielding: the "critical section" of the contended benchmarks.
// It does nothing for d <= 0. The loop count per nanosecond is calibrated
// once, on first use, so d is approximate (a noisy machine stretches it).
func Work(d time.Duration) {
	if d <= 0 {
		return
	}
	n := int(float64(d) * spinsPerNanosecond())
	spin(n)
}

// sink keeps the compiler from deleting the spin loop.
var sink atomic.Uint64

// spin runs n iterations of a data-dependent loop the compiler cannot
// remove or vectorise.
func spin(n int) {
	x := uint64(n) | 1
	for i := 0; i < n; i++ {
		x = x*6364136223846793005 + 1442695040888963407
	}
	if x == 0 { // practically never; makes x observable.
		sink.Store(x)
	}
}

var (
	calibrateOnce sync.Once
	spinsPerNs    float64
)

// spinsPerNanosecond measures how many spin iterations take a nanosecond,
// taking the fastest of several trials so that preemption during
// calibration does not shorten every later Work.
func spinsPerNanosecond() float64 {
	calibrateOnce.Do(func() {
		const n = 1 << 20
		best := time.Duration(1<<63 - 1)
		for range 7 {
			start := time.Now()
			spin(n)
			if d := time.Since(start); d < best && d > 0 {
				best = d
			}
		}
		spinsPerNs = float64(n) / float64(best)
	})
	return spinsPerNs
}
