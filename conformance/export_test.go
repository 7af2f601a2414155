package conformance

import (
	"math"

	"github.com/compio-sync/gosync/core"
)

// Names of the limiter mutants, shared with the mutant zoo (zoo_test.go).
const (
	MutantQueueBoundOffByOne = "admits one waiter past the queue bound"
	MutantBulkIgnoresMax     = "takes every free permit, ignoring max"
)

// limiterMutants break the QueueBound and Bulk families' view of core, one
// documented behaviour each; each must be caught by the subtests the zoo
// names for it.
var limiterMutants = map[string]limiterOps{
	MutantQueueBoundOffByOne: {
		withMaxWaiters: func(k int) core.Option { return core.WithMaxWaiters(k + 1) },
		setMaxWaiters:  func(s *core.Semaphore, k int) { s.SetMaxWaiters(k + 1) },
		tryAcquireUpTo: coreLimiter.tryAcquireUpTo,
	},
	MutantBulkIgnoresMax: {
		withMaxWaiters: coreLimiter.withMaxWaiters,
		setMaxWaiters:  coreLimiter.setMaxWaiters,
		tryAcquireUpTo: func(s *core.Semaphore, max int) core.Permit {
			if max == 0 {
				return core.Permit{}
			}
			return s.TryAcquireUpTo(math.MaxInt)
		},
	},
}

// UseLimiterMutant makes the QueueBound and Bulk families drive the limiter
// mutant called name; it does nothing if name is not one (a Backend mutant).
// The mutant zoo calls it in its child process only.
func UseLimiterMutant(name string) {
	if m, ok := limiterMutants[name]; ok {
		limiter = m
	}
}
