package main

import (
	"reflect"
	"testing"
	"time"
)

// TestMedianOf checks how the counts of one cell fold into its row: the
// lower middle value of each figure, "never" above every settle time,
// the largest lag, and every count's goodput, p99 and refusals kept.
func TestMedianOf(t *testing.T) {
	ms := time.Millisecond
	count := func(g float64, p99 time.Duration, shed int, lag time.Duration, s32, s64 Settle) Metrics {
		return Metrics{Contender: "vegas", Ours: true, Load: 2, Offered: 100, Good: int(g * 100), Shed: shed,
			GoodputOffered: g, P50: p99 / 2, P99: p99, SteadyGoodputCapacity: g, SteadyP50: p99 / 2, SteadyP99: p99,
			MaxLag: lag, Settles: []Settle{s32, s64}, steadyAdmitted: 50,
			Goodputs: []float64{g}, P99s: []time.Duration{p99}, RefusedMax: shed}
	}
	never32, never64 := Settle{32, 3 * time.Second, false}, Settle{64, 3 * time.Second, false}
	runs := []Metrics{
		count(0.40, 30*ms, 5, 2*ms, Settle{32, 600 * ms, true}, never64),
		count(0.48, 26*ms, 0, 9*ms, never32, Settle{64, 80 * ms, true}),
		count(0.45, 41*ms, 7, 1*ms, Settle{32, 900 * ms, true}, never64),
		count(0.47, 25*ms, 1, 3*ms, never32, Settle{64, 120 * ms, true}),
	}
	got := MedianOf(runs)
	want := Metrics{Contender: "vegas", Ours: true, Load: 2, Offered: 100, Good: 45, Shed: 1,
		GoodputOffered: 0.45, P50: 13 * ms, P99: 26 * ms, SteadyGoodputCapacity: 0.45, SteadyP50: 13 * ms, SteadyP99: 26 * ms,
		MaxLag: 9 * ms, steadyAdmitted: 50,
		// 32: 600ms, 900ms, never, never: the lower middle is 900ms. 64:
		// 80ms, 120ms, never, never: 120ms.
		Settles:  []Settle{{32, 900 * ms, true}, {64, 120 * ms, true}},
		Goodputs: []float64{0.40, 0.48, 0.45, 0.47}, P99s: []time.Duration{30 * ms, 26 * ms, 41 * ms, 25 * ms}, RefusedMax: 7}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("MedianOf =\n%+v\nwant\n%+v", got, want)
	}
	// A median "never" stays never.
	runs[1].Settles[1] = never64
	if got := MedianOf(runs).Settles; got[1].OK || !got[0].OK {
		t.Errorf("MedianOf settles with three nevers for 64 and two for 32 = %+v, want 64 never, 32 settled", got)
	}
	// One count is its own row.
	one := MedianOf(runs[3:])
	if !reflect.DeepEqual(one, runs[3]) {
		t.Errorf("MedianOf of one count =\n%+v\nwant\n%+v", one, runs[3])
	}
}
