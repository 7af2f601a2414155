package fleet

import (
	"fmt"
	"time"
)

// PermitLease returns the lease a Permit's key is attached to.
func PermitLease(p *Permit) int64 {
	p.s.mu.Lock()
	defer p.s.mu.Unlock()
	return p.lease
}

// SetMutant makes s deliberately broken, for the mutant tests: "" (none),
// "GrantByArrival", "KeepOnCancel" or "SilentLoss".
func SetMutant(s *Semaphore, name string) {
	m, ok := map[string]int32{"": mutNone, "GrantByArrival": mutGrantByArrival, "KeepOnCancel": mutKeepOnCancel, "SilentLoss": mutSilentLoss}[name]
	if !ok {
		panic(fmt.Sprintf("fleet: unknown mutant %q", name))
	}
	s.mut.Store(m)
}

// SetClock replaces the clock that stamps s's queue keys; call it before
// the first Acquire.
func SetClock(s *Semaphore, now func() time.Time) { s.now = now }

// WatchStarts returns how many watches s has opened.
func WatchStarts(s *Semaphore) int64 { return s.watchStarts.Load() }
