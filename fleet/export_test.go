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

// Debug describes s's local records and its mirror, for failure messages.
func Debug(s *Semaphore) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := fmt.Sprintf("lease=%v leases=%v watches=%d resyncs=%d knownRev=%d", s.lease, s.leases, s.watchStarts.Load(), s.resyncs, s.knownRev)
	for k, l := range s.local {
		out += fmt.Sprintf("\n  local %s state=%d rev=%d n=%d", k[len(s.pfx):], l.state, l.rev, l.n)
	}
	if v := s.mirror; v != nil {
		st, inUse, waiting := v.grants(false)
		out += fmt.Sprintf("\n  mirror rev=%d max=%d closed=%v inUse=%d waiting=%d", v.rev, v.max, v.closed, inUse, waiting)
		for k, e := range v.entries {
			out += fmt.Sprintf("\n    %s cr=%d lease=%x n=%d flag=%c status=%d", k[len(s.pfx):], e.createRev, e.lease, e.n, e.flag, st[k])
		}
	}
	return out
}

// LocalWaiters returns how many of s's Acquires wait with their key in the
// queue and their own enqueue answered.
func LocalWaiters(s *Semaphore) int { return localIn(s, lsWaiting) }

func localIn(s *Semaphore, st localState) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, l := range s.local {
		if l.state == st {
			n++
		}
	}
	return n
}

// PermitKey returns the etcd key of a Permit.
func PermitKey(p *Permit) string { return p.key }

// SetLeaseTaken makes every Acquire of s call f with the lease it took,
// before registering its key.
func SetLeaseTaken(s *Semaphore, f func(leaseID int64)) { s.leaseTaken = f }

// LeaseCurrent reports whether id is still s's current lease.
func LeaseCurrent(s *Semaphore, id int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lease != nil && s.lease.id == id
}

// LocalPending returns how many of s's Acquires have registered a key whose
// enqueue has not been answered (in flight, or waiting to be sent).
func LocalPending(s *Semaphore) int { return localIn(s, lsPending) }

// MaxEnqueues is how many enqueue Txns one Semaphore sends at a time.
const MaxEnqueues = maxEnqueues
