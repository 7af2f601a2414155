package benchmarks

import (
	"errors"
	"runtime"
	"sync/atomic"
	"testing"
)

// BenchmarkFloor measures the physical floors every contender is read
// against, in the same run:
//   - op=atomic-cas-add: one compare-and-swap plus one add on a shared
//     word, the least an uncontended lock-free Acquire+Release can cost;
//   - op=atomic-2core: the same word hammered from two CPUs at once: two
//     goroutines (RunParallel with SetParallelism(1) at GOMAXPROCS=2; one
//     per P in general), started together, each take a unit with a
//     Load+CAS decrement and return it with a Load+CAS increment, on a
//     word starting at 64 so neither ever waits.
//     Every operation moves the word's cache line between the cores; this
//     is the least a lock-free semaphore can cost with two running
//     goroutines and an empty critical section (ns/op is wall time per
//     take+return over both goroutines);
//   - op=chan-pingpong: a token bounced between two goroutines over
//     unbuffered channels (ns/op is a round trip; ns/handoff is half);
//   - op=futex-pingpong: the same between two OS threads with raw futex
//     wait/wake (Linux only): the kernel's wake-up cost.
func BenchmarkFloor(b *testing.B) {
	b.Run("op=atomic-cas-add", func(b *testing.B) {
		var avail atomic.Int64
		avail.Store(1)
		b.ReportAllocs()
		for b.Loop() {
			for {
				v := avail.Load()
				if v > 0 && avail.CompareAndSwap(v, v-1) {
					break
				}
			}
			avail.Add(1)
		}
	})
	b.Run("op=atomic-2core", func(b *testing.B) {
		var avail, ready atomic.Int64
		avail.Store(64)
		procs := int64(runtime.GOMAXPROCS(0))
		b.ReportAllocs()
		b.SetParallelism(1)
		b.RunParallel(func(pb *testing.PB) {
			// Start together: without this barrier the first goroutine can
			// take most iterations before the second is scheduled, and the
			// run measures one core instead of two.
			ready.Add(1)
			for ready.Load() < procs {
				runtime.Gosched()
			}
			for pb.Next() {
				for { // take: the word never drops below 62, so this never waits
					v := avail.Load()
					if v > 0 && avail.CompareAndSwap(v, v-1) {
						break
					}
				}
				for { // return
					v := avail.Load()
					if avail.CompareAndSwap(v, v+1) {
						break
					}
				}
			}
		})
	})
	b.Run("op=chan-pingpong", func(b *testing.B) {
		ping, pong := make(chan struct{}), make(chan struct{})
		n := b.N
		go func() {
			for range n {
				<-ping
				pong <- struct{}{}
			}
		}()
		b.ResetTimer()
		for range n {
			ping <- struct{}{}
			<-pong
		}
		b.StopTimer()
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(2*n), "ns/handoff")
	})
	b.Run("op=futex-pingpong", func(b *testing.B) {
		err := FutexPingPong(b.N)
		if errors.Is(err, errors.ErrUnsupported) {
			b.Skip(err)
		}
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(2*b.N), "ns/handoff")
	})
}
