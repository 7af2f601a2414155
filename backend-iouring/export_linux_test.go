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
