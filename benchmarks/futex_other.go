//go:build !linux

package benchmarks

import (
	"errors"
	"fmt"
	"runtime"
	"time"
)

// FutexPingPong fails on this GOOS with an error satisfying
// errors.Is(err, errors.ErrUnsupported): futexes are Linux's.
func FutexPingPong(n int) error {
	return fmt.Errorf("benchmarks: futex ping-pong needs Linux, this is GOOS=%s: %w", runtime.GOOS, errors.ErrUnsupported)
}

// FutexHandoff fails on this GOOS like FutexPingPong.
func FutexHandoff(n int, before func()) ([]time.Duration, error) {
	return nil, FutexPingPong(n)
}
