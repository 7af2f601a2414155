package benchmarks

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"

	generic "github.com/compio-sync/gosync/backend-generic"
	"github.com/compio-sync/gosync/backend-generic/semaphore"
	"github.com/compio-sync/gosync/core"
	xsync "golang.org/x/sync/semaphore"
)

// BenchmarkUncontendedDirect times one goroutine taking and returning the
// only permit of a free semaphore with each API called directly, as a user
// writes it: no Sem interface, so no dynamic call and every inlinable fast
// path inlined. This is the table the uncontended claims are checked
// against (BenchmarkUncontended adds an interface call to every contender,
// which compresses the ratios).
//
// Contenders, for op=acquire (blocking Acquire) and op=try (TryAcquire):
//   - xsync: x/sync's Weighted, Acquire/TryAcquire then Release(1);
//   - core+generic: core's primary API, Acquire/TryAcquire then
//     Permit.Release (one CAS each way when nobody is queued);
//   - core+generic-Release(n): the same Acquire, but the x/sync-style
//     Semaphore.Release(1), which must load the state and configuration
//     words before its CAS;
//   - dropin: backend-generic/semaphore.Weighted (x/sync's API on core);
//   - chan: a buffered channel (send takes, receive returns);
//   - mutex: sync.Mutex Lock/TryLock then Unlock;
//   - atomic: the floor, one Load+CAS to take and one Add to return.
func BenchmarkUncontendedDirect(b *testing.B) {
	ctx := context.Background()
	type contender struct {
		name         string
		acquire, try func(b *testing.B)
	}
	cs := []contender{
		{"xsync",
			func(b *testing.B) {
				w := xsync.NewWeighted(1)
				for b.Loop() {
					if err := w.Acquire(ctx, 1); err != nil {
						b.Fatal(err)
					}
					w.Release(1)
				}
			},
			func(b *testing.B) {
				w := xsync.NewWeighted(1)
				for b.Loop() {
					if !w.TryAcquire(1) {
						b.Fatal("TryAcquire failed on a free semaphore")
					}
					w.Release(1)
				}
			}},
		{"core+generic",
			func(b *testing.B) {
				s := core.NewSemaphore(1, generic.New())
				for b.Loop() {
					p, err := s.Acquire(ctx)
					if err != nil {
						b.Fatal(err)
					}
					p.Release()
				}
			},
			func(b *testing.B) {
				s := core.NewSemaphore(1, generic.New())
				for b.Loop() {
					p, ok := s.TryAcquire()
					if !ok {
						b.Fatal("TryAcquire failed on a free semaphore")
					}
					p.Release()
				}
			}},
		{"core+generic-Release(n)",
			func(b *testing.B) {
				s := core.NewSemaphore(1, generic.New())
				for b.Loop() {
					if _, err := s.Acquire(ctx); err != nil {
						b.Fatal(err)
					}
					s.Release(1)
				}
			},
			func(b *testing.B) {
				s := core.NewSemaphore(1, generic.New())
				for b.Loop() {
					if _, ok := s.TryAcquire(); !ok {
						b.Fatal("TryAcquire failed on a free semaphore")
					}
					s.Release(1)
				}
			}},
		{"dropin",
			func(b *testing.B) {
				w := semaphore.NewWeighted(1)
				for b.Loop() {
					if err := w.Acquire(ctx, 1); err != nil {
						b.Fatal(err)
					}
					w.Release(1)
				}
			},
			func(b *testing.B) {
				w := semaphore.NewWeighted(1)
				for b.Loop() {
					if !w.TryAcquire(1) {
						b.Fatal("TryAcquire failed on a free semaphore")
					}
					w.Release(1)
				}
			}},
		{"chan",
			func(b *testing.B) {
				ch := make(chan struct{}, 1)
				for b.Loop() {
					select {
					case ch <- struct{}{}:
					case <-ctx.Done():
						b.Fatal(ctx.Err())
					}
					<-ch
				}
			},
			func(b *testing.B) {
				ch := make(chan struct{}, 1)
				for b.Loop() {
					select {
					case ch <- struct{}{}:
					default:
						b.Fatal("send failed on an empty channel")
					}
					<-ch
				}
			}},
		{"mutex",
			func(b *testing.B) {
				var mu sync.Mutex
				for b.Loop() {
					mu.Lock()
					//lint:ignore SA2001 the empty critical section is the measurement
					mu.Unlock()
				}
			},
			func(b *testing.B) {
				var mu sync.Mutex
				for b.Loop() {
					if !mu.TryLock() {
						b.Fatal("TryLock failed on a free mutex")
					}
					mu.Unlock()
				}
			}},
		{"atomic", atomicFloor, atomicFloor},
	}
	for _, op := range []string{"acquire", "try"} {
		b.Run("op="+op, func(b *testing.B) {
			for _, c := range cs {
				body := c.acquire
				if op == "try" {
					body = c.try
				}
				b.Run("c="+c.name, func(b *testing.B) {
					b.ReportAllocs()
					body(b)
				})
			}
		})
	}
}

// atomicFloor is the uncontended floor: one Load+CAS to take a permit from a
// shared word and one Add to return it. Acquire and TryAcquire cost the same
// here, since a free permit never makes the loop go round twice.
func atomicFloor(b *testing.B) {
	var avail atomic.Int64
	avail.Store(1)
	for b.Loop() {
		for {
			v := avail.Load()
			if v > 0 && avail.CompareAndSwap(v, v-1) {
				break
			}
		}
		avail.Add(1)
	}
}
