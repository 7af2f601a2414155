package benchmarks

import (
	"context"
	"testing"
)

// BenchmarkUncontended times Acquire+Release and TryAcquire+Release by one
// goroutine on a free one-permit semaphore, driven through the Sem
// interface: every number includes two dynamic calls per operation (and core
// returns its permits with Semaphore.Release, see coreSem), which compresses
// the ratios between contenders. c=atomic is the floor (one CAS plus one add)
// driven through the same interface. BenchmarkUncontendedDirect calls each
// API directly and is what the uncontended claims are read from.
func BenchmarkUncontended(b *testing.B) {
	ctx := context.Background()
	ops := []struct {
		name string
		body func(b *testing.B, s Sem)
	}{
		{"acquire", func(b *testing.B, s Sem) {
			b.ReportAllocs()
			for b.Loop() {
				if err := s.Acquire(ctx, 1); err != nil {
					b.Fatal(err)
				}
				s.Release(1)
			}
		}},
		{"try", func(b *testing.B, s Sem) {
			b.ReportAllocs()
			for b.Loop() {
				if !s.TryAcquire(1) {
					b.Fatal("TryAcquire failed on a free semaphore")
				}
				s.Release(1)
			}
		}},
	}
	for _, op := range ops {
		b.Run("op="+op.name, func(b *testing.B) {
			runContenders(b, 1, nil, op.body)
			b.Run("c=atomic", func(b *testing.B) {
				s := new(atomicSem)
				s.avail.Store(1)
				op.body(b, s)
			})
		})
	}
}
