package benchmarks

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	generic "github.com/compio-sync/gosync/backend-generic"
	"github.com/compio-sync/gosync/core"
)

// BenchmarkFloor measures the physical floors every contender is read
// against, in the same run:
//   - op=atomic-cas-add: one compare-and-swap plus one add on a shared
//     word, the least an uncontended lock-free Acquire+Release can cost;
//   - op=call-cas-add: the same CAS and add, each inside a method the
//     compiler does not inline, with core's signatures (Acquire(ctx, n)
//     returning a three-word permit and an error; the permit's Release
//     calling the semaphore's add), and nothing else in them: the least
//     any Acquire+Release costs that cannot be inlined into its caller.
//     A Go Acquire that checks its context and falls back to a blocking
//     path cannot be: the inliner's budget is 80, a call costs 57 of it,
//     and the smallest such fast path costs 125 (a Release with a
//     fallback, 93). Read the uncontended rows against it beside
//     op=atomic-cas-add;
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
//     wait/wake (Linux only): the kernel's wake-up cost;
//   - op=parker-relay: a token passed round a ring of 8 goroutines, each
//     parked on its own backend-generic Parker and unparking the next when
//     woken (ns/handoff is one Unpark plus one Park, nothing else);
//   - op=chan-queue: a buffered channel of one slot as users write it
//     (a send takes, a receive returns; no context, no select), with 8
//     goroutines looping on it: Contended's g=8/permits=1/work=0 cell
//     for the channel without the context its chan contender watches;
//   - op=fifo-queue: the least a strict FIFO semaphore with direct handoff
//     can cost on those Parkers, in the shape of Contended's
//     g=8/permits=1/work=0 cell: 8 goroutines loop Acquire and Release on
//     one permit guarded by a sync.Mutex, an intrusive waiter list and a
//     Parker per goroutine, and nothing else (no weights, no context, no
//     Close, no pool: each goroutine keeps its own waiter). It is the bar
//     for core+generic in the one-permit cells (benchmarks/README.md,
//     "Losing cells"): whatever core costs above it is core's own path,
//     not the Parker's.
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
	b.Run("op=call-cas-add", func(b *testing.B) {
		ctx := context.Background()
		s := new(callSem)
		s.avail.Store(1)
		b.ReportAllocs()
		for b.Loop() {
			p, err := s.acquire(ctx, 1)
			if err != nil {
				b.Fatal(err)
			}
			p.release()
		}
		if s.avail.Load() != 1 {
			b.Fatal("benchmarks: call-cas-add floor ended with its permit held")
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
	b.Run("op=parker-relay", func(b *testing.B) {
		b.ReportMetric(parkerRelay(b, 8), "ns/handoff")
	})
	b.Run("op=chan-queue", func(b *testing.B) {
		chanQueue(b, 8)
	})
	b.Run("op=fifo-queue", func(b *testing.B) {
		fifoQueue(b, 8)
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

// parkerRelay passes a token b.N times round a ring of g goroutines parked
// on backend-generic Parkers and returns the nanoseconds per handoff.
func parkerRelay(b *testing.B, g int) float64 {
	ctx := context.Background()
	be := generic.New()
	ring := make([]core.Parker, g)
	for i := range ring {
		ring[i] = be.NewParker()
	}
	var left atomic.Int64 // handoffs still to make; below 0: stop
	left.Store(int64(b.N))
	var done sync.WaitGroup
	for i := range g {
		done.Go(func() {
			next := ring[(i+1)%g]
			for {
				if err := ring[i].Park(ctx); err != nil {
					panic(err)
				}
				n := left.Add(-1)
				next.Unpark() // passes the stop on, too
				if n < 0 {
					return
				}
			}
		})
	}
	b.ResetTimer()
	ring[0].Unpark()
	done.Wait()
	b.StopTimer()
	return float64(b.Elapsed().Nanoseconds()) / float64(b.N)
}

// callSem is the call-cas-add floor's semaphore: a word of free permits
// behind two calls that are not inlined.
type callSem struct{ avail atomic.Int64 }

// callPermit has core.Permit's three words (the third, core's queued
// flag, unused here).
type callPermit struct {
	sem *callSem
	n   int
	_   bool
}

// acquire takes n permits with one CAS, or fails: the floor never waits.
//
//go:noinline
func (s *callSem) acquire(ctx context.Context, n int) (callPermit, error) {
	if v := s.avail.Load(); v >= int64(n) && s.avail.CompareAndSwap(v, v-int64(n)) {
		return callPermit{sem: s, n: n}, nil
	}
	return callPermit{}, errors.New("benchmarks: call-cas-add floor found no permit free")
}

// release returns the permits through add, as core.Permit.Release does.
func (p *callPermit) release() {
	if n := p.n; n != 0 {
		p.n = 0
		p.sem.add(int64(n))
	}
}

//go:noinline
func (s *callSem) add(n int64) { s.avail.Add(n) }

// chanQueue runs g goroutines on a one-slot buffered channel, as
// contendedCell runs them on a contender with one permit and an empty
// section.
func chanQueue(b *testing.B, g int) {
	ch := make(chan struct{}, 1)
	b.ReportAllocs()
	b.SetParallelism(parallelism(g))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			ch <- struct{}{}
			<-ch
		}
	})
	b.StopTimer()
	if len(ch) != 0 {
		b.Fatal("benchmarks: chan-queue floor ended with its slot taken")
	}
}

// fifoWaiter is one goroutine's place in fifoSem's queue.
type fifoWaiter struct {
	next   *fifoWaiter
	parker core.Parker
}

// fifoSem is the floor's strict FIFO one-permit semaphore: a waiter that
// finds the permit taken (or others waiting) queues and parks; Release
// hands the permit straight to the head, unparking it, or frees it.
type fifoSem struct {
	mu         sync.Mutex
	free       bool
	head, tail *fifoWaiter
}

func (s *fifoSem) acquire(ctx context.Context, w *fifoWaiter) {
	s.mu.Lock()
	if s.free && s.head == nil {
		s.free = false
		s.mu.Unlock()
		return
	}
	w.next = nil
	if s.tail == nil {
		s.head = w
	} else {
		s.tail.next = w
	}
	s.tail = w
	s.mu.Unlock()
	if err := w.parker.Park(ctx); err != nil {
		panic(err)
	}
}

func (s *fifoSem) release() {
	s.mu.Lock()
	w := s.head
	if w == nil {
		s.free = true
		s.mu.Unlock()
		return
	}
	s.head = w.next
	if s.head == nil {
		s.tail = nil
	}
	s.mu.Unlock()
	w.parker.Unpark()
}

// fifoQueue runs g goroutines on a fifoSem, as contendedCell runs them
// on a contender with one permit and an empty section.
func fifoQueue(b *testing.B, g int) {
	ctx := context.Background()
	be := generic.New()
	s := &fifoSem{free: true}
	b.ReportAllocs()
	b.SetParallelism(parallelism(g))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		w := &fifoWaiter{parker: be.NewParker()}
		for pb.Next() {
			s.acquire(ctx, w)
			s.release()
		}
	})
	b.StopTimer()
	if !s.free || s.head != nil {
		b.Fatal("benchmarks: fifo-queue floor ended with its permit held or a waiter queued")
	}
}
