package benchmarks

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	generic "github.com/compio-sync/gosync/backend-generic"
	"github.com/compio-sync/gosync/core"
)

// gate is one round's wake-all primitive: every goroutine of the round
// waits on it, and open releases them all.
type gate interface {
	wait()
	open()
}

// chanGate is the nearest thing a Go user has: a channel closed once per
// round, replaced by a new one for the next.
type chanGate chan struct{}

func (g chanGate) wait() { <-g }
func (g chanGate) open() { close(g) }

// eventGate is a core.Event re-armed with Clear.
type eventGate struct{ *core.Event }

func (g eventGate) wait() {
	if err := g.Wait(context.Background()); err != nil {
		panic(err)
	}
}
func (g eventGate) open() { g.Set() }

// BenchmarkEventWakeAll times one round of a start gate: g goroutines wait
// at the gate (or are about to: each announces itself with an atomic add
// just before it waits, and the opener waits for all g announcements), the
// gate opens, and the round ends when all g have passed. Contenders: a
// channel closed per round (c=chan-close, the baseline) and a core.Event on
// the generic backend, Set per round and cleared before the next (two
// Events alternate, so a Clear never races the waiters of its own round).
// ns/op is per round; ns/waiter divides it by g.
func BenchmarkEventWakeAll(b *testing.B) {
	for _, g := range []int{8, 64} {
		b.Run(fmt.Sprintf("g=%d", g), func(b *testing.B) {
			b.Run("c=chan-close", func(b *testing.B) {
				var gates [2]atomic.Pointer[chanGate]
				newGate := func(i int) {
					c := chanGate(make(chan struct{}))
					gates[i].Store(&c)
				}
				newGate(0)
				newGate(1)
				wakeAllRounds(b, g, func(r int) gate { return *gates[r%2].Load() }, func(r int) { newGate((r + 1) % 2) })
			})
			b.Run("c=core+generic", func(b *testing.B) {
				events := [2]eventGate{{core.NewEvent(generic.New())}, {core.NewEvent(generic.New())}}
				wakeAllRounds(b, g, func(r int) gate { return events[r%2] }, func(r int) { events[(r+1)%2].Clear() })
			})
		})
	}
}

// wakeAllRounds runs b.N rounds of g waiters on gateOf(round). Before it
// opens round r's gate, it calls rearm(r), which must make gateOf(r+1) a
// closed gate: every waiter is still held by round r's gate then.
func wakeAllRounds(b *testing.B, g int, gateOf func(round int) gate, rearm func(round int)) {
	var arrived, passed atomic.Int64
	rounds := b.N
	var wg sync.WaitGroup
	for range g {
		wg.Go(func() {
			for r := range rounds {
				gt := gateOf(r)
				arrived.Add(1)
				gt.wait()
				passed.Add(1)
			}
		})
	}
	b.ReportAllocs()
	b.ResetTimer()
	for r := range rounds {
		want := int64(g * (r + 1))
		for arrived.Load() < want {
			runtime.Gosched()
		}
		rearm(r)
		gateOf(r).open()
		for passed.Load() < want {
			runtime.Gosched()
		}
	}
	b.StopTimer()
	wg.Wait()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(rounds)/float64(g), "ns/waiter")
}

// condVar is the part of a condition variable the Cond benchmark drives;
// the Locker is the contender's own mutex.
type condVar interface {
	wait()
	signal()
}

type syncCond struct{ *sync.Cond }

func (c syncCond) wait()   { c.Wait() }
func (c syncCond) signal() { c.Signal() }

type coreCond struct{ *core.Cond }

func (c coreCond) wait() {
	if err := c.Wait(context.Background()); err != nil {
		panic(err)
	}
}
func (c coreCond) signal() { c.Signal() }

// BenchmarkCondSignal times a one-slot handoff through a condition
// variable: one producer and g consumers share a slot under a mutex; the
// producer waits on notFull until the slot is empty, fills it and signals
// notEmpty; a consumer waits on notEmpty until the slot is full, empties it
// and signals notFull. One op is one item through the slot, so each op is
// two Signals and, under contention, two parked waits. Contenders: sync.Cond
// (c=sync.Cond, the baseline) and core.Cond on the generic backend.
func BenchmarkCondSignal(b *testing.B) {
	for _, g := range []int{1, 8} {
		b.Run(fmt.Sprintf("consumers=%d", g), func(b *testing.B) {
			b.Run("c=sync.Cond", func(b *testing.B) {
				var mu sync.Mutex
				handoff(b, g, &mu, syncCond{sync.NewCond(&mu)}, syncCond{sync.NewCond(&mu)})
			})
			b.Run("c=core+generic", func(b *testing.B) {
				var mu sync.Mutex
				handoff(b, g, &mu, coreCond{core.NewCond(&mu, generic.New())}, coreCond{core.NewCond(&mu, generic.New())})
			})
		})
	}
}

// handoff passes b.N items from one producer to g consumers through a
// one-item slot guarded by mu.
func handoff(b *testing.B, g int, mu sync.Locker, notEmpty, notFull condVar) {
	full := false
	left := b.N // items not yet taken, under mu
	var wg sync.WaitGroup
	for range g {
		wg.Go(func() {
			mu.Lock()
			defer mu.Unlock()
			for {
				for !full && left > 0 {
					notEmpty.wait()
				}
				if left == 0 {
					notEmpty.signal() // pass the end on to the next consumer
					return
				}
				full = false
				left--
				notFull.signal()
			}
		})
	}
	b.ReportAllocs()
	b.ResetTimer()
	mu.Lock()
	for range b.N {
		for full {
			notFull.wait()
		}
		full = true
		notEmpty.signal()
	}
	for left > 0 {
		notFull.wait()
	}
	mu.Unlock()
	notEmpty.signal() // wake the consumers to see the end
	b.StopTimer()
	wg.Wait()
}
