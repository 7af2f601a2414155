package adaptive

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// A VegasOption tunes Vegas.
type VegasOption func(*vegas)

// VegasSmoothing sets how much of each new estimate is taken (default 1:
// all of it). Vegas panics with a message starting "adaptive:" unless
// 0 < f <= 1.
func VegasSmoothing(f float64) VegasOption {
	return func(v *vegas) {
		if !(f > 0 && f <= 1) {
			panic(fmt.Sprintf("adaptive: VegasSmoothing(%v): want 0 < f <= 1", f))
		}
		v.smoothing = f
	}
}

// VegasProbeMultiplier sets how often the no-load RTT is re-measured:
// every jitter × multiplier × limit samples, jitter drawn from [0.5, 1)
// (default 30). Vegas panics with a message starting "adaptive:" if m < 1.
func VegasProbeMultiplier(m int) VegasOption {
	return func(v *vegas) {
		if m < 1 {
			panic(fmt.Sprintf("adaptive: VegasProbeMultiplier(%d): want at least 1", m))
		}
		v.probeMult = m
	}
}

// VegasRand sets the source of the probe jitter (default: a randomly
// seeded one). A seeded source makes a simulation repeatable.
func VegasRand(r *rand.Rand) VegasOption {
	return func(v *vegas) {
		if r == nil {
			panic("adaptive: VegasRand(nil)")
		}
		v.rand = r
	}
}

// VegasDecrease sets how the limit comes down on a drop and when the queue
// estimate exceeds 6·lg: f(limit) is the new limit, before the smoothing
// and the floor of 1 (default: limit − lg, the formula below; concurrency-
// limits' builder calls it decrease). For example, f(l) = 0.9·l comes down
// by a tenth of the limit at each decrease where the default comes down by
// log10(limit) (1 below 100): after a capacity drop, in fewer windows. An
// answer below 1 or NaN counts as 1. Vegas panics with a message starting
// "adaptive:" if f is nil.
func VegasDecrease(f func(limit float64) float64) VegasOption {
	return func(v *vegas) {
		if f == nil {
			panic("adaptive: VegasDecrease(nil)")
		}
		v.decrease = f
	}
}

// Vegas returns a delay-based algorithm after TCP Vegas, with the formula
// and defaults of Netflix's concurrency-limits VegasLimit
// (concurrency-limits-core, com/netflix/concurrency/limits/limit/VegasLimit.java).
// It keeps the lowest RTT seen as the no-load RTT and estimates the queue
// the limit builds:
//
//	queue = ceil(limit × (1 − rttNoLoad / rtt))
//	lg    = max(1, floor(log10(limit)))            (sqrt(limit) from 1000 on)
//	drop:                    limit = limit − lg   (VegasDecrease replaces it)
//	inflight×2 < limit:      unchanged (the work does not use the limit)
//	queue <= lg:             limit = limit + 6·lg  (no queue: grow fast)
//	queue <  3·lg:           limit = limit + lg
//	queue >  6·lg:           limit = limit − lg   (likewise)
//	else:                    unchanged
//	limit = (1 − smoothing) × old + smoothing × limit   (smoothing 1)
//
// Every jitter × 30 × limit samples (jitter in [0.5, 1)) it takes the
// current RTT as the no-load RTT, so that a service whose latency rose for
// good is not held to its old best. Default Limits: {Min: 1, Max: 1000,
// Initial: 20}.
//
// Vegas holds latency near the no-load RTT. It needs the no-load RTT to be
// seen: a Limiter that starts overloaded learns it only after drops bring
// the limit down (docs/adaptive.md).
func Vegas(opts ...VegasOption) Algorithm {
	v := &vegas{smoothing: 1, probeMult: 30}
	for _, o := range opts {
		o(v)
	}
	v.resetJitter()
	return v
}

type vegas struct {
	smoothing   float64
	probeMult   int
	rand        *rand.Rand
	decrease    func(limit float64) float64 // nil: limit − lg
	est         float64
	noLoad      time.Duration
	probeCount  int
	probeJitter float64
}

func (v *vegas) DefaultLimits() Limits { return Limits{Min: 1, Max: 1000, Initial: 20} }

func (v *vegas) resetJitter() {
	f := rand.Float64
	if v.rand != nil {
		f = v.rand.Float64
	}
	v.probeJitter = 0.5 + f()/2
}

// log10Root is concurrency-limits' Log10RootFunction: max(1, floor(log10
// n)) below 1000, floor(sqrt n) from there.
func log10Root(n int) float64 {
	if n < 1000 {
		if n < 10 {
			return 1
		}
		return math.Floor(math.Log10(float64(n)))
	}
	return math.Floor(math.Sqrt(float64(n)))
}

func (v *vegas) Update(s Sample) int {
	if s.RTT <= 0 {
		return s.Limit
	}
	if int(v.est) != s.Limit {
		// First sample, or the Limiter clamped the last answer.
		v.est = float64(s.Limit)
	}
	v.probeCount++
	if v.probeJitter*float64(v.probeMult)*v.est <= float64(v.probeCount) {
		v.resetJitter()
		v.probeCount = 0
		v.noLoad = s.RTT
		return int(v.est)
	}
	if v.noLoad == 0 || s.RTT < v.noLoad {
		v.noLoad = s.RTT
		return int(v.est)
	}
	queue := math.Ceil(v.est * (1 - float64(v.noLoad)/float64(s.RTT)))
	lg := log10Root(int(v.est))
	down := func() float64 {
		if v.decrease != nil {
			return v.decrease(v.est)
		}
		return v.est - lg
	}
	var next float64
	switch {
	case s.Dropped:
		next = down()
	case float64(s.Inflight)*2 < v.est:
		return int(v.est)
	case queue <= lg:
		next = v.est + 6*lg
	case queue < 3*lg:
		next = v.est + lg
	case queue > 6*lg:
		next = down()
	default:
		return int(v.est)
	}
	// At least 1, and a number (a VegasDecrease may answer NaN or ±Inf);
	// the Limiter clamps the answer to its Limits.
	if !(next >= 1) {
		next = 1
	} else if next > math.MaxInt32 {
		next = math.MaxInt32
	}
	v.est = (1-v.smoothing)*v.est + v.smoothing*next
	return int(v.est)
}
