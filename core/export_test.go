package core

// SetYield swaps the post-handoff yield, for experiments.
func SetYield(f func()) (restore func()) {
	old := yieldFunc
	yieldFunc = f
	return func() { yieldFunc = old }
}
