package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestSettle(t *testing.T) {
	ms := time.Millisecond
	for _, tc := range []struct {
		name    string
		samples []Sample
		want    Settle
	}{
		{"in band before the change and after", []Sample{{0, 40}, {50 * ms, 35}, {200 * ms, 32}}, Settle{32, 0, true}},
		{"enters the band and stays", []Sample{{0, 64}, {120 * ms, 60}, {150 * ms, 40}, {170 * ms, 33}}, Settle{32, 50 * ms, true}},
		{"leaves and re-enters", []Sample{{0, 64}, {110 * ms, 30}, {130 * ms, 45}, {160 * ms, 38}}, Settle{32, 60 * ms, true}},
		{"never enters", []Sample{{0, 64}, {150 * ms, 50}}, Settle{32, 900 * ms, false}},
		{"out of band at the end", []Sample{{0, 64}, {150 * ms, 32}, {900 * ms, 41}}, Settle{32, 900 * ms, false}},
		{"band edges are in", []Sample{{0, 64}, {140 * ms, 24}, {180 * ms, 40}}, Settle{32, 40 * ms, true}},
		{"samples after the phase are ignored", []Sample{{0, 64}, {150 * ms, 32}, {1200 * ms, 64}}, Settle{32, 50 * ms, true}},
	} {
		if got := settle(tc.samples, 100*ms, time.Second, 32); got != tc.want {
			t.Errorf("%s: settle = %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

func TestSummarize(t *testing.T) {
	ms := time.Millisecond
	p := Plan{Base: 10 * ms, Deadline: 50 * ms, SettleBound: 500 * ms,
		Phases: []Phase{{10, time.Second}, {5, time.Second}}}
	c := Cell{Contender: "x", Ours: true, Load: 2, Requests: []Request{
		{Call: 100 * ms, Latency: 10 * ms, Outcome: Succeeded},  // good, not settled
		{Call: 600 * ms, Latency: 12 * ms, Outcome: Succeeded},  // good, settled
		{Call: 700 * ms, Latency: 60 * ms, Outcome: Succeeded},  // past the deadline: admitted, not good
		{Call: 800 * ms, Latency: 1 * ms, Outcome: Shed},        // not admitted
		{Call: 1600 * ms, Latency: 50 * ms, Outcome: Expired},   // not admitted
		{Call: 1700 * ms, Latency: 30 * ms, Outcome: TimedOut},  // admitted
		{Call: 1800 * ms, Latency: 50 * ms, Outcome: Abandoned}, // admitted
		{Call: 1900 * ms, Latency: 11 * ms, Outcome: Succeeded}, // good, settled
	}}
	m := Summarize(p, c)
	if m.Offered != 8 || m.Good != 3 || m.Shed != 1 || m.Expired != 1 || m.TimedOut != 1 || m.Abandoned != 1 {
		t.Fatalf("counts = offered %d good %d shed %d expired %d timedout %d abandoned %d, want 8 3 1 1 1 1",
			m.Offered, m.Good, m.Shed, m.Expired, m.TimedOut, m.Abandoned)
	}
	if m.GoodputOffered != 3.0/8 {
		t.Errorf("GoodputOffered = %v, want %v", m.GoodputOffered, 3.0/8)
	}
	// Settled windows: [0.5s, 1s) at 10/10ms = 1000/s and [1.5s, 2s) at
	// 500/s: 500 + 250 requests of capacity; 2 good ones in them.
	if want := 2.0 / 750; m.SteadyGoodputCapacity != want {
		t.Errorf("SteadyGoodputCapacity = %v, want %v", m.SteadyGoodputCapacity, want)
	}
	// Admitted latencies: 10, 12, 60, 30, 50, 11 ms; settled: 12, 60, 30, 50, 11.
	if m.P50 != 12*ms || m.P99 != 60*ms {
		t.Errorf("P50, P99 = %v, %v, want 12ms, 60ms", m.P50, m.P99)
	}
	if m.SteadyP50 != 30*ms || m.SteadyP99 != 60*ms {
		t.Errorf("SteadyP50, SteadyP99 = %v, %v, want 30ms, 60ms", m.SteadyP50, m.SteadyP99)
	}
}

// goodCell returns a cell of ours that meets every target at load.
func goodCell(name string, load float64) Metrics {
	return Metrics{Contender: name, Ours: true, Load: load, Offered: 1000, Good: 990, GoodputOffered: 0.99,
		P99: 14 * time.Millisecond, SteadyGoodputCapacity: 0.97, SteadyP99: 14 * time.Millisecond, steadyAdmitted: 500,
		Settles:  []Settle{{32, time.Second, true}, {64, 500 * time.Millisecond, true}},
		Goodputs: []float64{0.99, 0.985}, P99s: []time.Duration{14 * time.Millisecond, 13900 * time.Microsecond}}
}

func TestClaims(t *testing.T) {
	const unloaded, bound = 10 * time.Millisecond, 2 * time.Second
	peer := func(load float64) Metrics {
		return Metrics{Contender: "failsafe-go", Load: load, GoodputOffered: 0.99, P99: 14 * time.Millisecond,
			Goodputs: []float64{0.99, 0.98}, P99s: []time.Duration{14 * time.Millisecond, 13800 * time.Microsecond}}
	}
	var all []Metrics
	for _, load := range []float64{0.5, 1, 2, 4} {
		all = append(all, goodCell("vegas", load), peer(load))
	}
	for i, c := range Claims(all, unloaded, bound) {
		if !c.Holds() {
			t.Errorf("claim %d (%s) with every cell on target: misses %q, checked %d", i, c.Text, c.Misses, c.Checked)
		}
	}

	// Each target missed by one cell, by a little.
	miss := func(load float64, f func(*Metrics)) []Metrics {
		out := append([]Metrics(nil), all...)
		for i := range out {
			out[i].Settles = append([]Settle(nil), out[i].Settles...)
			if out[i].Contender == "vegas" && out[i].Load == load {
				f(&out[i])
			}
		}
		return out
	}
	for _, tc := range []struct {
		name  string
		ms    []Metrics
		claim int
		want  string
	}{
		{"goodput", miss(4, func(m *Metrics) { m.SteadyGoodputCapacity = 0.949 }), 0, "vegas at 4x: 0.949 of capacity"},
		{"p99", miss(2, func(m *Metrics) { m.SteadyP99 = 15*time.Millisecond + 1 }), 1, "vegas at 2x: p99 15.0ms = 1.50x"},
		{"settle late", miss(2, func(m *Metrics) { m.Settles[0].Time = bound + time.Millisecond }), 2, "capacity to 32: settled after 2.001s"},
		{"never settled", miss(4, func(m *Metrics) { m.Settles[1] = Settle{64, 3 * time.Second, false} }), 2, "capacity to 64: never settled"},
		{"goodput below failsafe-go in every count", miss(1, func(m *Metrics) { m.Goodputs = []float64{0.9799, 0.97} }), 3,
			"vegas at 1x: goodput 0.9700 to 0.9799 < 0.9800 to 0.9900 in every count"},
		{"p99 above failsafe-go in every count", miss(0.5, func(m *Metrics) {
			m.P99s = []time.Duration{14*time.Millisecond + 40*time.Microsecond, 14001 * time.Microsecond}
		}), 3, "vegas at 0.5x: p99 14.001ms to 14.040ms > 13.800ms to 14.000ms in every count"},
		{"p99 above failsafe-go, one count each", miss(2, func(m *Metrics) { m.P99s = []time.Duration{14001 * time.Microsecond} }), 3,
			"vegas at 2x: p99 14.001ms > 13.800ms to 14.000ms in every count"},
		{"refused at 0.5x", miss(0.5, func(m *Metrics) { m.RefusedMax, m.Shed = 3, 1 }), 4, "vegas at 0.5x: 3 of 1000 refused in one count (median: 1 shed, 0 expired)"},
		{"refused at 0.5x in one count only", miss(0.5, func(m *Metrics) { m.RefusedMax = 2 }), 4, "2 of 1000 refused in one count"},
	} {
		cs := Claims(tc.ms, unloaded, bound)
		for i, c := range cs {
			if i == tc.claim {
				if c.Holds() || len(c.Misses) != 1 || !strings.Contains(c.Misses[0], tc.want) {
					t.Errorf("%s: claim %d misses %q, want one containing %q", tc.name, i, c.Misses, tc.want)
				}
				var b bytes.Buffer
				WriteClaims(&b, cs[i:i+1])
				if !strings.Contains(b.String(), "MISSED in 1 of") {
					t.Errorf("%s: WriteClaims printed %q, want a MISSED line", tc.name, b.String())
				}
			} else if !c.Holds() {
				t.Errorf("%s: claim %d (%s) also missed: %q", tc.name, i, c.Text, c.Misses)
			}
		}
	}

	// Counts that overlap failsafe-go's hold, however their medians fall.
	overlap := miss(4, func(m *Metrics) {
		m.P99, m.P99s = 15*time.Millisecond, []time.Duration{15 * time.Millisecond, 13999 * time.Microsecond}
		m.GoodputOffered, m.Goodputs = 0.5, []float64{0.5, 0.981}
	})
	if c := Claims(overlap, unloaded, bound)[3]; !c.Holds() {
		t.Errorf("counts that overlap failsafe-go's: misses %q, want the claim to hold", c.Misses)
	}

	// A cell of another contender never counts; no cell of ours means not
	// measured, never holds.
	others := []Metrics{{Contender: "fixed-256", Load: 4, SteadyGoodputCapacity: 0}, peer(4)}
	var b bytes.Buffer
	cs := Claims(others, unloaded, bound)
	WriteClaims(&b, cs)
	for _, c := range cs {
		if c.Holds() || c.Checked != 0 {
			t.Errorf("claim %s with no cell of ours: holds %v, checked %d, want not measured", c.Text, c.Holds(), c.Checked)
		}
	}
	if got := strings.Count(b.String(), "not measured"); got != len(cs) {
		t.Errorf("WriteClaims printed %d 'not measured' lines, want %d:\n%s", got, len(cs), b.String())
	}
}
