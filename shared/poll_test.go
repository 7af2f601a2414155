package shared

import (
	"runtime"
	"testing"
	"time"
)

// TestDeepQueuePollsSpreadOut: 10,000 waiters that queue at once must not
// come due for their backstop poll together, nor poll at a rate that grows
// with the queue's depth: each poll cancels and resubmits a kernel wait,
// and a burst of them delays the grants behind it.
func TestDeepQueuePollsSpreadOut(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("on Windows the far poll stays flat: it also recovers a wake lost when its waker exits")
	}
	const depth = 10_000
	const window = 50 * time.Millisecond // pollJitter: the spread a flat poll gets
	var rate float64                     // polls per second
	due := map[time.Duration]int{}       // polls falling due per window after all queue at once
	for d := uint64(0); d < depth; d++ {
		p := pollAt(d)
		rate += float64(time.Second) / float64(p)
		due[p/window]++
	}
	burst := 0
	for _, n := range due {
		burst = max(burst, n)
	}
	if rate > 2000 {
		t.Errorf("%d queued waiters poll %.0f times a second, want at most 2000", depth, rate)
	}
	if burst > 2000 {
		t.Errorf("%d waiters queued at once: %d of them come due in one %v window, want at most 2000", depth, burst, window)
	}
	if got := pollAt(0); got != pollInterval {
		t.Errorf("pollAt(head) = %v, want %v", got, pollInterval)
	}
	if got := pollAt(^uint64(0)); got != pollInterval {
		t.Errorf("pollAt(a place ahead of a stale head) = %v, want %v", got, pollInterval)
	}
	if got := pollAt(1 << 40); got != pollFarMax {
		t.Errorf("pollAt(2^40) = %v, want the cap %v", got, pollFarMax)
	}
	t.Logf("%d waiters: %.0f polls a second, at most %d due in one %v window", depth, rate, burst, window)
}
