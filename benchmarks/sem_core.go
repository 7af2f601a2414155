package benchmarks

import (
	"context"
	"sync"

	generic "github.com/compio-sync/gosync/backend-generic"
	"github.com/compio-sync/gosync/backend-generic/semaphore"
	"github.com/compio-sync/gosync/core"
)

// coreNew adapts a core.Backend constructor into a Contender.New. The backend
// is created once, on first use, and shared by every semaphore the contender
// makes; a constructor error is returned by every call.
func coreNew(newBackend func() (core.Backend, error), opts ...core.Option) func(int) (Sem, error) {
	var (
		once sync.Once
		b    core.Backend
		err  error
	)
	return func(permits int) (Sem, error) {
		once.Do(func() { b, err = newBackend() })
		if err != nil {
			return nil, err
		}
		return coreSem{core.NewSemaphore(permits, b, opts...)}, nil
	}
}

// coreSem drives a core.Semaphore the x/sync way: permits are returned with
// Semaphore.Release rather than through the Permit.
type coreSem struct{ s *core.Semaphore }

func (c coreSem) Acquire(ctx context.Context, n int) error {
	if n == 1 {
		_, err := c.s.Acquire(ctx)
		return err
	}
	_, err := c.s.AcquireN(ctx, n)
	return err
}

func (c coreSem) TryAcquire(n int) bool {
	if n == 1 {
		_, ok := c.s.TryAcquire()
		return ok
	}
	_, ok := c.s.TryAcquireN(n)
	return ok
}

func (c coreSem) Release(n int) { c.s.Release(n) }

func newDropIn(permits int) (Sem, error) {
	return dropInSem{semaphore.NewWeighted(int64(permits))}, nil
}

// dropInSem is gosync's drop-in replacement for x/sync's Weighted, built on
// core and the generic backend.
type dropInSem struct{ w *semaphore.Weighted }

func (s dropInSem) Acquire(ctx context.Context, n int) error { return s.w.Acquire(ctx, int64(n)) }
func (s dropInSem) TryAcquire(n int) bool                    { return s.w.TryAcquire(int64(n)) }
func (s dropInSem) Release(n int)                            { s.w.Release(int64(n)) }

// newGeneric is the core+generic contender's constructor.
var newGeneric = coreNew(newGenericBackend)

// newGenericThroughput is core+generic created WithThroughputOverFairness:
// the opt-in mode whose Release yields after a contended handoff.
var newGenericThroughput = coreNew(newGenericBackend, core.WithThroughputOverFairness())

// newGenericStriped is core+generic created WithStripes: free permits in
// per-processor lanes once the state word is contended.
var newGenericStriped = coreNew(newGenericBackend, core.WithStripes())

func newGenericBackend() (core.Backend, error) { return generic.New(), nil }
