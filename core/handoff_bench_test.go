package core_test

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/compio-sync/gosync/core"
)

var sink atomic.Int64

// work spins for n additions and returns the sum; callers accumulate it
// locally and publish it once, so the critical section touches no shared
// cache line.
func work(n int) int {
	x := 0
	for i := range n {
		x += i
	}
	return x
}

// BenchmarkYieldModes measures the yield after a handoff (see yield in
// queue.go's unlockAndWake): 2 goroutines on 1 permit, and 32 goroutines on
// 1 or 4 permits, with an empty or short critical section, with the yield
// and without it. The goroutine counts assume GOMAXPROCS=2. Run with a
// fixed count: go test -run '^$' -bench YieldModes -benchtime=200000x -count=5
func BenchmarkYieldModes(b *testing.B) {
	ctx := context.Background()
	for _, mode := range []string{"gosched", "none"} {
		for _, c := range []struct{ goroutines, permits int }{{2, 1}, {32, 1}, {32, 4}} {
			for _, w := range []int{0, 30} {
				permits := c.permits
				b.Run(fmt.Sprintf("%s/g%d/p%d/w%d", mode, c.goroutines, permits, w), func(b *testing.B) {
					if mode == "none" {
						defer core.SetYield(func() {})()
					}
					s := core.NewSemaphore(permits, chanBackend{})
					b.SetParallelism(c.goroutines / runtime.GOMAXPROCS(0))
					b.RunParallel(func(pb *testing.PB) {
						local := 0
						for pb.Next() {
							p, _ := s.Acquire(ctx)
							local += work(w)
							p.Release()
						}
						sink.Add(int64(local))
					})
				})
			}
		}
	}
}
