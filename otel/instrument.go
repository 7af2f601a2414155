// Package otelgosync exports the metrics of a gosync core.Semaphore through
// OpenTelemetry: one call to Instrument registers them on a
// metric.MeterProvider.
//
// The instruments are modelled on OpenTelemetry's stable rate-limiting
// conventions (aspnetcore.rate_limiting.*), under the gosync.semaphore
// prefix:
//
//	gosync.semaphore.permits.in_use          gauge     {permit}   permits held (InUse)
//	gosync.semaphore.permits.limit           gauge     {permit}   the maximum (MaxPermits)
//	gosync.semaphore.queued_acquires         gauge     {acquire}  Acquire calls queued (Waiting)
//	gosync.semaphore.acquires                counter   {acquire}  AcquireN calls by result
//	gosync.semaphore.acquire.time_in_queue   histogram s          time queued, for calls that queued, by result
//
// The result attribute is "result", one of granted, canceled, closed,
// too_large, queue_full and failed (core.AcquireResult). The three gauges
// and the counter are asynchronous: they are read from the Semaphore when
// the reader collects, so they cost the Semaphore nothing between
// collections (core counts outcomes next to its state word; see
// docs/design.md). Only the histogram needs each wait: a queued Acquire
// appends its wait to a buffer, which is recorded into the histogram every
// 100 ms by a goroutine that Instrument starts and Close stops, and at the
// start of every collection. An Acquire that queued before Close and ends
// after it records its wait itself.
//
// InstrumentLimiter does the same for an adaptive.Limiter: its limit, what
// it holds and queues, and its outcomes (the drops and shedding that signal
// overload) by reason.
package otelgosync

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/compio-sync/gosync/core"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// ScopeName is the instrumentation scope of the Meter that Instrument uses.
const ScopeName = "github.com/compio-sync/gosync/otel"

// Attribute keys.
const (
	// ResultKey is the attribute that carries a core.AcquireResult.
	ResultKey = attribute.Key("result")
	// NameKey names the Semaphore (WithName), like
	// aspnetcore.rate_limiting.policy names a limiter.
	NameKey = attribute.Key("gosync.semaphore.name")
)

// An Option configures Instrument.
type Option func(*config)

type config struct {
	attrs []attribute.KeyValue
}

// WithName adds the attribute gosync.semaphore.name=name to every
// measurement, so that several Semaphores can share a MeterProvider: give
// each a different name.
func WithName(name string) Option {
	return func(c *config) { c.attrs = append(c.attrs, NameKey.String(name)) }
}

// WithAttributes adds attrs to every measurement.
func WithAttributes(attrs ...attribute.KeyValue) Option {
	return func(c *config) { c.attrs = append(c.attrs, attrs...) }
}

// Instrumentation is a Semaphore's registration with a MeterProvider. Its
// methods are safe for concurrent use.
type Instrumentation struct {
	sem *core.Semaphore
	reg metric.Registration
	obs *observer

	closeOnce sync.Once
	err       error
}

// Instrument registers the instruments listed in the package doc for s on
// mp and attaches an Observer to s (replacing any Observer it had), so that
// s counts its acquire outcomes and reports the time its queued acquires
// wait. Outcomes are counted from this call on.
//
// It returns an error, and leaves s without an Observer, if an instrument
// or the callback cannot be registered. It panics with a message starting
// "otelgosync:" if s or mp is nil. It starts one goroutine, which records
// the buffered waits; call Close on the result to stop it and the
// instruments.
func Instrument(s *core.Semaphore, mp metric.MeterProvider, opts ...Option) (*Instrumentation, error) {
	if s == nil {
		panic("otelgosync: Instrument with a nil Semaphore")
	}
	if mp == nil {
		panic("otelgosync: Instrument with a nil MeterProvider")
	}
	var cfg config
	for _, o := range opts {
		o(&cfg)
	}
	m := mp.Meter(ScopeName)
	inUse, err1 := m.Int64ObservableGauge("gosync.semaphore.permits.in_use",
		metric.WithUnit("{permit}"), metric.WithDescription("Permits of the semaphore held by callers."))
	limit, err2 := m.Int64ObservableGauge("gosync.semaphore.permits.limit",
		metric.WithUnit("{permit}"), metric.WithDescription("The semaphore's maximum number of permits."))
	queued, err3 := m.Int64ObservableGauge("gosync.semaphore.queued_acquires",
		metric.WithUnit("{acquire}"), metric.WithDescription("Acquire calls waiting in the semaphore's queue."))
	acquires, err4 := m.Int64ObservableCounter("gosync.semaphore.acquires",
		metric.WithUnit("{acquire}"), metric.WithDescription("Acquire calls on the semaphore, by result."))
	wait, err5 := m.Float64Histogram("gosync.semaphore.acquire.time_in_queue",
		metric.WithUnit("s"), metric.WithDescription("Time Acquire calls spent in the semaphore's queue, for calls that queued, by result."),
		metric.WithExplicitBucketBoundaries(0.000001, 0.00001, 0.0001, 0.001, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10))
	if err := errors.Join(err1, err2, err3, err4, err5); err != nil {
		return nil, fmt.Errorf("otelgosync: creating instruments: %w", err)
	}

	base := attribute.NewSet(cfg.attrs...)
	baseOpt := metric.WithAttributeSet(base)
	results := core.AcquireResults()
	// The counter starts at 0 here even if s was observed before. start is
	// set before the callback can run and never written again.
	obs := &observer{
		hist:       wait,
		start:      s.AcquireStats(),
		recordOpts: make([][]metric.RecordOption, len(results)),
		stop:       make(chan struct{}),
		done:       make(chan struct{}),
	}
	resultOpts := make([]metric.ObserveOption, len(results))
	for _, r := range results {
		// One attribute set per result, built once: recording and
		// observing then allocate no attributes.
		set := attribute.NewSet(append(append([]attribute.KeyValue(nil), cfg.attrs...), ResultKey.String(r.String()))...)
		resultOpts[r] = metric.WithAttributeSet(set)
		obs.recordOpts[r] = []metric.RecordOption{metric.WithAttributeSet(set)}
	}
	reg, err := m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		obs.flush() // waits recorded now land in this collection
		o.ObserveInt64(inUse, int64(s.InUse()), baseOpt)
		o.ObserveInt64(limit, int64(s.MaxPermits()), baseOpt)
		o.ObserveInt64(queued, int64(s.Waiting()), baseOpt)
		stats := s.AcquireStats()
		for _, r := range results {
			o.ObserveInt64(acquires, int64(stats.Count(r)-obs.start.Count(r)), resultOpts[r])
		}
		return nil
	}, inUse, limit, queued, acquires)
	if err != nil {
		return nil, fmt.Errorf("otelgosync: registering the callback: %w", err)
	}
	s.SetObserver(obs)
	go obs.flushLoop()
	return &Instrumentation{sem: s, reg: reg, obs: obs}, nil
}

// Close unregisters the instruments' callback, detaches the Observer from
// the Semaphore, records the waits still buffered, and stops the goroutine
// that Instrument started to record them. It returns the error of the
// unregistration, if any. Closing twice is harmless.
//
// After Close, the gauges and the counter are no longer reported, and
// Acquire calls that queue are not timed. An Acquire that queued before
// Close and ends after it (granted, cancelled or failed later) still has
// its wait recorded in the histogram, when it ends, on its own goroutine,
// as long as the MeterProvider has not been shut down; its outcome is not
// in the counter, which stopped at Close.
func (i *Instrumentation) Close() error {
	i.closeOnce.Do(func() {
		// From here on no Acquire queues with this Observer; those queued
		// before still report to it.
		i.sem.SetObserver(nil)
		// A wait reported after this records itself; one reported before
		// it is in pending, which the flusher's last flush records.
		i.obs.mu.Lock()
		i.obs.closed = true
		i.obs.mu.Unlock()
		close(i.obs.stop)
		<-i.obs.done
		i.err = i.reg.Unregister()
	})
	return i.err
}

// Wait recording. The SDK's Float64Histogram.Record costs about 100 ns of
// CPU (attribute resolution, the exemplar filter, atomics on the shared
// buckets). A queued Acquire reports its wait while it holds the permits it
// just got, so on a busy Semaphore with few permits that time is on the
// serial path of every handoff. The observer therefore only appends the wait
// to a buffer under a mutex (tens of nanoseconds) and records the buffer
// into the histogram later: every flushPeriod on its own goroutine, and at
// the start of every collection (the callback runs before the SDK reads
// the aggregations), so a collection never misses a wait that ended before
// it. If the buffer holds maxPending waits, the waiter records its own wait
// directly: nothing is dropped, however far behind the flusher falls.
const flushPeriod = 100 * time.Millisecond

// maxPending bounds the buffer of waits (a variable for the tests).
var maxPending = 1 << 16

// observer records the time queued acquires waited.
type observer struct {
	hist       metric.Float64Histogram
	recordOpts [][]metric.RecordOption // indexed by core.AcquireResult
	start      core.AcquireStats       // the counts when instrumented

	mu      sync.Mutex
	pending []queuedWait // waits not yet recorded
	// closed is set by Close under mu: the flusher is stopping, so a wait
	// reported from then on is recorded directly instead of buffered,
	// where nobody would record it.
	closed bool

	flushMu sync.Mutex   // one flush at a time
	spare   []queuedWait // the buffer the last flush emptied; under flushMu

	stop chan struct{}
	done chan struct{}
}

type queuedWait struct {
	seconds float64
	result  core.AcquireResult
}

// AcquireWaited implements core.Observer.
func (o *observer) AcquireWaited(q core.QueuedAcquire) {
	w := queuedWait{q.Wait.Seconds(), q.Result}
	o.mu.Lock()
	if !o.closed && len(o.pending) < maxPending {
		o.pending = append(o.pending, w)
		o.mu.Unlock()
		return
	}
	o.mu.Unlock()
	o.record(w)
}

func (o *observer) record(w queuedWait) {
	o.hist.Record(context.Background(), w.seconds, o.recordOpts[w.result]...)
}

// flush records every pending wait into the histogram.
func (o *observer) flush() {
	o.flushMu.Lock()
	defer o.flushMu.Unlock()
	o.mu.Lock()
	batch := o.pending
	o.pending = o.spare[:0]
	o.mu.Unlock()
	for _, w := range batch {
		o.record(w)
	}
	o.spare = batch
}

// flushLoop flushes every flushPeriod until stop is closed, then once more.
func (o *observer) flushLoop() {
	defer close(o.done)
	t := time.NewTicker(flushPeriod)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			o.flush()
		case <-o.stop:
			o.flush()
			return
		}
	}
}
