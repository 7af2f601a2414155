package shared

import "fmt"

// A RegionWaiter is a Waiter that must be told which shared regions its
// words live in, because the operating system cannot wait on an address in
// shared memory across processes: backend-iocp's WordWaiter on Windows
// names one event after each word (the region's key plus the word's
// offset), so it has to map a word's address back to its region. Linux
// waiters key futexes by the shared page and do not implement it.
//
// Guarantees the semaphore gives a RegionWaiter: AddRegion is called with
// the whole mapping before any Wait or Wake on a word inside it, with a key
// that every process mapping the same region passes (on Windows, the
// mapping's path under a prefix no file mapping's name has: see regionKey
// in open_windows.go), and RemoveRegion with the same mem after the last
// Wait or Wake on it has returned and before the mapping goes away. A
// process may map one region more than once (one mapping per handle); each
// mapping is added and removed on its own.
//
// Obligations: AddRegion returns an error only if the waiter can never wait
// on the region (the Open then fails with it); RemoveRegion releases what
// AddRegion took. Both must be safe for concurrent use with each other and
// with Wait and Wake on other regions.
type RegionWaiter interface {
	Waiter
	AddRegion(key string, mem []byte) error
	RemoveRegion(mem []byte)
}

// bindRegion tells w about r's mapping if w is a RegionWaiter, and returns
// unmap extended to remove it again first; otherwise it returns unmap as is.
func bindRegion(w Waiter, key string, r *region, unmap func() error) (func() error, error) {
	rw, ok := w.(RegionWaiter)
	if !ok {
		return unmap, nil
	}
	if err := rw.AddRegion(key, r.mem); err != nil {
		return unmap, fmt.Errorf("shared: open %s: the waiter cannot wait on this region: %w", key, err)
	}
	return func() error {
		rw.RemoveRegion(r.mem)
		return unmap()
	}, nil
}
