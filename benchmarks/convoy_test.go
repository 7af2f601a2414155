package benchmarks

import (
	"context"
	"runtime"
	"testing"

	generic "github.com/compio-sync/gosync/backend-generic"
	"github.com/compio-sync/gosync/core"
)

// BenchmarkConvoyOneProcessor runs 8 goroutines on one permit, each
// yielding (runtime.Gosched) while it holds it, so that with -cpu 1 every
// grant is a wake-up, a park and a switch on one processor: the path a
// one-permit queue costs, without the second core's noise. It is meant for
// counting instructions per grant, which a run under cachegrind gives
// exactly where wall-clock time on a shared machine cannot (docs/design.md,
// "One permit with a queue"):
//
//	go test -c -o convoy.test . && valgrind --tool=cachegrind --cache-sim=no \
//	    ./convoy.test -test.run '^$' -test.bench '^BenchmarkConvoyOneProcessor$/c=core' \
//	    -test.benchtime 300000x -test.cpu 1
//
// Contenders, each called directly: core+generic (Acquire, then
// Permit.Release), a buffered channel as users write it (a send takes, a
// receive returns; no context), and the fifo-queue floor's bare FIFO queue.
func BenchmarkConvoyOneProcessor(b *testing.B) {
	const g = 8
	ctx := context.Background()
	// run runs each goroutine's body, made by newBody in that goroutine.
	run := func(b *testing.B, newBody func() func()) {
		b.ReportAllocs()
		b.SetParallelism(max(1, g/runtime.GOMAXPROCS(0)))
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			body := newBody()
			for pb.Next() {
				body()
			}
		})
	}
	b.Run("c=core+generic", func(b *testing.B) {
		s := core.NewSemaphore(1, generic.New())
		run(b, func() func() {
			return func() {
				p, err := s.Acquire(ctx)
				if err != nil {
					panic(err)
				}
				runtime.Gosched()
				p.Release()
			}
		})
		mustAllFree(b, coreSem{s}, 1)
	})
	b.Run("c=chan", func(b *testing.B) {
		ch := make(chan struct{}, 1)
		run(b, func() func() {
			return func() {
				ch <- struct{}{}
				runtime.Gosched()
				<-ch
			}
		})
	})
	b.Run("c=fifo-queue", func(b *testing.B) {
		s := &fifoSem{free: true}
		be := generic.New()
		run(b, func() func() {
			w := &fifoWaiter{parker: be.NewParker()}
			return func() {
				s.acquire(ctx, w)
				runtime.Gosched()
				s.release()
			}
		})
		b.StopTimer()
		if !s.free || s.head != nil {
			b.Fatal("benchmarks: the fifo-queue convoy ended with its permit held or a waiter queued")
		}
	})
}
