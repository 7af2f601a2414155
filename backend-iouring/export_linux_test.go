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
func GoPhaseThreshold(live, rate int) uint64 {
	g := goPhase{live: live, rate: rate}
	return g.threshold()
}
