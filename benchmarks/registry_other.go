//go:build !linux && !windows

package benchmarks

// platformContenders are the contenders that exist only on this GOOS: none.
var platformContenders = []Contender{}
