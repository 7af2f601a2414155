package benchmarks

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// runContenders runs body as sub-benchmark c=<name> for every registered
// contender that want accepts (nil accepts all) and that can model a
// semaphore of the given permits. A contender that cannot run on this
// machine (errors.ErrUnsupported) is left out with one line of log per
// process; one that cannot model the semaphore (ErrNotApplicable) is left
// out silently. body gets a fresh semaphore on every call.
func runContenders(b *testing.B, permits int, want func(Contender) bool, body func(b *testing.B, s Sem)) {
	b.Helper()
	for _, c := range Contenders {
		if want != nil && !want(c) {
			continue
		}
		if _, err := c.New(permits); err != nil {
			if !errors.Is(err, ErrNotApplicable) {
				noteSkipped(b, c, err)
			}
			continue
		}
		b.Run("c="+c.Name, func(b *testing.B) {
			s, err := c.New(permits)
			if err != nil {
				b.Fatalf("%s: New(%d) failed after succeeding once: %v", c.Name, permits, err)
			}
			body(b, s)
		})
	}
}

var skipped sync.Map // contender name -> struct{}

// noteSkipped logs, once per process and contender, why it is left out.
func noteSkipped(b *testing.B, c Contender, err error) {
	if _, dup := skipped.LoadOrStore(c.Name, struct{}{}); !dup {
		fmt.Printf("benchmarks: contender %s skipped: %v\n", c.Name, err)
	}
}

// weighted and cancellable select contenders by capability.
func weighted(c Contender) bool    { return c.Weighted }
func cancellable(c Contender) bool { return c.Cancellable }

// parallelism returns the b.SetParallelism argument that makes RunParallel
// start g goroutines (rounded up to a multiple of GOMAXPROCS).
func parallelism(g int) int {
	procs := runtime.GOMAXPROCS(0)
	return max(1, (g+procs-1)/procs)
}

// epoch makes now() small and positive.
var epoch = time.Now()

// now returns monotonic nanoseconds since epoch, always > 0.
func now() int64 { return int64(time.Since(epoch)) + 1 }

// sampler collects every sampleEvery-th latency of one goroutine and merges
// them into a shared slice when done.
type sampler struct {
	mu  sync.Mutex
	all []time.Duration
}

// sampleEvery is how often a contended benchmark times an Acquire: often
// enough for a p99 over a few thousand operations, rarely enough that the two
// clock reads cost well under a nanosecond per operation on average.
const sampleEvery = 32

func (s *sampler) merge(local []time.Duration) {
	s.mu.Lock()
	s.all = append(s.all, local...)
	s.mu.Unlock()
}

// report attaches p50 and p99 of the samples to b under the given prefix.
func (s *sampler) report(b *testing.B, prefix string) {
	p := Summarize(s.all)
	b.ReportMetric(float64(p.P50), prefix+"p50-ns")
	b.ReportMetric(float64(p.P99), prefix+"p99-ns")
}

// mustAllFree fails b unless all permits of s are free again: a check that no
// scenario strands permits (the classic: x/sync left free permits unserved
// behind a head waiter that gave up).
func mustAllFree(b *testing.B, s Sem, permits int) {
	b.Helper()
	for i := range permits {
		if !s.TryAcquire(1) {
			b.Fatalf("after the run only %d of %d permits are free: permits stranded", i, permits)
		}
	}
	for range permits {
		s.Release(1)
	}
}

// atomicSem is the physical floor driven through the Sem interface: one
// compare-and-swap to take a permit, one add to return it. It spins instead
// of blocking, so it is only used uncontended.
type atomicSem struct{ avail atomic.Int64 }

func (s *atomicSem) Acquire(ctx context.Context, n int) error {
	for !s.TryAcquire(n) {
		runtime.Gosched()
	}
	return nil
}

func (s *atomicSem) TryAcquire(n int) bool {
	for {
		v := s.avail.Load()
		if v < int64(n) {
			return false
		}
		if s.avail.CompareAndSwap(v, v-int64(n)) {
			return true
		}
	}
}

func (s *atomicSem) Release(n int) { s.avail.Add(int64(n)) }

// atomicCounter is a small shared counter for benchmark bookkeeping.
type atomicCounter struct{ v atomic.Int64 }

func (c *atomicCounter) add(n int64) int64 { return c.v.Add(n) }
func (c *atomicCounter) load() int64       { return c.v.Load() }
