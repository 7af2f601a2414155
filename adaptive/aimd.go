package adaptive

import (
	"fmt"
	"time"
)

// An AIMDOption tunes AIMD.
type AIMDOption func(*aimd)

// AIMDBackoff sets the factor a drop multiplies the limit by (default 0.9).
// AIMD panics with a message starting "adaptive:" unless 0.5 <= ratio < 1.
func AIMDBackoff(ratio float64) AIMDOption {
	return func(a *aimd) {
		if !(ratio >= 0.5 && ratio < 1) {
			panic(fmt.Sprintf("adaptive: AIMDBackoff(%v): want 0.5 <= ratio < 1", ratio))
		}
		a.backoff = ratio
	}
}

// AIMDTimeout sets the RTT above which a Success counts as a drop (default
// 5 s). AIMD panics with a message starting "adaptive:" unless d > 0.
func AIMDTimeout(d time.Duration) AIMDOption {
	return func(a *aimd) {
		if d <= 0 {
			panic(fmt.Sprintf("adaptive: AIMDTimeout(%v): want a positive duration", d))
		}
		a.timeout = d
	}
}

// AIMD returns the additive-increase, multiplicative-decrease algorithm of
// TCP's congestion avoidance, with the rules and defaults of Netflix's
// concurrency-limits AIMDLimit (concurrency-limits-core,
// com/netflix/concurrency/limits/limit/AIMDLimit.java):
//
//	drop, or RTT > timeout:      limit = floor(limit × backoff)   (backoff 0.9, timeout 5 s)
//	else if inflight×2 >= limit: limit = limit + 1
//	else:                        unchanged (the work does not use the limit)
//
// Like Netflix's, it moves per sample, not per round trip as TCP does: a
// burst of drops from one overloaded moment cuts once per drop, and the
// increase runs at one per sample, so a limit roughly doubles per round
// trip while it grows. AIMD sees only drops, so it
// finds the limit where work starts to fail, not where latency starts to
// rise. Default Limits: {Min: 20, Max: 200, Initial: 20}.
func AIMD(opts ...AIMDOption) Algorithm {
	a := &aimd{backoff: 0.9, timeout: 5 * time.Second}
	for _, o := range opts {
		o(a)
	}
	return a
}

type aimd struct {
	backoff float64
	timeout time.Duration
}

func (a *aimd) DefaultLimits() Limits { return Limits{Min: 20, Max: 200, Initial: 20} }

func (a *aimd) Update(s Sample) int {
	switch {
	case s.Dropped || s.RTT > a.timeout:
		return int(float64(s.Limit) * a.backoff)
	case s.Inflight*2 >= s.Limit:
		return s.Limit + 1
	default:
		return s.Limit
	}
}
