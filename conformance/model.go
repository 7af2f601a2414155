package conformance

import (
	"context"
	"errors"
	"time"

	"pgregory.net/rapid"
)

// modelTests drive one semaphore at a time through random single-goroutine
// operation sequences and compare every result and every introspection
// value with a sequential model.
func (s *suite) modelTests(e0 *env) {
	s.run(e0.t, "StateMachine", func(e *env) {
		// Several rounds of rapid's checks (each with a fresh seed): one
		// round of 100 short sequences misses rarer states often.
		for range s.size(10, 3) {
			if e.t.Failed() {
				return
			}
			rapid.Check(e.t, prop(e))
		}
	})
}

// prop is the rapid property: a random operation sequence on one semaphore.
func prop(e *env) func(*rapid.T) {
	return func(rt *rapid.T) {
		m := &semModel{e: e, rt: rt}
		m.init()
		rt.Repeat(map[string]func(*rapid.T){
			"":            m.check,
			"TryAcquireN": m.tryAcquire,
			"AcquireN":    m.acquire,
			"Release":     m.release,
			"OverRelease": m.overRelease,
			"SetMax":      m.setMax,
			"Close":       m.close,
		})
	}
}

// semModel is the sequential model: with one goroutine, nobody ever waits,
// so the state is the maximum, the permits held and whether it is closed.
type semModel struct {
	e      *env
	rt     *rapid.T
	sem    semaphore
	max    int
	inUse  int
	closed bool
	held   []Permit
}

func (m *semModel) init() {
	m.max = rapid.IntRange(0, 6).Draw(m.rt, "permits")
	m.sem = m.e.sem(m.max)
}

func (m *semModel) check(rt *rapid.T) {
	want := counts{Max: m.max, InUse: m.inUse, Available: max(m.max-m.inUse, 0)}
	if got := countsOf(m.sem); got != want {
		rt.Fatalf("counts = %v, want %v", got, want)
	}
	if got := m.sem.Closed(); got != m.closed {
		rt.Fatalf("Closed() = %v, want %v", got, m.closed)
	}
}

func (m *semModel) tryAcquire(rt *rapid.T) {
	n := rapid.IntRange(0, m.max+1).Draw(rt, "n")
	p, ok := m.sem.TryAcquireN(n)
	want := !m.closed && (n == 0 || n <= m.max-m.inUse)
	if ok != want {
		rt.Fatalf("TryAcquireN(%d) with max %d, in use %d, closed %v = %v, want %v", n, m.max, m.inUse, m.closed, ok, want)
	}
	if ok {
		if p.Count() != n {
			rt.Fatalf("TryAcquireN(%d) = Permit{%d}, want Permit{%d}", n, p.Count(), n)
		}
		m.inUse += n
		m.held = append(m.held, p)
	}
}

func (m *semModel) acquire(rt *rapid.T) {
	n := rapid.IntRange(0, m.max+1).Draw(rt, "n")
	// A request that would have to wait can only time out: nobody else
	// releases. Give it a short deadline; give the others a long one.
	blocks := !m.closed && n > 0 && n <= m.max && n > m.max-m.inUse
	timeout := m.e.bound()
	if blocks {
		timeout = m.e.scaled(time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(m.e.ctx, timeout)
	p, err := m.sem.AcquireN(ctx, n)
	cancel()
	if m.e.ctx.Err() != nil {
		rt.Fatalf("the watchdog fired during AcquireN(%d)", n)
	}
	var ok bool
	switch {
	case m.closed && n > m.max:
		ok = errors.Is(err, m.e.errClosed) || errors.Is(err, m.e.errTooLarge)
	case m.closed:
		ok = errors.Is(err, m.e.errClosed)
	case n > m.max:
		ok = errors.Is(err, m.e.errTooLarge)
	case blocks:
		ok = errors.Is(err, context.DeadlineExceeded)
	default:
		ok = err == nil && p.Count() == n
	}
	if !ok {
		rt.Fatalf("AcquireN(%d) with max %d, in use %d, closed %v = (Permit{%d}, %v); want nil, ErrClosed, ErrTooLarge or DeadlineExceeded as the model says (closed > too large > would block > granted)", n, m.max, m.inUse, m.closed, p.Count(), err)
	}
	if err == nil {
		m.inUse += n
		m.held = append(m.held, p)
	} else if p.Count() != 0 {
		rt.Fatalf("failed AcquireN(%d) returned Permit{%d}, want an empty Permit", n, p.Count())
	}
	if w := m.sem.Waiting(); w != 0 {
		rt.Fatalf("Waiting() after AcquireN returned = %d, want 0", w)
	}
}

func (m *semModel) release(rt *rapid.T) {
	if len(m.held) == 0 {
		rt.Skip("nothing held")
	}
	i := rapid.IntRange(0, len(m.held)-1).Draw(rt, "permit")
	p := m.held[i]
	m.held = append(m.held[:i], m.held[i+1:]...)
	n := p.Count()
	if rapid.Bool().Draw(rt, "viaSemaphore") {
		m.sem.Release(n) // the x/sync style: the Permit is dropped.
	} else {
		p.Release()
		p.Release() // exactly once
	}
	m.inUse -= n
}

func (m *semModel) overRelease(rt *rapid.T) {
	if m.sem.TryRelease(m.inUse + 1) {
		rt.Fatalf("TryRelease(%d) with %d in use = true, want false", m.inUse+1, m.inUse)
	}
}

func (m *semModel) setMax(rt *rapid.T) {
	n := rapid.IntRange(0, 8).Draw(rt, "max")
	m.sem.SetMaxPermits(n)
	m.max = n
}

func (m *semModel) close(rt *rapid.T) {
	m.sem.Close()
	m.closed = true
}
