package benchmarks

import (
	"context"
	"fmt"
	"testing"

	generic "github.com/compio-sync/gosync/backend-generic"
	"github.com/compio-sync/gosync/backend-generic/semaphore"
	"github.com/compio-sync/gosync/core"
	xsync "golang.org/x/sync/semaphore"
)

// BenchmarkContendedDirect is the two-goroutine cells (GOMAXPROCS=2) with an
// empty critical section and the APIs called directly (no Sem interface, no
// latency sampling), next to BenchmarkFloor/op=atomic-2core. On 64 permits
// it is the cell where core lost to x/sync: two goroutines taking and
// returning one permit. On 1 permit the two take turns, so a queue forms
// and every grant is a handoff. It separates the cost of core's primary API
// (c=core+generic: Permit.Release) from the x/sync-style
// Semaphore.Release(1) (c=core+generic-Release(n)) and from the drop-in
// (c=dropin: backend-generic/semaphore's Weighted).
func BenchmarkContendedDirect(b *testing.B) {
	ctx := context.Background()
	for _, permits := range []int{64, 1} {
		run := func(name string, op func()) {
			b.Run(fmt.Sprintf("g=2/permits=%d/work=0/c=%s", permits, name), func(b *testing.B) {
				b.ReportAllocs()
				b.SetParallelism(parallelism(2))
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						op()
					}
				})
			})
		}
		w := xsync.NewWeighted(int64(permits))
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
		d := semaphore.NewWeighted(int64(permits))
		run("dropin", func() {
			if err := d.Acquire(ctx, 1); err != nil {
				panic(err)
			}
			d.Release(1)
		})
	}
}
