package adaptive_test

import (
	"container/heap"
	"context"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/compio-sync/gosync/adaptive"
)

// service is a simulated downstream of capacity C: a request admitted
// while k requests are in flight (itself included) takes base while
// k <= C and base × k/C past it (the work shares C servers); a client
// gives up and counts a drop at timeout.
type service struct {
	capacity int
	base     time.Duration
	timeout  time.Duration
}

func (s service) latency(inflight int) time.Duration {
	if inflight <= s.capacity {
		return s.base
	}
	return time.Duration(float64(s.base) * float64(inflight) / float64(s.capacity))
}

type pending struct {
	tok  adaptive.Token
	end  time.Time
	drop bool
	seq  int
}

type pendingHeap []pending

func (h pendingHeap) Len() int { return len(h) }
func (h pendingHeap) Less(i, j int) bool {
	if !h[i].end.Equal(h[j].end) {
		return h[i].end.Before(h[j].end)
	}
	return h[i].seq < h[j].seq
}
func (h pendingHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *pendingHeap) Push(x any)   { *h = append(*h, x.(pending)) }
func (h *pendingHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// simResult summarizes the last quarter of a simulation.
type simResult struct {
	meanLimit  float64
	minLimit   int
	maxLimit   int
	dropShare  float64
	finalLimit int
}

// simulate drives l with demand clients that each send their next request
// as soon as the last one ends (closed loop), in virtual time: one
// goroutine admits as many requests as the limit lets in (Acquire never
// has to wait), then ends the earliest one, with Success or, past the
// timeout, Drop, advancing the clock to its end. Everything is
// deterministic. A second goroutine reads the Limiter's introspection
// meanwhile, for the race detector.
func simulate(t *testing.T, l *adaptive.Limiter, clock *fakeClock, svc service, demand, completions int) simResult {
	t.Helper()
	stop := make(chan struct{})
	var readers sync.WaitGroup
	readers.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
				_ = l.Limit() + l.Inflight() + l.Queued()
				_ = l.Stats()
			}
		}
	})
	defer func() {
		close(stop)
		readers.Wait()
	}()

	var h pendingHeap
	seq := 0
	var res simResult
	var limitSum float64
	var window, drops int
	res.minLimit = int(^uint(0) >> 1)
	for done := 0; done < completions; done++ {
		for len(h) < demand && l.Inflight() < l.Limit() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			tok, err := l.Acquire(ctx)
			cancel()
			if err != nil {
				t.Fatalf("completion %d: Acquire with Inflight %d < Limit %d = %v, want an immediate grant", done, l.Inflight(), l.Limit(), err)
			}
			lat := svc.latency(l.Inflight())
			p := pending{tok: tok, seq: seq}
			seq++
			if lat > svc.timeout {
				p.end, p.drop = clock.Now().Add(svc.timeout), true
			} else {
				p.end = clock.Now().Add(lat)
			}
			heap.Push(&h, p)
		}
		p := heap.Pop(&h).(pending)
		clock.Set(p.end)
		if p.drop {
			p.tok.Drop()
		} else {
			p.tok.Success()
		}
		if done >= completions*3/4 {
			lim := l.Limit()
			window++
			limitSum += float64(lim)
			res.minLimit = min(res.minLimit, lim)
			res.maxLimit = max(res.maxLimit, lim)
			if p.drop {
				drops++
			}
		}
	}
	for h.Len() > 0 {
		heap.Pop(&h).(pending).tok.Ignore()
	}
	res.meanLimit = limitSum / float64(window)
	res.dropShare = float64(drops) / float64(window)
	res.finalLimit = l.Limit()
	return res
}

// TestLimitSettlesNearCapacity: against a service of capacity 100 under
// four times that demand, whose clients give up at 2.5× the unloaded
// latency, each algorithm brings a limit started at 1000 down, and one
// started at 5 up, to a mean within [75, 150] over the last quarter of
// the run. The swings around that mean and the share of drops are logged,
// not bounded: the published per-sample formulas react to samples a round
// trip old and swing widely here (docs/adaptive.md).
func TestLimitSettlesNearCapacity(t *testing.T) {
	svc := service{capacity: 100, base: 10 * time.Millisecond, timeout: 25 * time.Millisecond}
	algs := []struct {
		name string
		make func() adaptive.Algorithm
	}{
		{"AIMD", func() adaptive.Algorithm { return adaptive.AIMD() }},
		{"Vegas", func() adaptive.Algorithm { return adaptive.Vegas(adaptive.VegasRand(rand.New(rand.NewPCG(7, 11)))) }},
		{"Gradient2", func() adaptive.Algorithm { return adaptive.Gradient2() }},
	}
	starts := []struct {
		name        string
		initial     int
		completions int
	}{
		{"FromAbove", 1000, 40000},
		{"FromBelow", 5, 10000},
	}
	for _, a := range algs {
		for _, s := range starts {
			t.Run(a.name+"/"+s.name, func(t *testing.T) {
				t.Parallel()
				sem := newSem(1)
				clock := newFakeClock()
				l := adaptive.New(sem, a.make(), adaptive.WithLimits(1, 2000, s.initial), adaptive.WithClock(clock.Now))
				var r simResult
				within(t, 60*time.Second, "the simulation", func() { r = simulate(t, l, clock, svc, 4*svc.capacity, s.completions) })
				t.Logf("%s: last quarter: limit mean %.1f, min %d, max %d; drops %.3f; final %d", t.Name(), r.meanLimit, r.minLimit, r.maxLimit, r.dropShare, r.finalLimit)
				if r.meanLimit < 75 || r.meanLimit > 150 {
					t.Errorf("mean limit over the last quarter = %.1f, want within [75, 150] of capacity 100 (started at %d)", r.meanLimit, s.initial)
				}
				if sem.MaxPermits() != l.Limit() || sem.InUse() != 0 {
					t.Errorf("at the end: MaxPermits %d, Limit %d, InUse %d; want MaxPermits == Limit and nothing held", sem.MaxPermits(), l.Limit(), sem.InUse())
				}
			})
		}
	}
}
