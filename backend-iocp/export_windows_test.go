package iocp

// RegisteredParkers returns how many Parkers b's registry holds: those not
// yet collected, plus those whose cleanup has not run yet.
func RegisteredParkers(b *Backend) int {
	b.regMu.Lock()
	defer b.regMu.Unlock()
	return len(b.registry)
}

// SetLookedHook makes every Wait call f after its first look at the word
// found it unchanged, before the word's watch and event are looked up
// (nil removes it). Tests only; not safe for concurrent Waits.
func SetLookedHook(f func()) { testHookLooked = f }
