package core

import (
	"context"
	"testing"
)

// BenchmarkFastPathCalls measures what the calls on the uncontended path
// cost, apart from what the path does: the same Semaphore word taken and
// returned three ways, one permit at a time, with nobody else using it.
//
//   - op=floor: Load+CAS and Add on the word, nothing else;
//   - op=inlined: the steps of AcquireN's and add's fast paths copied into
//     the loop (the context compares, the flag and count tests, the CAS,
//     the contention signal's load and compare, the lanes load, the add,
//     the cfg load and the over-release test), as if Go had inlined them;
//   - op=api: Acquire(context.Background()) and Permit.Release, the two
//     calls Go does not inline (AcquireN and add exceed the inliner's
//     budget of 80; a call that stays a call costs 57 of it).
//
// inlined/floor is what the checks cost; api/inlined is what the calls
// cost (docs/design.md, "Fast paths"). The copy in op=inlined must follow
// AcquireN and add when they change.
func BenchmarkFastPathCalls(b *testing.B) {
	ctx := context.Background()
	b.Run("op=floor", func(b *testing.B) {
		s := NewSemaphore(1, noParkBackend{})
		for b.Loop() {
			for {
				st := s.state.Load()
				if s.state.CompareAndSwap(st, st-permitsDelta(1)) {
					break
				}
			}
			s.state.Add(permitsDelta(1))
		}
	})
	b.Run("op=inlined", func(b *testing.B) {
		s := NewSemaphore(1, noParkBackend{})
		for b.Loop() {
			if !neverEnds(ctx) {
				b.Fatal("neverEnds(Background) is false")
			}
			st := s.state.Load()
			if st&flagsSlow != 0 || availOf(st) < 1 || !s.state.CompareAndSwap(st, st-permitsDelta(1)) {
				b.Fatal("the copied Acquire fast path failed on an idle Semaphore")
			}
			s.noteTaker(callerSite(&s))
			if s.lanes.Load() != nil {
				b.Fatal("lanes engaged with one goroutine")
			}
			st = s.state.Add(permitsDelta(1))
			if cfg := s.cfg.Load(); st&flagQueued != 0 || stateGen(st) != cfgGen(cfg) || uint64(availOf(st)) > uint64(maxOf(cfg)) {
				b.Fatal("the copied release fast path would have gone to afterAdd")
			}
		}
	})
	b.Run("op=api", func(b *testing.B) {
		s := NewSemaphore(1, noParkBackend{})
		for b.Loop() {
			p, err := s.Acquire(ctx)
			if err != nil {
				b.Fatal(err)
			}
			p.Release()
		}
	})
}

// noParkBackend is a Backend for paths that never park.
type noParkBackend struct{}

func (noParkBackend) Name() string { return "no-park" }
func (noParkBackend) NewParker() Parker {
	panic("core: BenchmarkFastPathCalls parked: the uncontended path must not")
}
