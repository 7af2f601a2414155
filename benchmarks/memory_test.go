package benchmarks

import (
	"context"
	"runtime"
	"runtime/debug"
	"sync"
	"testing"
	"time"
)

// parkedWaiters is how many goroutines the memory scenario parks.
const parkedWaiters = 10_000

// BenchmarkMemory parks 10k goroutines in Acquire on a semaphore with no
// free permit and reports the heap bytes and allocations per parked waiter
// (runtime.MemStats before and after, GC off), averaged over at most two
// rounds whatever b.N is. A warm-up first parks and
// frees 10k goroutines on a plain channel, so the runtime's own costs
// (goroutine descriptors, sudogs) come from its free lists and the numbers
// are the semaphore's own. Goroutine stacks are not heap and not counted.
func BenchmarkMemory(b *testing.B) {
	ctx := context.Background()
	runContenders(b, 1, nil, func(b *testing.B, s Sem) {
		defer debug.SetGCPercent(debug.SetGCPercent(-1))
		// Each round parks 10k goroutines; b.N beyond a few rounds adds
		// time, not precision, so the rounds are capped.
		rounds := min(b.N, 2)
		var bytes, allocs uint64
		for range rounds {
			if err := s.Acquire(ctx, 1); err != nil { // take the only permit
				b.Fatal(err)
			}
			warmUp(parkedWaiters)

			var before, after runtime.MemStats
			memSem = s
			runtime.ReadMemStats(&before)
			for range parkedWaiters {
				memStarted.Add(1)
				memFinished.Add(1)
				go memWaiter() // no captured variables: no closure allocation
			}
			memStarted.Wait()
			time.Sleep(50 * time.Millisecond) // let the last ones reach Park
			runtime.ReadMemStats(&after)
			bytes += after.TotalAlloc - before.TotalAlloc
			allocs += after.Mallocs - before.Mallocs

			s.Release(1)
			memFinished.Wait()
			memSem = nil
			mustAllFree(b, s, 1)
		}
		b.ReportMetric(float64(bytes)/float64(rounds*parkedWaiters), "B/waiter")
		b.ReportMetric(float64(allocs)/float64(rounds*parkedWaiters), "allocs/waiter")
	})
}

// The memory scenario's waiters find their semaphore and wait groups in
// package variables, so that starting one allocates nothing but what the
// runtime needs for any goroutine (and that comes from its free lists).
var (
	memSem                  Sem
	memStarted, memFinished sync.WaitGroup
)

// memWaiter is one parked waiter of the memory scenario.
func memWaiter() {
	defer memFinished.Done()
	memStarted.Done()
	if err := memSem.Acquire(context.Background(), 1); err != nil {
		panic(err)
	}
	memSem.Release(1) // passes the permit down the queue
}

// warmUp parks n goroutines on a channel and lets them finish, filling the
// runtime's goroutine and sudog free lists.
func warmUp(n int) {
	gate := make(chan struct{})
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-gate
		}()
	}
	time.Sleep(10 * time.Millisecond)
	close(gate)
	wg.Wait()
}
