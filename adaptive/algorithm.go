package adaptive

import "time"

// A Sample is what an Algorithm learns from one Token that ended with
// Success or Drop.
type Sample struct {
	// Start is when the Token was granted, on the Limiter's clock.
	Start time.Time
	// RTT is the time from the grant to Success or Drop, never negative.
	RTT time.Duration
	// Inflight is the number of permits held through the Limiter just after
	// this Token was granted, its own included.
	Inflight int
	// Permits is the number of permits the Token held.
	Permits int
	// Limit is the limit in force when the sample is given to Update.
	Limit int
	// Dropped reports that the Token ended with Drop.
	Dropped bool
}

// An Algorithm decides the limit. The Limiter calls Update once per Token
// that ends with Success or Drop, one call at a time, and sets the limit
// to its result clamped to the Limiter's Limits (the next Sample's Limit
// shows the clamped value). An Algorithm keeps whatever state it needs; it
// need not be safe for concurrent use, and belongs to one Limiter.
//
// An Algorithm may also implement DefaultLimiter, to supply the Limits a
// Limiter uses when New is given no WithLimits.
type Algorithm interface {
	Update(s Sample) (newLimit int)
}

// Fixed returns an Algorithm that keeps the limit at n: a Limiter with it
// still counts outcomes, bounds its queue and sheds by deadline, but never
// adapts. Its default Limits are {n, n, n}. It panics with a message
// starting "adaptive:" if n < 1.
func Fixed(n int) Algorithm {
	Limits{Min: n, Max: n, Initial: n}.check("Fixed")
	return fixed(n)
}

type fixed int

func (f fixed) Update(Sample) int     { return int(f) }
func (f fixed) DefaultLimits() Limits { return Limits{Min: int(f), Max: int(f), Initial: int(f)} }
