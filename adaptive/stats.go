package adaptive

import "fmt"

// An Outcome is how an Acquire or a Token ended, as Stats counts it.
type Outcome int

const (
	// Succeeded: a Token ended with Success.
	Succeeded Outcome = iota
	// Dropped: a Token ended with Drop.
	Dropped
	// Ignored: a Token ended with Ignore.
	Ignored
	// ShedDeadline: an Acquire failed with ErrWouldMissDeadline.
	ShedDeadline
	// ShedQueueFull: an Acquire failed with core.ErrQueueFull (the bounded
	// queue of WithMaxQueue or of the semaphore).
	ShedQueueFull
	// Canceled: an Acquire ended by its context.
	Canceled
	// Failed: an Acquire failed with another error of the semaphore
	// (closed, request too large, etcd unreachable).
	Failed

	limitChanges // not an Outcome: Stats.LimitChanges
	numOutcomes
)

var outcomeNames = [...]string{"succeeded", "dropped", "ignored", "shed-deadline", "shed-queue-full", "canceled", "failed"}

// String returns the Outcome's name, suitable as a metric attribute value
// ("succeeded", "dropped", "ignored", "shed-deadline", "shed-queue-full",
// "canceled", "failed").
func (o Outcome) String() string {
	if o >= 0 && int(o) < len(outcomeNames) {
		return outcomeNames[o]
	}
	return fmt.Sprintf("Outcome(%d)", int(o))
}

// Outcomes returns every Outcome, in order.
func Outcomes() []Outcome {
	return []Outcome{Succeeded, Dropped, Ignored, ShedDeadline, ShedQueueFull, Canceled, Failed}
}

// Stats are a Limiter's counters since New: how many Acquires and Tokens
// ended with each Outcome, and how many times the limit was set.
type Stats struct {
	counts       [limitChanges]uint64
	LimitChanges uint64 // the initial limit set by New counts as one
	Limit        int    // the limit when the counters were read
}

// Count returns the number of Acquires or Tokens that ended with o.
func (s Stats) Count(o Outcome) uint64 {
	if o < 0 || o >= limitChanges {
		return 0
	}
	return s.counts[o]
}

// Stats returns the Limiter's counters. Each counter is read atomically,
// but not all at one instant. It is cheap enough for a metrics callback.
func (l *Limiter) Stats() Stats {
	var s Stats
	for o := range limitChanges {
		s.counts[o] = l.counts[o].Load()
	}
	s.LimitChanges = l.counts[limitChanges].Load()
	s.Limit = l.Limit()
	return s
}
