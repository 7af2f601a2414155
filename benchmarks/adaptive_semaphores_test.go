package benchmarks

import (
	"github.com/compio-sync/gosync/adaptive"
	"github.com/compio-sync/gosync/core"
	"github.com/compio-sync/gosync/fleet"
	"github.com/compio-sync/gosync/shared"
)

// These compile only if adaptive.New infers the semaphore and permit types
// of each of gosync's semaphores from the semaphore alone, with no adapter.
// The check lives here because the fleet semaphore brings etcd, which the
// adaptive module itself must not depend on.
var (
	_ = func(s *core.Semaphore) *adaptive.Limiter { return adaptive.New(s, adaptive.Vegas()) }
	_ = func(s *shared.Semaphore) *adaptive.Limiter { return adaptive.New(s, adaptive.Vegas()) }
	_ = func(s *fleet.Semaphore) *adaptive.Limiter { return adaptive.New(s, adaptive.Vegas()) }
)
