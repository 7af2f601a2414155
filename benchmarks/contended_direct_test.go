package benchmarks

import (
	"context"
	"testing"

	generic "github.com/compio-sync/gosync/backend-generic"
	"github.com/compio-sync/gosync/core"
	xsync "golang.org/x/sync/semaphore"
)

// BenchmarkContendedDirect is the cell where core loses to x/sync, two
// goroutines (GOMAXPROCS=2) taking and returning one of 64 permits with an
// empty critical section, with the APIs called directly (no Sem interface,
// no latency sampling), next to BenchmarkFloor/op=atomic-2core. It separates
// the cost of core's primary API (c=core+generic: Permit.Release, one CAS on
// the state word) from the x/sync-style Semaphore.Release(1) the Sem adapter
// uses (c=core+generic-Release(n): a load of the state word before its CAS,
// one more cache-line transfer between the cores).
func BenchmarkContendedDirect(b *testing.B) {
	ctx := context.Background()
	const permits = 64
	run := func(name string, op func()) {
		b.Run("g=2/permits=64/work=0/c="+name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetParallelism(parallelism(2))
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					op()
				}
			})
		})
	}
	w := xsync.NewWeighted(permits)
	run("xsync", func() {
		if err := w.Acquire(ctx, 1); err != nil {
			panic(err)
		}
		w.Release(1)
	})
	s := core.NewSemaphore(permits, generic.New())
	run("core+generic", func() {
		p, err := s.Acquire(ctx)
		if err != nil {
			panic(err)
		}
		p.Release()
	})
	s2 := core.NewSemaphore(permits, generic.New())
	run("core+generic-Release(n)", func() {
		if _, err := s2.Acquire(ctx); err != nil {
			panic(err)
		}
		s2.Release(1)
	})
}
