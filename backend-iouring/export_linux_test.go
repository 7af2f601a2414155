package iouring

// InFlight returns how many waits are in the ring with no result delivered.
func InFlight(b *Backend) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.inflight)
}
