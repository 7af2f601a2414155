package conformance

import (
	"fmt"
	"slices"
	"time"
)

// latencySlack is how much slower than a channel handoff, measured in the
// same run, the median wake of a Parker may be. A system call per wake costs
// microseconds, a slow VM's futex wake a few milliseconds; a backend whose
// median wake is tens of milliseconds behind a channel is broken (it sleeps
// or polls instead of waking).
const latencySlack = 25 * time.Millisecond

// parkerLatencyTests check that a wake is prompt, without wall-clock
// thresholds that a noisy machine could trip: the backend is compared with a
// reference channel handoff measured in the same run, interleaved sample by
// sample so that both see the same noise, and only medians are compared, so
// that a few preempted samples cannot decide the outcome.
func (s *suite) parkerLatencyTests(e0 *env) {
	s.run(e0.t, "WakeLatency", func(e *env) {
		samples := s.size(31, 21)
		p := e.parker()
		// Buffered, so that neither goroutine is stranded sending when
		// the loop below stops early.
		woke := make(chan time.Time, samples)
		parkErr := make(chan error, 1)
		go func() {
			for range samples {
				if err := p.Park(e.ctx); err != nil {
					parkErr <- err
					return
				}
				woke <- time.Now()
			}
		}()
		ref := make(chan struct{}, samples)
		refWoke := make(chan time.Time, samples)
		defer close(ref)
		go func() {
			for range ref {
				refWoke <- time.Now()
			}
		}()
		var got, want []time.Duration
		for i := range samples {
			time.Sleep(time.Millisecond) // let both sides reach their wait.
			start := time.Now()
			p.Unpark()
			end, ok := recv(e, woke, fmt.Sprintf("sample %d: Park() after Unpark()", i))
			if !ok {
				return
			}
			got = append(got, end.Sub(start))

			time.Sleep(time.Millisecond)
			start = time.Now()
			ref <- struct{}{}
			want = append(want, (<-refWoke).Sub(start))
		}
		select {
		case err := <-parkErr:
			e.t.Fatalf("Park() = %v after Unpark, want nil", err)
		default:
		}
		slices.Sort(got)
		slices.Sort(want)
		medGot, medRef := got[len(got)/2], want[len(want)/2]
		e.t.Logf("median wake latency over %d wakes: %v (channel handoff in the same run: %v)", samples, medGot, medRef)
		if medGot-medRef > latencySlack {
			e.t.Errorf("median Unpark-to-Park-return latency = %v over %d wakes, want within %v of the %v a channel handoff took in the same run (does the backend delay or poll its wakes?)", medGot, samples, latencySlack, medRef)
		}
	})
}
