package shared

// SetEnterHook makes the lock paths of TryAcquireN and Release call f
// after they registered the operation and before they take the region
// lock (nil: no hook). Not safe to call while either runs.
func SetEnterHook(f func()) { enterHook = f }

// PoolDrained reports whether the handle's pool word has its drained bit
// set (a snapshot; it reads the word even after Detach began).
func (s *Semaphore) PoolDrained() bool { return s.poolw.Load()&poolDrained != 0 }
