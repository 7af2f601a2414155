package main

import (
	"math"
	"slices"
	"time"
)

// Band is the settled band: a limit within [Band.Lo, Band.Hi] × the
// capacity in force.
var Band = struct{ Lo, Hi float64 }{0.75, 1.25}

// A Settle is how long the limit took to settle after a capacity change:
// from the change until the limit entered the band around the new
// capacity and stayed in it to the end of the phase. OK is false when it
// was still out of the band at the end of the phase (Time is then the
// phase's length).
type Settle struct {
	Capacity int
	Time     time.Duration
	OK       bool
}

// Metrics summarize one cell.
type Metrics struct {
	Contender string
	Ours      bool
	Load      float64

	Offered, Good                      int // Good: answered by the service within the deadline
	Shed, Expired, TimedOut, Abandoned int
	GoodputOffered                     float64 // Good / Offered, the whole run
	P50, P99                           time.Duration
	SteadyGoodputCapacity              float64 // in the settled windows: Good per second over capacity per second
	SteadyP50, SteadyP99               time.Duration
	Settles                            []Settle      // one per capacity change
	MaxLag                             time.Duration // Cell.MaxLag
	steadyAdmitted                     int

	// Of every count (MedianOf), for the claims: each count's whole-run
	// GoodputOffered and P99, in count order, and the most any count
	// refused. Summarize sets them for its one count.
	Goodputs   []float64
	P99s       []time.Duration
	RefusedMax int
}

// Refused is the number of requests the gate did not admit.
func (m Metrics) Refused() int { return m.Shed + m.Expired }

// Summarize computes a cell's metrics under plan p. The settled windows
// run from SettleBound after each phase's start to its end; a request
// belongs to the window in which it was called.
func Summarize(p Plan, c Cell) Metrics {
	m := Metrics{Contender: c.Contender, Ours: c.Ours, Load: c.Load, Offered: len(c.Requests), MaxLag: c.MaxLag}
	var all, steady []time.Duration
	var steadyGood int
	var steadyCap float64 // requests the capacity could serve in the windows
	windows := make([][2]time.Duration, len(p.Phases))
	for i, ph := range p.Phases {
		windows[i] = [2]time.Duration{p.Start(i) + min(p.SettleBound, ph.Length), p.Start(i) + ph.Length}
		steadyCap += float64(ph.Capacity) / p.Base.Seconds() * (windows[i][1] - windows[i][0]).Seconds()
	}
	inSteady := func(t time.Duration) bool {
		for _, w := range windows {
			if t >= w[0] && t < w[1] {
				return true
			}
		}
		return false
	}
	for _, r := range c.Requests {
		switch r.Outcome {
		case Shed:
			m.Shed++
		case Expired:
			m.Expired++
		case TimedOut:
			m.TimedOut++
		case Abandoned:
			m.Abandoned++
		}
		good := r.Outcome == Succeeded && r.Latency <= p.Deadline
		if good {
			m.Good++
		}
		st := inSteady(r.Call)
		if st && good {
			steadyGood++
		}
		if r.Admitted() {
			all = append(all, r.Latency)
			if st {
				steady = append(steady, r.Latency)
			}
		}
	}
	m.steadyAdmitted = len(steady)
	if m.Offered > 0 {
		m.GoodputOffered = float64(m.Good) / float64(m.Offered)
	}
	if steadyCap > 0 {
		m.SteadyGoodputCapacity = float64(steadyGood) / steadyCap
	}
	m.P50, m.P99 = quantile(all, 0.50), quantile(all, 0.99)
	m.SteadyP50, m.SteadyP99 = quantile(steady, 0.50), quantile(steady, 0.99)
	for i := 1; i < len(p.Phases); i++ {
		m.Settles = append(m.Settles, settle(c.Limits, p.Start(i), p.Start(i)+p.Phases[i].Length, p.Phases[i].Capacity))
	}
	m.Goodputs, m.P99s, m.RefusedMax = []float64{m.GoodputOffered}, []time.Duration{m.P99}, m.Refused()
	return m
}

// MedianOf folds the counts of one contender at one load into one row:
// every figure is the median of the counts'. Of an even number of counts
// it is the middle value on the worse side (the higher of the two middle
// latencies, settle times and refusal counts, the lower of the two middle
// goodputs), so that a row never looks better than half of its counts.
// Every figure is one some count measured. A settle is the median of the
// settle times with "never" above every time; MaxLag is the largest.
// Goodputs, P99s and RefusedMax keep every count's. It panics if runs is
// empty.
func MedianOf(runs []Metrics) Metrics {
	if len(runs) == 0 {
		panic("overload: MedianOf of no counts")
	}
	m := runs[0]
	m.Goodputs, m.P99s, m.RefusedMax = nil, nil, 0
	// Lower is better for these: the upper middle.
	worseInt := func(f func(Metrics) int) int { return middle(runs, f, true) }
	worseDur := func(f func(Metrics) time.Duration) time.Duration { return middle(runs, f, true) }
	// Higher is better for these: the lower middle.
	worseF := func(f func(Metrics) float64) float64 { return middle(runs, f, false) }
	m.Offered = middle(runs, func(r Metrics) int { return r.Offered }, false)
	m.Good = middle(runs, func(r Metrics) int { return r.Good }, false)
	m.Shed = worseInt(func(r Metrics) int { return r.Shed })
	m.Expired = worseInt(func(r Metrics) int { return r.Expired })
	m.TimedOut = worseInt(func(r Metrics) int { return r.TimedOut })
	m.Abandoned = worseInt(func(r Metrics) int { return r.Abandoned })
	m.steadyAdmitted = middle(runs, func(r Metrics) int { return r.steadyAdmitted }, false)
	m.GoodputOffered = worseF(func(r Metrics) float64 { return r.GoodputOffered })
	m.SteadyGoodputCapacity = worseF(func(r Metrics) float64 { return r.SteadyGoodputCapacity })
	m.P50 = worseDur(func(r Metrics) time.Duration { return r.P50 })
	m.P99 = worseDur(func(r Metrics) time.Duration { return r.P99 })
	m.SteadyP50 = worseDur(func(r Metrics) time.Duration { return r.SteadyP50 })
	m.SteadyP99 = worseDur(func(r Metrics) time.Duration { return r.SteadyP99 })
	m.Settles = append([]Settle(nil), runs[0].Settles...)
	for i := range m.Settles {
		// "never" sorts above every settle time.
		key := func(r Metrics) time.Duration {
			if s := r.Settles[i]; s.OK {
				return s.Time
			}
			return math.MaxInt64
		}
		if t := middle(runs, key, true); t != math.MaxInt64 {
			m.Settles[i] = Settle{Capacity: m.Settles[i].Capacity, Time: t, OK: true}
			continue
		}
		// Never: Time is the phase's length, as in a count that never
		// settled.
		for _, r := range runs {
			if !r.Settles[i].OK {
				m.Settles[i] = r.Settles[i]
				break
			}
		}
	}
	for _, r := range runs {
		m.MaxLag = max(m.MaxLag, r.MaxLag)
		m.Goodputs = append(m.Goodputs, r.GoodputOffered)
		m.P99s = append(m.P99s, r.P99)
		m.RefusedMax = max(m.RefusedMax, r.Refused())
	}
	return m
}

// middle returns the median of f over runs; of an even number of runs, the
// upper of the two middle values if upper, else the lower.
func middle[T int | float64 | time.Duration](runs []Metrics, f func(Metrics) T, upper bool) T {
	vs := make([]T, len(runs))
	for i, r := range runs {
		vs[i] = f(r)
	}
	slices.Sort(vs)
	if upper {
		return vs[len(vs)/2]
	}
	return vs[(len(vs)-1)/2]
}

// quantile returns the q-quantile of ds (nearest rank), or 0 for none. It
// sorts ds.
func quantile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	i := int(math.Ceil(q*float64(len(ds)))) - 1
	return ds[min(max(i, 0), len(ds)-1)]
}

// settle returns how long after from the limit, sampled in samples (in
// time order), entered the band around capacity and stayed in it until to.
// The limit in force at from is the last sample at or before it.
func settle(samples []Sample, from, to time.Duration, capacity int) Settle {
	lo, hi := Band.Lo*float64(capacity), Band.Hi*float64(capacity)
	in := func(l int) bool { return float64(l) >= lo && float64(l) <= hi }
	s := Settle{Capacity: capacity}
	settledAt := time.Duration(-1) // the start of the current in-band run; -1 while out of band
	for i, x := range samples {
		if x.At > to {
			break
		}
		if x.At <= from && (i+1 < len(samples) && samples[i+1].At <= from) {
			continue // superseded before the change
		}
		at := max(x.At, from)
		switch {
		case !in(x.Limit):
			settledAt = -1
		case settledAt < 0:
			settledAt = at
		}
	}
	if settledAt < 0 {
		s.Time = to - from
		return s
	}
	s.Time, s.OK = settledAt-from, true
	return s
}
