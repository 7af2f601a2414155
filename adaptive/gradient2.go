package adaptive

import "fmt"

// A Gradient2Option tunes Gradient2.
type Gradient2Option func(*gradient2)

// Gradient2Smoothing sets how much of each new estimate is taken (default
// 0.2). Gradient2 panics with a message starting "adaptive:" unless
// 0 < f <= 1.
func Gradient2Smoothing(f float64) Gradient2Option {
	return func(g *gradient2) {
		if !(f > 0 && f <= 1) {
			panic(fmt.Sprintf("adaptive: Gradient2Smoothing(%v): want 0 < f <= 1", f))
		}
		g.smoothing = f
	}
}

// Gradient2QueueSize sets the growth allowed per sample while latency
// holds (default 4). Gradient2 panics with a message starting "adaptive:"
// if n < 0.
func Gradient2QueueSize(n int) Gradient2Option {
	return func(g *gradient2) {
		if n < 0 {
			panic(fmt.Sprintf("adaptive: Gradient2QueueSize(%d): want at least 0", n))
		}
		g.queueSize = n
	}
}

// Gradient2LongWindow sets the number of samples the long-term RTT
// averages over (default 600). Gradient2 panics with a message starting
// "adaptive:" if n < 1.
func Gradient2LongWindow(n int) Gradient2Option {
	return func(g *gradient2) {
		if n < 1 {
			panic(fmt.Sprintf("adaptive: Gradient2LongWindow(%d): want at least 1", n))
		}
		g.window = n
	}
}

// Gradient2 returns the gradient algorithm of Netflix's concurrency-limits
// Gradient2Limit (concurrency-limits-core,
// com/netflix/concurrency/limits/limit/Gradient2Limit.java), which compares
// each RTT with a long-term average RTT instead of a minimum:
//
//	long     = exponential average of RTT over 600 samples (the first 10 averaged plainly)
//	if long / rtt > 2: long = long × 0.9          (recover after a load spike)
//	inflight < limit/2:  unchanged                 (the work does not use the limit)
//	gradient = max(0.5, min(1, long / rtt))
//	new      = limit × gradient + queueSize        (queueSize 4)
//	limit    = limit × (1 − smoothing) + new × smoothing   (smoothing 0.2)
//
// One difference: Netflix's Gradient2 ignores drops; here a Drop counts
// as the gradient's floor 0.5, because the long-term RTT of a Limiter that starts overloaded is
// the overloaded RTT, and without drops such a limit would never come
// down. Default Limits: {Min: 20, Max: 200, Initial: 20}.
//
// Under sustained overload the long-term RTT follows the current one, so
// the limit creeps up by about queueSize × smoothing per long window
// (docs/adaptive.md); drops or a Max stop it.
func Gradient2(opts ...Gradient2Option) Algorithm {
	g := &gradient2{smoothing: 0.2, queueSize: 4, window: 600}
	for _, o := range opts {
		o(g)
	}
	return g
}

type gradient2 struct {
	smoothing float64
	queueSize int
	window    int
	est       float64
	long      float64 // the long-term RTT, in ns
	count     int     // samples in long, up to the warm-up of 10
	sum       float64
}

func (g *gradient2) DefaultLimits() Limits { return Limits{Min: 20, Max: 200, Initial: 20} }

// addLong is concurrency-limits' ExpAvgMeasurement(window, 10).
func (g *gradient2) addLong(rtt float64) float64 {
	if g.count < 10 {
		g.count++
		g.sum += rtt
		g.long = g.sum / float64(g.count)
	} else {
		f := 2 / float64(g.window+1)
		g.long = g.long*(1-f) + rtt*f
	}
	return g.long
}

func (g *gradient2) Update(s Sample) int {
	if s.RTT <= 0 {
		return s.Limit
	}
	if int(g.est) != s.Limit {
		// First sample, or the Limiter clamped the last answer.
		g.est = float64(s.Limit)
	}
	short := float64(s.RTT)
	long := g.addLong(short)
	if long/short > 2 {
		g.long *= 0.9
	}
	var gradient float64
	switch {
	case s.Dropped:
		gradient = 0.5
	case float64(s.Inflight) < g.est/2:
		return int(g.est)
	default:
		gradient = max(0.5, min(1, long/short))
	}
	next := g.est*gradient + float64(g.queueSize)
	g.est = g.est*(1-g.smoothing) + next*g.smoothing
	return int(g.est)
}
