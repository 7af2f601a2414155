// Package adaptive steers a semaphore's limit from the latency its holders
// measure, the way TCP congestion control steers a window: a Limiter wraps
// a strict FIFO, weighted semaphore (a *core.Semaphore, a *shared.Semaphore
// or a *fleet.Semaphore), hands out Tokens instead of permits, and after
// every Token that ends with a sample asks an Algorithm (AIMD, Vegas,
// Gradient2, Fixed, or your own; Windowed gives any of them one sample
// per window) for the new limit, which it sets with the semaphore's
// SetMaxPermits. Queueing, FIFO order, weights, cancellation,
// Close and the bounded queue stay the semaphore's.
//
// With WithDeadlineShedding, an Acquire whose context deadline comes sooner
// than the wait the Limiter estimates (Little's law: the permits queued
// ahead times the recent service time over the limit) fails at once with
// ErrWouldMissDeadline instead of queueing for a wait it cannot survive.
//
// Group is a weighted errgroup on a core.Semaphore: each Go queues in FIFO
// order for its weight, the first error cancels the rest, and Wait returns
// that error.
//
// docs/adaptive.md says when to use which algorithm, and when a fixed limit
// is the better choice.
package adaptive
