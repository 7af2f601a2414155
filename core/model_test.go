package core

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

// A Parker on a buffered channel, for the model test.
type modelBackend struct{}

func (modelBackend) Name() string      { return "model" }
func (modelBackend) NewParker() Parker { return modelParker(make(chan struct{}, 1)) }

type modelParker chan struct{}

func (p modelParker) Park(ctx context.Context) error {
	select {
	case <-p:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
func (p modelParker) Unpark() {
	select {
	case p <- struct{}{}:
	default:
	}
}

type modelObserver struct{ n atomic.Int64 }

func (o *modelObserver) AcquireWaited(QueuedAcquire) { o.n.Add(1) }

// ---- the sequential model ----

type mWaiter struct {
	id       int
	n        int64
	behind   bool
	observed bool
	cancel   context.CancelFunc
}

type model struct {
	max, avail int64
	closed     bool
	observed   bool
	queue      []*mWaiter
	counts     [numAcquireResults]uint64
}

type outcome struct {
	id  int
	p   Permit
	err error
}

// grant serves the head while it fits; returns the granted waiters.
func (m *model) grant() []*mWaiter {
	var g []*mWaiter
	for len(m.queue) > 0 && m.avail >= m.queue[0].n {
		w := m.queue[0]
		m.avail -= w.n
		m.queue = m.queue[1:]
		g = append(g, w)
		if w.observed {
			m.counts[AcquireGranted]++
		}
	}
	return g
}

type modelHarness struct {
	t       *testing.T
	r       *rand.Rand
	s       *Semaphore
	m       model
	yieldy  bool
	nextID  int
	results chan outcome
	pending map[int]*mWaiter // queued in the model
	permits []Permit         // held, as Permits
	raw     int64            // held, without a Permit
	yields  *atomic.Int64
	obs     *modelObserver
	ops     int
	log     []string
}

func (h *modelHarness) logf(f string, a ...any) {
	h.log = append(h.log, fmt.Sprintf(f, a...))
	if len(h.log) > 40 {
		h.log = h.log[1:]
	}
}

func (h *modelHarness) fail(f string, a ...any) {
	h.t.Helper()
	var b []byte
	for _, l := range h.log {
		b = append(b, l...)
		b = append(b, '\n')
	}
	h.t.Fatalf("op %d: %s\nmodel: max=%d avail=%d queue=%d closed=%v\nrecent ops:\n%s", h.ops, fmt.Sprintf(f, a...), h.m.max, h.m.avail, len(h.m.queue), h.m.closed, b)
}

func (h *modelHarness) held() int64 {
	t := h.raw
	for _, p := range h.permits {
		t += int64(p.n)
	}
	return t
}

// expect waits for exactly the waiters in want to report (granted: they
// must succeed; failed: they must fail with errIs), then checks the state.
func (h *modelHarness) expect(granted []*mWaiter, failed []*mWaiter, errIs func(error) bool) {
	h.t.Helper()
	need := map[int]bool{}
	for _, w := range granted {
		need[w.id] = true
	}
	for _, w := range failed {
		need[w.id] = false
	}
	deadline := time.After(5 * time.Second)
	for len(need) > 0 {
		select {
		case o := <-h.results:
			wantGrant, ok := need[o.id]
			if !ok {
				h.fail("waiter %d reported (%v) but the model did not decide it", o.id, o.err)
			}
			delete(need, o.id)
			delete(h.pending, o.id)
			if wantGrant {
				if o.err != nil {
					h.fail("waiter %d: want granted, got %v", o.id, o.err)
				}
				h.permits = append(h.permits, o.p)
			} else if o.err == nil || !errIs(o.err) {
				h.fail("waiter %d: want failure, got %v", o.id, o.err)
			}
		case <-deadline:
			h.fail("stranded: waiters %v never reported", need)
		}
	}
	h.check()
}

func (h *modelHarness) check() {
	h.t.Helper()
	s, m := h.s, &h.m
	if got := int64(s.Waiting()); got != int64(len(m.queue)) {
		h.fail("Waiting()=%d, model %d", got, len(m.queue))
	}
	if got := int64(s.MaxPermits()); got != m.max {
		h.fail("MaxPermits()=%d, model %d", got, m.max)
	}
	if got := int64(s.AvailablePermits()); got != max(m.avail, 0) {
		h.fail("AvailablePermits()=%d, model %d", got, max(m.avail, 0))
	}
	if got := int64(s.InUse()); got != m.max-m.avail {
		h.fail("InUse()=%d, model %d", got, m.max-m.avail)
	}
	if h.held() != m.max-m.avail {
		h.fail("test holds %d, model's held %d", h.held(), m.max-m.avail)
	}
	s.mu.Lock()
	st := s.state.Load()
	q := s.head != nil
	s.mu.Unlock()
	if (st&flagQueued != 0) != q {
		h.fail("flagQueued=%v but queue non-empty=%v", st&flagQueued != 0, q)
	}
	if st&flagClosed != 0 != m.closed {
		h.fail("closed flag %v, model %v", st&flagClosed != 0, m.closed)
	}
	if got := s.AcquireStats(); true {
		for r := range numAcquireResults {
			if got.counts[r] != m.counts[r] {
				h.fail("AcquireStats[%v]=%d, model %d", AcquireResult(r), got.counts[r], m.counts[r])
			}
		}
	}
	select {
	case o := <-h.results:
		h.fail("unexpected report from waiter %d (%v)", o.id, o.err)
	default:
	}
}

func (h *modelHarness) acquire(n int64) {
	m := &h.m
	id := h.nextID
	h.nextID++
	ctx, cancel := context.WithCancel(context.Background())
	w := &mWaiter{id: id, n: n, cancel: cancel}
	h.logf("Acquire(%d) id=%d", n, id)
	go func() {
		p, err := h.s.AcquireN(ctx, int(n))
		h.results <- outcome{id, p, err}
	}()
	switch {
	case m.closed:
		if m.observed {
			m.counts[AcquireClosed]++
		}
		h.expect(nil, []*mWaiter{w}, func(e error) bool { return errors.Is(e, ErrClosed) })
	case len(m.queue) == 0 && m.avail >= n:
		m.avail -= n
		if m.observed {
			m.counts[AcquireGranted]++
		}
		h.expect([]*mWaiter{w}, nil, nil)
	case n > m.max:
		if m.observed {
			m.counts[AcquireTooLarge]++
		}
		h.expect(nil, []*mWaiter{w}, func(e error) bool { return errors.Is(e, ErrTooLarge) })
	default:
		w.behind = len(m.queue) > 0
		w.observed = m.observed
		m.queue = append(m.queue, w)
		h.pending[id] = w
		deadline := time.Now().Add(5 * time.Second)
		for h.s.Waiting() != len(m.queue) {
			if time.Now().After(deadline) {
				h.fail("waiter %d never queued", id)
			}
			select {
			case o := <-h.results:
				h.fail("waiter %d reported (%v) instead of queueing", o.id, o.err)
			default:
			}
			time.Sleep(20 * time.Microsecond)
		}
		h.check()
	}
}

// doRelease releases k through how (0: s.Release, 1: TryRelease, 2: a
// whole Permit), checking the yield rule.
func (h *modelHarness) release(how int) {
	m := &h.m
	held := h.held()
	var k int64
	var releaserQueued bool
	y0 := h.yields.Load()
	switch how {
	case 2:
		if len(h.permits) == 0 {
			return
		}
		i := h.r.Intn(len(h.permits))
		p := h.permits[i]
		h.permits = append(h.permits[:i], h.permits[i+1:]...)
		k = int64(p.n)
		releaserQueued = p.queued
		if k == 0 {
			return
		}
		h.logf("Permit.Release(%d) queued=%v", k, p.queued)
		p.Release()
	default:
		k = 1 + h.r.Int63n(4)
		if how == 0 && k > held {
			// Release of more than held: must panic and change nothing.
			h.logf("Release(%d) over (held %d)", k, held)
			func() {
				defer func() {
					if recover() == nil {
						h.fail("Release(%d) with %d held did not panic", k, held)
					}
				}()
				h.s.Release(int(k))
			}()
			h.check()
			return
		}
		h.logf("%s(%d) held=%d", map[int]string{0: "Release", 1: "TryRelease"}[how], k, held)
		// Take k out of the test's holdings (raw first, then dissolve Permits).
		take := func() {
			for h.raw < k && len(h.permits) > 0 {
				h.raw += int64(h.permits[len(h.permits)-1].n)
				h.permits = h.permits[:len(h.permits)-1]
			}
			h.raw -= k
		}
		if how == 1 {
			ok := h.s.TryRelease(int(k))
			if want := k <= held; ok != want {
				h.fail("TryRelease(%d) with %d held = %v", k, held, ok)
			}
			if !ok {
				h.check()
				return
			}
			take()
		} else {
			h.s.Release(int(k))
			take()
		}
	}
	if mh := m.max - m.avail; k > mh {
		h.fail("model over-release %d > %d", k, mh)
	}
	m.avail += k
	g := m.grant()
	if h.yieldy {
		behind := false
		for _, w := range g {
			behind = behind || w.behind
		}
		want := int64(0)
		if len(g) > 0 && (behind || len(m.queue) > 0 || releaserQueued) {
			want = 1
		}
		if got := h.yields.Load() - y0; got != want {
			h.fail("release of %d granted %d waiters: %d yields, want %d", k, len(g), got, want)
		}
	}
	h.expect(g, nil, nil)
}

func (h *modelHarness) cancelOne() {
	m := &h.m
	if len(m.queue) == 0 {
		return
	}
	i := h.r.Intn(len(m.queue))
	w := m.queue[i]
	h.logf("cancel id=%d (n=%d, pos %d)", w.id, w.n, i)
	m.queue = append(m.queue[:i:i], m.queue[i+1:]...)
	if w.observed {
		m.counts[AcquireCanceled]++
	}
	w.cancel()
	g := m.grant()
	h.expect(g, []*mWaiter{w}, func(e error) bool { return errors.Is(e, context.Canceled) })
}

func (h *modelHarness) resize() {
	m := &h.m
	n := h.r.Int63n(9)
	h.logf("SetMaxPermits(%d) from %d", n, m.max)
	h.s.SetMaxPermits(int(n))
	delta := n - m.max
	var failed []*mWaiter
	if delta != 0 {
		m.max = n
		m.avail += delta
		if delta < 0 {
			var q []*mWaiter
			for _, w := range m.queue {
				if w.n > n {
					failed = append(failed, w)
					if w.observed {
						m.counts[AcquireTooLarge]++
					}
				} else {
					q = append(q, w)
				}
			}
			m.queue = q
		}
	}
	// Failed ones and granted ones report in any order.
	h.expect(m.grant(), failed, func(e error) bool { return errors.Is(e, ErrTooLarge) })
}

func (h *modelHarness) step() {
	m := &h.m
	h.ops++
	switch x := h.r.Intn(100); {
	case x < 35:
		n := 1 + h.r.Int63n(3)
		if h.r.Intn(8) == 0 {
			n = 1 + h.r.Int63n(9)
		}
		h.acquire(n)
	case x < 45:
		h.release(0)
	case x < 55:
		h.release(1)
	case x < 70:
		h.release(2)
	case x < 76:
		h.cancelOne()
	case x < 82:
		h.resize()
	case x < 86:
		n := 1 + h.r.Int63n(3)
		p, ok := h.s.TryAcquireN(int(n))
		want := !m.closed && len(m.queue) == 0 && m.avail >= n
		h.logf("TryAcquireN(%d)=%v", n, ok)
		if ok != want {
			h.fail("TryAcquireN(%d)=%v, model %v", n, ok, want)
		}
		if ok {
			m.avail -= n
			h.permits = append(h.permits, p)
		}
		h.check()
	case x < 89:
		k := h.r.Intn(5)
		p := h.s.TryAcquireUpTo(k)
		want := int64(0)
		if !m.closed && len(m.queue) == 0 {
			want = max(min(int64(k), m.avail), 0)
		}
		h.logf("TryAcquireUpTo(%d)=%d", k, p.n)
		if int64(p.n) != want {
			h.fail("TryAcquireUpTo(%d)=%d, model %d", k, p.n, want)
		}
		m.avail -= want
		h.permits = append(h.permits, p)
		h.check()
	case x < 93:
		if m.observed {
			h.s.SetObserver(nil)
		} else {
			h.s.SetObserver(h.obs)
		}
		m.observed = !m.observed
		h.logf("SetObserver on=%v", m.observed)
		h.check()
	case x < 94:
		if h.r.Intn(4) == 0 {
			h.logf("Close")
			h.s.Close()
			var failed []*mWaiter
			if !m.closed {
				failed = m.queue
				for _, w := range failed {
					if w.observed {
						m.counts[AcquireClosed]++
					}
				}
				m.queue = nil
				m.closed = true
			}
			h.expect(nil, failed, func(e error) bool { return errors.Is(e, ErrClosed) })
		}
	default:
		// Drain: release everything, to keep the queue moving.
		for len(h.permits) > 0 || h.raw > 0 {
			if h.raw > 0 {
				h.release(0)
				if h.raw < 0 {
					h.fail("raw < 0")
				}
				continue
			}
			h.release(2)
		}
	}
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return v
	}
	return def
}

func runModel(t *testing.T, seed int64, ops int, opts ...Option) {
	var yields atomic.Int64
	restore := SetYield(func() { yields.Add(1) })
	defer restore()
	yieldy := false
	for _, o := range opts {
		var st settings
		o(&st)
		yieldy = yieldy || st.throughputOverFairness
	}
	max0 := int64(4)
	h := &modelHarness{
		t:       t,
		r:       rand.New(rand.NewSource(seed)),
		s:       NewSemaphore(int(max0), modelBackend{}, opts...),
		m:       model{max: max0, avail: max0},
		yieldy:  yieldy,
		results: make(chan outcome, 1024),
		pending: map[int]*mWaiter{},
		yields:  &yields,
		obs:     &modelObserver{},
	}
	for i := 0; i < ops; i++ {
		h.step()
	}
	// Quiesce: cancel everyone, return everything, restore the maximum.
	for len(h.m.queue) > 0 {
		h.cancelOne()
	}
	for len(h.permits) > 0 || h.raw > 0 {
		if h.raw > 0 {
			h.release(0)
		} else {
			h.release(2)
		}
	}
	if got, want := h.s.AvailablePermits(), h.s.MaxPermits(); got != want {
		h.fail("at quiescence AvailablePermits=%d, MaxPermits=%d", got, want)
	}
}

// TestSemaphoreAgainstAModel drives a Semaphore one step at a time
// (Acquire of mixed weights, TryAcquireN, TryAcquireUpTo, Release,
// TryRelease including over-releases, Permit.Release, cancelling any queued
// waiter, SetMaxPermits down into a deficit and back, an Observer attached
// and detached, Close) with random steps from fixed seeds, and after every
// step compares it with a sequential model: which waiters were granted or
// failed and in what order, Waiting, AvailablePermits, InUse, the permits
// the test holds, flagQueued exactly while the queue is not empty, Closed,
// AcquireStats, and whether Release yielded (WithThroughputOverFairness's
// rule). Five option sets: none, WithThroughputOverFairness, WithStripes,
// both, WithoutStripes. GOSYNC_MODEL_SEEDS, GOSYNC_MODEL_OPS and
// GOSYNC_MODEL_BASE run more (20 seeds of 2,000 steps by default).
func TestSemaphoreAgainstAModel(t *testing.T) {
	seeds := envInt("GOSYNC_MODEL_SEEDS", 20)
	ops := envInt("GOSYNC_MODEL_OPS", 2000)
	variants := []struct {
		name string
		opts []Option
	}{
		{"plain", nil},
		{"yield", []Option{WithThroughputOverFairness()}},
		{"stripes", []Option{WithStripes()}},
		{"stripes+yield", []Option{WithStripes(), WithThroughputOverFairness()}},
		{"nostripes", []Option{WithoutStripes()}},
	}
	base := int64(envInt("GOSYNC_MODEL_BASE", 1))
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			for seed := base; seed < base+int64(seeds); seed++ {
				runModel(t, seed, ops, v.opts...)
			}
		})
	}
}
