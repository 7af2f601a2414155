// Package semaphore is a drop-in replacement for golang.org/x/sync/semaphore:
// the same API and documented behaviour, built on gosync's core.Semaphore with
// the pure-Go backend. Migrating is changing one import path:
//
//	import "golang.org/x/sync/semaphore"
//
// becomes
//
//	import "github.com/compio-sync/gosync/backend-generic/semaphore"
//
// What changes underneath: Acquire, TryAcquire and Release are lock-free
// while nobody waits (x/sync takes a mutex on every call) and small enough
// to inline into the caller, so each costs one call into core, as core's
// own methods do; a blocked Acquire allocates nothing once the semaphore is
// warm (x/sync allocates a channel and a list element); and waiters are
// served in strict FIFO order with direct handoff, as in x/sync.
//
// When goroutines on several cores take plentiful permits in turn, core's
// stripes engage on their own, as for core.Semaphore: free permits spread
// over per-processor lanes, so that cores stop moving one cache line
// between them. A Release still panics the moment more is released than is
// held, as x/sync's does: a lane takes back only permits that its holders'
// credit covers, and any other Release is judged against every free
// permit.
//
// Differences, all in cases x/sync leaves undocumented: a negative weight
// panics instead of corrupting the count; sizes above core.MaxPermitsLimit
// (about 3.5e13) panic in NewWeighted; Acquire(ctx, 0) succeeds at once even
// while others wait (x/sync queues it behind them).
//
// For Close, resize, introspection and exactly-once Permits, use
// core.Semaphore directly.
package semaphore

import (
	"context"
	"fmt"
	"math"

	generic "github.com/compio-sync/gosync/backend-generic"
	"github.com/compio-sync/gosync/core"
)

// maxSize is the largest size NewWeighted accepts: core.MaxPermitsLimit, or
// less where int is 32 bits (core counts in ints, and Acquire passes a
// weight above the size as maxSize+1).
const maxSize = min(core.MaxPermitsLimit, math.MaxInt-1)

// backend is shared by every Weighted: the generic backend has no state.
var backend = generic.New()

// Weighted provides a way to bound concurrent access to a resource. The
// callers can request access with a given weight. It is safe for concurrent
// use.
type Weighted struct {
	sem *core.Semaphore
}

// NewWeighted creates a new weighted semaphore with the given maximum combined
// weight for concurrent access. It panics with a message starting
// "semaphore:" if n is negative or larger than core.MaxPermitsLimit (on
// 32-bit platforms, math.MaxInt32-1).
func NewWeighted(n int64) *Weighted {
	if n < 0 || n > maxSize {
		panic(fmt.Sprintf("semaphore: NewWeighted(%d): size must be between 0 and %d", n, maxSize))
	}
	return &Weighted{sem: core.NewSemaphore(int(n), backend, options...)}
}

// Acquire acquires the semaphore with a weight of n, blocking until resources
// are available or ctx is done. On success, returns nil. On failure, returns
// ctx.Err() and leaves the semaphore unchanged.
//
// If ctx is already done, Acquire fails even if resources are available. If
// n exceeds the semaphore's size, Acquire cannot succeed: it blocks, without
// holding up other callers, until ctx is done. Acquire panics with a message
// starting "semaphore:" if n is negative.
func (s *Weighted) Acquire(ctx context.Context, n int64) error {
	// Small enough to inline into the caller: a sign test and core's
	// AcquireN. An n above the size (clamped to maxSize+1, which fits an
	// int) is core's too-large request, which waits for ctx (waitDoomed)
	// outside the queue.
	if n < 0 {
		panic(negativeAcquire(n))
	}
	_, err := s.sem.AcquireN(ctx, int(min(n, maxSize+1)))
	return err
}

// waitDoomed is Acquire for an n above the size, which cannot succeed:
// as x/sync's, it waits for ctx rather than failing at once, and never
// queues, so it blocks nobody else. core calls it holding nothing
// (core.WithTooLarge).
func waitDoomed(ctx context.Context, _ int) error {
	if done := ctx.Done(); done != nil {
		<-done
		return ctx.Err()
	}
	select {} // x/sync blocks forever here too
}

// TryAcquire acquires the semaphore with a weight of n without blocking. On
// success, returns true. On failure, returns false and leaves the semaphore
// unchanged. It fails whenever another caller is waiting in Acquire, even if
// n would fit. It panics with a message starting "semaphore:" if n is
// negative.
func (s *Weighted) TryAcquire(n int64) bool {
	// Inlined as Acquire is: core fails an n above the size.
	if n < 0 {
		panic(negativeTryAcquire(n))
	}
	_, ok := s.sem.TryAcquireN(int(min(n, maxSize+1)))
	return ok
}

// Release releases the semaphore with a weight of n, granting it to waiting
// callers in FIFO order. It panics with "semaphore: released more than held"
// if more is released than is held, and with a message starting "semaphore:"
// if n is negative.
func (s *Weighted) Release(n int64) {
	// Small enough to inline into the caller: a sign test (and, where int
	// is 32 bits, a range test), and core's Release. core judges a release
	// of more than is held, a weight above the size included, before it
	// changes anything, and panics with x/sync's message (options). (x/sync
	// panics after it has changed its count; here the count stays exact.)
	if n < 0 || n > math.MaxInt {
		panic(badRelease(n))
	}
	s.sem.Release(int(n))
}

// negativeAcquire, negativeTryAcquire and badRelease are the panic values
// for a negative weight: errors whose message, "semaphore: <call>
// with negative weight <n>", is what the runtime prints. A value rather
// than a formatted string keeps formatting (a call) out of Release and
// TryAcquire, which then inline into the caller.
type (
	negativeAcquire    int64
	negativeTryAcquire int64
	// badRelease is negative, or (where int is 32 bits) above any size.
	badRelease int64
)

func (n negativeAcquire) Error() string    { return negativeMessage("Acquire", int64(n)) }
func (n negativeTryAcquire) Error() string { return negativeMessage("TryAcquire", int64(n)) }

func (n badRelease) Error() string {
	if n < 0 {
		return negativeMessage("Release", int64(n))
	}
	return errReleasedMoreThanHeld
}

func negativeMessage(call string, n int64) string {
	return fmt.Sprintf("semaphore: %s with negative weight %d", call, n)
}

const errReleasedMoreThanHeld = "semaphore: released more than held"

// options make every Weighted's core.Semaphore panic with x/sync's
// over-release message, without a deferred recover on the Release path.
// And a weight above the size waits for ctx (waitDoomed), as with x/sync.
var options = []core.Option{
	core.WithOverReleasePanic(errReleasedMoreThanHeld),
	core.WithTooLarge(waitDoomed),
}
