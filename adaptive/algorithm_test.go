package adaptive_test

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/compio-sync/gosync/adaptive"
)

// step is one sample fed to an Algorithm and the limit it must answer.
// Limit is taken from the previous answer unless set.
type step struct {
	rtt      time.Duration
	inflight int
	dropped  bool
	start    time.Duration // since t0
	limit    int           // 0: the previous answer
	want     int
}

func runSteps(t *testing.T, alg adaptive.Algorithm, first int, steps []step) {
	t.Helper()
	t0 := time.Unix(1000, 0)
	limit := first
	for i, s := range steps {
		if s.limit != 0 {
			limit = s.limit
		}
		got := alg.Update(adaptive.Sample{Start: t0.Add(s.start), RTT: s.rtt, Inflight: s.inflight, Permits: 1, Limit: limit, Dropped: s.dropped})
		if got != s.want {
			t.Fatalf("step %d (%+v, limit %d): Update = %d, want %d", i, s, limit, got, s.want)
		}
		limit = got
	}
}

const ms = time.Millisecond

// TestAIMDSequence: +1 while at least half the limit is in flight, ×0.9
// (floored) on every drop or RTT over the 5 s timeout.
func TestAIMDSequence(t *testing.T) {
	runSteps(t, adaptive.AIMD(), 20, []step{
		{rtt: 10 * ms, inflight: 10, want: 21},         // 10×2 >= 20
		{rtt: 10 * ms, inflight: 5, want: 21},          // app-limited
		{rtt: 6 * time.Second, inflight: 21, want: 18}, // timeout: floor(21×0.9); cut at t0+6s
		{rtt: 10 * ms, dropped: true, want: 16},        // every drop cuts: floor(18×0.9)
		{rtt: 10 * ms, inflight: 8, want: 17},
	})
	runSteps(t, adaptive.AIMD(adaptive.AIMDBackoff(0.5), adaptive.AIMDTimeout(time.Second)), 17, []step{
		{rtt: 2 * time.Second, inflight: 1, want: 8},
	})
}

// TestVegasSequence: the queue estimate limit×(1−noLoad/rtt) against the
// log10 thresholds, hand-computed (probing pushed out of reach).
func TestVegasSequence(t *testing.T) {
	v := adaptive.Vegas(adaptive.VegasProbeMultiplier(1000), adaptive.VegasRand(rand.New(rand.NewPCG(1, 2))))
	runSteps(t, v, 20, []step{
		{rtt: 10 * ms, inflight: 20, want: 20},                  // first RTT: the no-load RTT
		{rtt: 10 * ms, inflight: 20, want: 26},                  // queue 0 <= lg 1: +6·lg
		{rtt: 10 * ms, inflight: 26, want: 32},                  // again
		{rtt: 20 * ms, inflight: 32, want: 31},                  // queue ceil(32×0.5)=16 > 6: −lg
		{rtt: 12500 * time.Microsecond, inflight: 31, want: 30}, // queue ceil(31×0.2)=7 > 6
		{rtt: 11 * ms, inflight: 30, want: 30},                  // queue ceil(2.73)=3: 3 <= q <= 6, hold
		{rtt: 10500 * time.Microsecond, inflight: 30, want: 31}, // queue ceil(1.43)=2 < 3: +lg
		{rtt: 20 * ms, inflight: 10, want: 31},                  // 10×2 < 31: app-limited
		{rtt: 10 * ms, inflight: 31, dropped: true, want: 30},   // drop: −lg
		{rtt: 5 * ms, inflight: 30, want: 30},                   // a lower RTT: new no-load RTT
		{rtt: 5 * ms, inflight: 150, limit: 150, want: 162},     // limit set from outside: lg(150)=2, +12
	})
}

// TestVegasDecrease: VegasDecrease replaces limit − lg on a drop and when
// the queue estimate passes 6·lg, and nothing else; an answer below 1, NaN
// or infinite is held to 1 or a finite limit.
func TestVegasDecrease(t *testing.T) {
	tenth := func(l float64) float64 { return l * 0.9 }
	v := adaptive.Vegas(adaptive.VegasDecrease(tenth), adaptive.VegasProbeMultiplier(1000), adaptive.VegasRand(rand.New(rand.NewPCG(1, 2))))
	runSteps(t, v, 50, []step{
		{rtt: 10 * ms, inflight: 50, want: 50},                // the no-load RTT
		{rtt: 20 * ms, inflight: 50, want: 45},                // queue 25 > 6: 50×0.9
		{rtt: 10 * ms, inflight: 45, dropped: true, want: 40}, // drop: 45×0.9 = 40.5
		{rtt: 10 * ms, inflight: 40, want: 46},                // no queue: +6·lg, as without the option
		{rtt: 11 * ms, inflight: 46, want: 46},                // queue ceil(4.18)=5: hold
	})
	for _, f := range []func(float64) float64{
		func(float64) float64 { return -5 },
		func(float64) float64 { return math.NaN() },
	} {
		v := adaptive.Vegas(adaptive.VegasDecrease(f), adaptive.VegasProbeMultiplier(1000))
		runSteps(t, v, 50, []step{
			{rtt: 10 * ms, inflight: 50, want: 50},
			{rtt: 10 * ms, inflight: 50, dropped: true, want: 1},
		})
	}
	v = adaptive.Vegas(adaptive.VegasDecrease(func(float64) float64 { return math.Inf(1) }), adaptive.VegasProbeMultiplier(1000))
	runSteps(t, v, 50, []step{
		{rtt: 10 * ms, inflight: 50, want: 50},
		{rtt: 10 * ms, inflight: 50, dropped: true, want: math.MaxInt32},
	})
	mustPanic(t, "VegasDecrease(nil)", func() { adaptive.Vegas(adaptive.VegasDecrease(nil)) })
}

// TestVegasProbesTheNoLoadRTT: after jitter×multiplier×limit samples the
// current RTT becomes the no-load RTT, so a lasting rise in latency stops
// counting as queue.
func TestVegasProbesTheNoLoadRTT(t *testing.T) {
	v := adaptive.Vegas(adaptive.VegasProbeMultiplier(1), adaptive.VegasSmoothing(1))
	limit := 10
	t0 := time.Unix(0, 0)
	v.Update(adaptive.Sample{Start: t0, RTT: 10 * ms, Inflight: 10, Limit: limit})
	// From here the RTT is 30 ms: a queue of ceil(10×2/3)=7 > 6 lowers the
	// limit until a probe (within 10 samples: jitter < 1, multiplier 1,
	// limit <= 10) takes 30 ms as the no-load RTT, after which it grows.
	grew := false
	for range 40 {
		next := v.Update(adaptive.Sample{Start: t0, RTT: 30 * ms, Inflight: limit, Limit: limit})
		if next > limit {
			grew = true
		}
		limit = next
	}
	if !grew {
		t.Fatalf("with the RTT steady at 3× the first one, the limit never grew again (ended at %d): no probe reset the no-load RTT", limit)
	}
}

// TestGradient2Sequence: gradient = long/short clamped to [0.5, 1], new =
// limit×gradient + 4, smoothed by 0.2; the long RTT averages the first 10
// samples plainly; a drop counts as gradient 0.5.
func TestGradient2Sequence(t *testing.T) {
	runSteps(t, adaptive.Gradient2(), 20, []step{
		{rtt: 10 * ms, inflight: 20, want: 20},                // est 20×0.8 + 24×0.2 = 20.8
		{rtt: 10 * ms, inflight: 20, want: 21},                // 20.8×0.8 + 24.8×0.2 = 21.6
		{rtt: 20 * ms, inflight: 21, want: 20},                // long 13.33, gradient 0.667: 21.6×0.8 + 18.4×0.2 = 20.96
		{rtt: 10 * ms, inflight: 5, want: 20},                 // 5 < 20.96/2: app-limited (long 12.5)
		{rtt: 10 * ms, inflight: 20, dropped: true, want: 19}, // long 12; 20.96×0.8 + 14.48×0.2 = 19.664
		{rtt: 10 * ms, inflight: 20, dropped: true, want: 18}, // every drop: long 11.67; 19.664×0.8 + 13.832×0.2 = 18.4976
		{rtt: 1 * ms, inflight: 19, want: 19},                 // long 10.14, gradient 1: 18.4976×0.8 + 22.4976×0.2 = 19.2976
	})
}

func TestFixed(t *testing.T) {
	runSteps(t, adaptive.Fixed(7), 7, []step{
		{rtt: 10 * ms, inflight: 7, want: 7},
		{rtt: 10 * ms, inflight: 7, dropped: true, want: 7},
	})
}

func TestDefaultLimits(t *testing.T) {
	for _, c := range []struct {
		name string
		alg  adaptive.Algorithm
		want adaptive.Limits
	}{
		{"AIMD", adaptive.AIMD(), adaptive.Limits{Min: 20, Max: 200, Initial: 20}},
		{"Vegas", adaptive.Vegas(), adaptive.Limits{Min: 1, Max: 1000, Initial: 20}},
		{"Gradient2", adaptive.Gradient2(), adaptive.Limits{Min: 20, Max: 200, Initial: 20}},
		{"Fixed(3)", adaptive.Fixed(3), adaptive.Limits{Min: 3, Max: 3, Initial: 3}},
	} {
		l := adaptive.New(newSem(1), c.alg)
		if got := l.Limits(); got != c.want {
			t.Errorf("%s: Limits() = %+v, want %+v", c.name, got, c.want)
		}
	}
	// An Algorithm without DefaultLimits starts at the semaphore's maximum.
	if got := adaptive.New(newSem(9), &recorder{}).Limit(); got != 9 {
		t.Errorf("a user Algorithm without DefaultLimits starts at %d, want the semaphore's 9", got)
	}
}

// TestWindowedAggregates: one sample per window, with the window's average
// RTT, largest Inflight and any drop; samples under 100 µs do not count; a
// window stays open past its deadline until it has WindowSize samples; the
// next deadline is the closing sample's end plus twice the window's lowest
// RTT, clamped by WindowTime.
func TestWindowedAggregates(t *testing.T) {
	rec := &recorder{answers: []int{7, 9}}
	w := adaptive.Windowed(rec, adaptive.WindowTime(0, 25*ms), adaptive.WindowSize(2))
	t0 := time.Unix(1000, 0)
	feed := func(start, rtt time.Duration, inflight int, dropped bool) int {
		return w.Update(adaptive.Sample{Start: t0.Add(start), RTT: rtt, Inflight: inflight, Permits: 1, Limit: 4, Dropped: dropped})
	}
	steps := []struct {
		got, want int
		what      string
	}{
		{feed(0, 10*ms, 3, false), 4, "one sample: the window needs two"},
		{feed(0, 30*ms, 5, true), 7, "two samples past the deadline: the window closes (next deadline 30+20 ms)"},
		{feed(20*ms, 20*ms, 2, false), 4, "ends at 40 ms, before the deadline"},
		{feed(30*ms, 50*time.Microsecond, 9, true), 4, "under 100 µs: not counted"},
		{feed(40*ms, 12*ms, 6, false), 9, "ends at 52 ms: the second window closes"},
		{feed(60*ms, 30*ms, 1, false), 4, "ends at 90 ms, past the deadline 52 + min(2×12, 25) = 76 ms, but alone"},
	}
	for i, s := range steps {
		if s.got != s.want {
			t.Errorf("step %d (%s): Update = %d, want %d", i, s.what, s.got, s.want)
		}
	}
	want := []adaptive.Sample{
		{Start: t0, RTT: 20 * ms, Inflight: 5, Permits: 1, Limit: 4, Dropped: true},
		{Start: t0.Add(40 * ms), RTT: 16 * ms, Inflight: 6, Permits: 1, Limit: 4},
	}
	if !slices.Equal(rec.samples, want) {
		t.Errorf("the inner algorithm got %+v, want %+v", rec.samples, want)
	}
	if got := adaptive.New(newSem(1), adaptive.Windowed(adaptive.AIMD())).Limits(); got != (adaptive.Limits{Min: 20, Max: 200, Initial: 20}) {
		t.Errorf("Windowed(AIMD()) Limits = %+v, want AIMD's", got)
	}
}
