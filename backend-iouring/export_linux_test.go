package iouring

// InFlight returns how many waits are in the ring with no result delivered.
func InFlight(b *Backend) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.inflight)
}

// WordState returns a Parker's futex word: 0 empty, 1 token, 2 waiting in
// the kernel, 3 waiting in Go.
func WordState(p any) uint32 { return p.(*parker).word.Load() }

// Sweeping reports whether a goPhase sweeper goroutine is running.
func Sweeping(b *Backend) bool {
	b.gp.mu.Lock()
	defer b.gp.mu.Unlock()
	return b.gp.sweeping
}

// GoPhaseThreshold returns the age, in sweeps, at which a sweep demotes a
// Go wait when live waits are registered and rate registrations per sweep
// came recently.
func GoPhaseThreshold(live, rate int) uint64 { return threshold(live, rate) }

// Sweep runs one sweep of b's Go phase now, as the sweeper's tick does.
func Sweep(b *Backend) {
	b.gp.mu.Lock()
	defer b.gp.mu.Unlock()
	b.gp.sweepLocked()
}

// IsMember reports whether p is in b's Go-phase members, where the sweeper
// and Close reach it.
func IsMember(b *Backend, p any) bool {
	b.gp.mu.Lock()
	defer b.gp.mu.Unlock()
	for _, m := range b.gp.members {
		if m == p.(*parker) {
			return true
		}
	}
	return false
}

// SetHooks sets the hook enter runs when a member's Park found itself a
// member, and the one a sweep runs before dropping an idle member (nil
// removes them).
func SetHooks(entered func(), leaving func(p any)) {
	testHookEntered = entered
	testHookLeaving = nil
	if leaving != nil {
		testHookLeaving = func(p *parker) { leaving(p) }
	}
}

// SetEpoch sets b's Go-phase epoch, as if e sweeps had run.
func SetEpoch(b *Backend, e uint64) {
	b.gp.mu.Lock()
	defer b.gp.mu.Unlock()
	b.gp.epoch.Store(e)
}

// DemotionSent reports whether a sweep has demoted p's latest Go wait (its
// signal may not have been acted on yet).
func DemotionSent(p any) bool {
	pp := p.(*parker)
	return pp.gp.demote.Load() == pp.gp.stamp.Load()
}

// RoomState returns, read together, how many submitters are asleep waiting
// for SQ room, how many were woken and have not run yet, and how many waits
// are registered (pushed, with no result delivered).
func RoomState(b *Backend) (waiting, woken, inflight int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.roomWaiting, b.roomWoken, len(b.inflight)
}

// FutileRoomWakeups returns how many times a submitter woke from its wait
// for SQ room, found the SQ still full with a flush running and waited
// again.
func FutileRoomWakeups(b *Backend) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.futileWakeups
}

// SetFlushHook sets the hook the flusher runs after each io_uring_enter,
// before it retakes the submission lock (nil removes it).
func SetFlushHook(f func()) { testHookFlush = f }
