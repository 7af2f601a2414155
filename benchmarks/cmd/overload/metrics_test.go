package main

import (
	"reflect"
	"testing"
	"time"
)

// TestMedianOf checks how the counts of one cell fold into its row: the
// median of each figure, of an even number the middle value on the worse
// side, "never" above every settle time (and a "never" row keeps the
// phase's length), the largest lag, and every count's goodput, p99 and
// refusals kept.
func TestMedianOf(t *testing.T) {
	ms := time.Millisecond
	count := func(g float64, p99 time.Duration, shed int, lag time.Duration, s32, s64 Settle) Metrics {
		return Metrics{Contender: "vegas", Ours: true, Load: 2, Offered: 100, Good: int(g*100 + 0.5), Shed: shed,
			GoodputOffered: g, P50: p99 / 2, P99: p99, SteadyGoodputCapacity: g, SteadyP50: p99 / 2, SteadyP99: p99,
			MaxLag: lag, Settles: []Settle{s32, s64}, steadyAdmitted: 50,
			Goodputs: []float64{g}, P99s: []time.Duration{p99}, RefusedMax: shed}
	}
	never32, never64 := Settle{32, 3 * time.Second, false}, Settle{64, 3 * time.Second, false}
	runs := []Metrics{
		count(0.40, 30*ms, 5, 2*ms, Settle{32, 600 * ms, true}, Settle{64, 90 * ms, true}),
		count(0.48, 26*ms, 0, 9*ms, never32, Settle{64, 80 * ms, true}),
		count(0.45, 41*ms, 7, 1*ms, Settle{32, 900 * ms, true}, never64),
		count(0.47, 25*ms, 1, 3*ms, Settle{32, 500 * ms, true}, Settle{64, 120 * ms, true}),
	}
	got := MedianOf(runs)
	want := Metrics{Contender: "vegas", Ours: true, Load: 2, Offered: 100,
		// Higher is better: the lower middle of 0.40 0.45 0.47 0.48.
		Good: 45, GoodputOffered: 0.45, SteadyGoodputCapacity: 0.45,
		// Lower is better: the upper middle of 25 26 30 41 ms, of 0 1 5 7.
		P50: 15 * ms, P99: 30 * ms, SteadyP50: 15 * ms, SteadyP99: 30 * ms, Shed: 5,
		MaxLag: 9 * ms, steadyAdmitted: 50,
		// 32: 500ms 600ms 900ms never: 900ms. 64: 80ms 90ms 120ms never:
		// 120ms.
		Settles:  []Settle{{32, 900 * ms, true}, {64, 120 * ms, true}},
		Goodputs: []float64{0.40, 0.48, 0.45, 0.47}, P99s: []time.Duration{30 * ms, 26 * ms, 41 * ms, 25 * ms}, RefusedMax: 7}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("MedianOf =\n%+v\nwant\n%+v", got, want)
	}
	// Half the counts never settling is a "never" row, with the phase's
	// length, even where the first count settled.
	runs[0].Settles[0], runs[2].Settles[0] = Settle{32, 500 * ms, true}, never32
	runs[3].Settles[0] = never32
	if got := MedianOf(runs).Settles[0]; got != never32 {
		t.Errorf("MedianOf settle with 3 of 4 counts never settling = %+v, want %+v", got, never32)
	}
	runs[3].Settles[0] = Settle{32, 700 * ms, true}
	if got := MedianOf(runs).Settles[0]; got != never32 {
		t.Errorf("MedianOf settle with 2 of 4 counts never settling = %+v, want %+v", got, never32)
	}
	// One count is its own row.
	one := MedianOf(runs[3:])
	if !reflect.DeepEqual(one, runs[3]) {
		t.Errorf("MedianOf of one count =\n%+v\nwant\n%+v", one, runs[3])
	}
}
