package iocp

// RegisteredParkers returns how many Parkers b's registry holds: those not
// yet collected, plus those whose cleanup has not run yet.
func RegisteredParkers(b *Backend) int {
	b.regMu.Lock()
	defer b.regMu.Unlock()
	return len(b.registry)
}
