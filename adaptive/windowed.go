package adaptive

import (
	"fmt"
	"time"
)

// A WindowOption tunes Windowed.
type WindowOption func(*windowed)

// WindowTime bounds each window's length: twice the lowest RTT seen in
// the window, clamped to [min, max] (default 1 s and 1 s). Windowed panics
// with a message starting "adaptive:" unless 0 <= min <= max and max > 0.
func WindowTime(min, max time.Duration) WindowOption {
	return func(w *windowed) {
		if min < 0 || max <= 0 || min > max {
			panic(fmt.Sprintf("adaptive: WindowTime(%v, %v): want 0 <= min <= max, max > 0", min, max))
		}
		w.minTime, w.maxTime = min, max
	}
}

// WindowSize sets the fewest samples a window needs to count (default
// 10); a window with fewer is discarded. Windowed panics with a message
// starting "adaptive:" if n < 1.
func WindowSize(n int) WindowOption {
	return func(w *windowed) {
		if n < 1 {
			panic(fmt.Sprintf("adaptive: WindowSize(%d): want at least 1", n))
		}
		w.size = n
	}
}

// Windowed returns an Algorithm that gives alg one sample per window
// instead of one per Token, after Netflix's concurrency-limits WindowedLimit
// (concurrency-limits-core, com/netflix/concurrency/limits/limit/WindowedLimit.java):
// a window collects the samples whose RTT is at least 100 µs; it closes
// with the first sample that ends after its deadline, and alg gets one
// Sample with the window's average RTT, its largest Inflight, and Dropped
// if any sample was dropped. The next window's deadline is that end plus
// twice the lowest RTT of the closed window, clamped by WindowTime. The
// limit changes at most once per window, so a window longer than the
// round trip lets each change be measured before the next. Its default
// Limits are alg's.
//
// One difference: a window that reaches its deadline with fewer than
// WindowSize samples stays open until it has them, where WindowedLimit
// discards it; a low limit with windows short enough to see fewer samples
// than that would otherwise never change.
func Windowed(alg Algorithm, opts ...WindowOption) Algorithm {
	if alg == nil {
		panic("adaptive: Windowed(nil)")
	}
	w := &windowed{alg: alg, minTime: time.Second, maxTime: time.Second, size: 10}
	for _, o := range opts {
		o(w)
	}
	return w
}

// minWindowRTT is WindowedLimit's minRttThreshold: shorter samples are
// timing noise, not latency.
const minWindowRTT = 100 * time.Microsecond

type windowed struct {
	alg              Algorithm
	minTime, maxTime time.Duration
	size             int

	next     time.Time // the current window's deadline; zero before the first sample
	count    int
	sum      time.Duration
	minRTT   time.Duration
	inflight int
	dropped  bool
}

func (w *windowed) DefaultLimits() Limits {
	if d, ok := w.alg.(DefaultLimiter); ok {
		return d.DefaultLimits()
	}
	return Limits{Min: 1, Max: maxLimit, Initial: 1}
}

func (w *windowed) Update(s Sample) int {
	if s.RTT < minWindowRTT {
		return s.Limit
	}
	if w.count == 0 || s.RTT < w.minRTT {
		w.minRTT = s.RTT
	}
	w.count++
	w.sum += s.RTT
	w.inflight = max(w.inflight, s.Inflight)
	w.dropped = w.dropped || s.Dropped
	end := s.Start.Add(s.RTT)
	if !end.After(w.next) || w.count < w.size {
		return s.Limit
	}
	agg := Sample{Start: s.Start, RTT: w.sum / time.Duration(w.count), Inflight: w.inflight, Permits: s.Permits, Limit: s.Limit, Dropped: w.dropped}
	w.next = end.Add(min(max(2*w.minRTT, w.minTime), w.maxTime))
	w.count, w.sum, w.inflight, w.dropped = 0, 0, 0, false
	return w.alg.Update(agg)
}
