package conformance

import "github.com/compio-sync/gosync/core"

// limiterOps is how the QueueBound and Bulk families bound a Semaphore's
// queue and take permits in bulk. Run always uses coreLimiter, core's own
// methods. The suite's tests swap in deliberately broken variants (see
// export_test.go and zoo_test.go) to prove that each family can fail, the
// way testing/fstest is tested against odd file systems: core.Semaphore is
// concrete, so a broken limiter cannot come from a Backend.
type limiterOps struct {
	withMaxWaiters func(k int) core.Option
	setMaxWaiters  func(s *core.Semaphore, k int)
	tryAcquireUpTo func(s *core.Semaphore, max int) core.Permit
}

var coreLimiter = limiterOps{
	withMaxWaiters: core.WithMaxWaiters,
	setMaxWaiters:  (*core.Semaphore).SetMaxWaiters,
	tryAcquireUpTo: (*core.Semaphore).TryAcquireUpTo,
}

// limiter is the limiterOps the families use: coreLimiter except in the
// suite's own mutant tests.
var limiter = coreLimiter
