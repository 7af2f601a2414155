package main

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"time"
)

// A Phase is a stretch of a cell during which the service has one capacity.
type Phase struct {
	Capacity int
	Length   time.Duration
}

// A Plan is what every cell runs: the service's model, the caller's
// deadline and the phases.
type Plan struct {
	Base           time.Duration // the service's latency up to its capacity
	ServiceTimeout time.Duration // the service gives up on a request that would take longer
	Deadline       time.Duration // each caller's deadline, from its call: queueing and service
	Phases         []Phase
	SettleBound    time.Duration // the settle target; a phase is "settled" from this long after it starts
	SampleEvery    time.Duration // how often the limit is sampled
}

// Start returns the offset at which phase i starts.
func (p Plan) Start(i int) time.Duration {
	var t time.Duration
	for _, ph := range p.Phases[:i] {
		t += ph.Length
	}
	return t
}

// Length is the whole run's length.
func (p Plan) Length() time.Duration { return p.Start(len(p.Phases)) }

// Outcome is how one request ended.
type Outcome uint8

const (
	Shed      Outcome = iota // refused by the gate: at once, or when the gate's own wait bound passed
	Expired                  // its deadline passed while it queued for the gate
	Succeeded                // the service answered
	TimedOut                 // the service gave up (ErrServiceTimeout)
	Abandoned                // admitted, but its deadline passed before the service answered
)

// A Request is one arrival's record. Latency is measured from the call
// (before the gate) until the call returned, for every request; for an
// admitted one that is queueing plus service, or queueing plus the wait
// until the deadline when it was abandoned.
type Request struct {
	Call    time.Duration // offset from the cell's start
	Latency time.Duration
	Outcome Outcome
}

// Admitted reports whether the gate let the request through.
func (r Request) Admitted() bool { return r.Outcome >= Succeeded }

// A Sample is the limit in force at an offset.
type Sample struct {
	At    time.Duration
	Limit int
}

// A Cell is one contender at one load: every request and the limit over
// time.
type Cell struct {
	Contender string
	Ours      bool
	Load      float64 // offered load as a multiple of the capacity in force
	Requests  []Request
	Limits    []Sample
	// MaxLag is the latest any arrival started after its scheduled time:
	// more than a few milliseconds means the process was stalled (by
	// other work on the machine), and every number of the cell with it.
	MaxLag time.Duration
}

// arrivals returns the call offsets of an open-loop Poisson process whose
// rate in each phase is load × capacity / base per second: the load
// follows the capacity, so that a cell's load factor holds in every phase.
func arrivals(p Plan, load float64, rng *rand.Rand) []time.Duration {
	var out []time.Duration
	for i, ph := range p.Phases {
		start, end := p.Start(i), p.Start(i)+ph.Length
		rate := load * float64(ph.Capacity) / p.Base.Seconds() // per second
		t := start
		for {
			t += time.Duration(rng.ExpFloat64() / rate * float64(time.Second))
			if t >= end {
				break
			}
			out = append(out, t)
		}
	}
	return out
}

// runCell drives g and a fresh service through the plan with the given
// arrivals, in real time, and returns the records. Callers do not wait for
// one another: each arrival is its own goroutine, started at its offset
// whatever the others are doing.
func runCell(p Plan, g gate, calls []time.Duration) (reqs []Request, limits []Sample, maxLag time.Duration) {
	svc := NewService(p.Base, p.ServiceTimeout, p.Phases[0].Capacity)
	reqs = make([]Request, len(calls))
	start := time.Now()

	// The capacity changes, at the start of every phase but the first.
	stop := make(chan struct{})
	var bg sync.WaitGroup
	bg.Add(2)
	go func() {
		defer bg.Done()
		for i := 1; i < len(p.Phases); i++ {
			select {
			case <-time.After(time.Until(start.Add(p.Start(i)))):
				svc.SetCapacity(p.Phases[i].Capacity)
			case <-stop:
				return
			}
		}
	}()
	// The limit, sampled.
	go func() {
		defer bg.Done()
		t := time.NewTicker(p.SampleEvery)
		defer t.Stop()
		for {
			limits = append(limits, Sample{time.Since(start), g.limit()})
			select {
			case <-t.C:
			case <-stop:
				return
			}
		}
	}()

	var wg sync.WaitGroup
	for i, at := range calls {
		// Sleeps shorter than half a millisecond are not worth their
		// imprecision: such an arrival starts a little early instead.
		if d := time.Until(start.Add(at)); d > 500*time.Microsecond {
			time.Sleep(d)
		}
		maxLag = max(maxLag, time.Since(start)-at)
		wg.Add(1)
		go func() {
			defer wg.Done()
			reqs[i] = call(p, svc, g, start)
		}()
	}
	wg.Wait()
	close(stop)
	bg.Wait()
	// The service finishes what its callers abandoned before the next cell.
	for svc.Inflight() > 0 {
		time.Sleep(p.Base)
	}
	return reqs, limits, maxLag
}

// call is one caller: its deadline covers the gate and the service.
func call(p Plan, svc *Service, g gate, start time.Time) Request {
	t0 := time.Now()
	r := Request{Call: t0.Sub(start)}
	ctx, cancel := context.WithDeadline(context.Background(), t0.Add(p.Deadline))
	defer cancel()
	end, err := g.acquire(ctx)
	if err != nil {
		r.Latency = time.Since(t0)
		r.Outcome = Shed
		if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
			r.Outcome = Expired
		}
		return r
	}
	err = svc.Call(ctx)
	r.Latency = time.Since(t0)
	switch {
	case err == nil:
		r.Outcome = Succeeded
		end(endSucceeded)
	case errors.Is(err, ErrServiceTimeout):
		r.Outcome = TimedOut
		end(endTimedOut)
	default:
		r.Outcome = Abandoned
		end(endAbandoned)
	}
	return r
}
