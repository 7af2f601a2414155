package benchmarks

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fifoWaiters is how many waiters BenchmarkFIFO queues per round, and
// fifoSpacing how long it lets each one settle in Acquire before starting
// the next, so that the queue order is the order they were started in (a
// waiter whose OS thread is descheduled for longer than that can still
// produce a false violation on a noisy machine). The whole queue
// forms in well under 1 ms, so sync.Mutex stays in its normal (barging) mode
// instead of switching to FIFO handoff for waiters starved longer than that.
const (
	fifoWaiters = 8
	fifoSpacing = 50 * time.Microsecond
)

// BenchmarkFIFO counts FIFO violations exactly, b.N rounds of: a holder takes
// the only permit; eight waiters queue one after another; the holder
// releases; a "barger" goroutine takes and returns the permit in a tight
// loop while the queue is served. The barger starts once the first waiter is served, so it
// is running whenever the permit changes hands. fifo-violations is the number of grants, over all rounds,
// that went out of queue order: to a waiter ahead of an earlier one, or to
// the barger before the last queued waiter was served. A strictly FIFO
// semaphore scores 0; sync.Mutex lets the barger in.
func BenchmarkFIFO(b *testing.B) {
	ctx := context.Background()
	runContenders(b, 1, nil, func(b *testing.B, s Sem) {
		var violations int
		for range b.N {
			violations += fifoRound(ctx, s)
		}
		b.ReportMetric(float64(violations), "fifo-violations")
	})
}

// fifoRound runs one round of BenchmarkFIFO and returns its violations.
func fifoRound(ctx context.Context, s Sem) int {
	if err := s.Acquire(ctx, 1); err != nil {
		panic(err)
	}
	var (
		mu     sync.Mutex
		order  []int // grant order; the barger is -1
		served int   // queued waiters served so far
		wg     sync.WaitGroup

		calling atomic.Int32 // waiters that have called Acquire
	)
	grant := func(id int) {
		mu.Lock()
		order = append(order, id)
		if id >= 0 {
			served++
		}
		mu.Unlock()
	}
	for i := range fifoWaiters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			calling.Add(1)
			if err := s.Acquire(ctx, 1); err != nil {
				panic(err)
			}
			grant(i)
			Work(100 * time.Nanosecond)
			s.Release(1)
		}()
		// Wait until waiter i is inside Acquire, then give it time to park
		// there before the next one may queue.
		for calling.Load() <= int32(i) {
			runtime.Gosched()
		}
		Work(fifoSpacing)
	}
	bargerDone := make(chan struct{})
	go func() {
		defer close(bargerDone)
		// Start barging only once the queue is being served, so that the
		// barger is running (not parked) when the permit is released.
		for {
			mu.Lock()
			started := served > 0
			mu.Unlock()
			if started {
				break
			}
			runtime.Gosched()
		}
		for {
			mu.Lock()
			done := served == fifoWaiters
			mu.Unlock()
			if done {
				return
			}
			if err := s.Acquire(ctx, 1); err != nil {
				panic(err)
			}
			grant(-1)
			s.Release(1)
		}
	}()
	s.Release(1)
	wg.Wait()
	<-bargerDone

	violations, next := 0, 0
	for _, id := range order {
		switch {
		case id < 0 && next < fifoWaiters:
			violations++ // the barger got in ahead of a queued waiter
		case id >= 0 && id != next:
			violations++ // a waiter overtook an earlier one
			next = max(next, id+1)
		case id >= 0:
			next++
		}
	}
	return violations
}
