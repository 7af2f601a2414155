// Package benchmarks compares gosync's core.Semaphore on every backend with
// the semaphores Go users would pick instead: golang.org/x/sync/semaphore,
// a buffered channel and, for one permit, sync.Mutex as the unfair floor.
//
// The benchmarks live in this package's _test.go files and drive every
// contender through the small [Sem] interface; [Contenders] is the registry,
// so adding a contender is one line. Physical floors (an atomic
// compare-and-swap plus add, a Go channel ping-pong, a raw futex ping-pong
// between two locked OS threads on Linux) are measured in the same run, so
// that results are read as ratios, never as absolute times.
//
// The program in cmd/benchreport runs the benchmarks with fixed iteration
// counts, prints one table per scenario with every contender as a ratio to
// x/sync's Weighted, and ends with the verdict: the cells where core is
// slower than a buffered channel or x/sync, and README.md's claims checked
// against the run. It also draws charts; see README.md.
package benchmarks
