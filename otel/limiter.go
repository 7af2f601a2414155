package otelgosync

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/compio-sync/gosync/adaptive"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// OutcomeKey is the attribute that carries an adaptive.Outcome.
const OutcomeKey = attribute.Key("outcome")

// LimiterInstrumentation is an adaptive.Limiter's registration with a
// MeterProvider. Its methods are safe for concurrent use.
type LimiterInstrumentation struct {
	reg       metric.Registration
	closeOnce sync.Once
	err       error
}

// InstrumentLimiter registers these instruments for l on mp, all
// asynchronous (read from l's counters when the reader collects, so they
// cost l nothing between collections):
//
//	gosync.limiter.limit      gauge    {permit}   the current limit (Limit)
//	gosync.limiter.inflight   gauge    {permit}   permits held through l (Inflight)
//	gosync.limiter.queued     gauge    {permit}   permits l's callers wait for (Queued)
//	gosync.limiter.outcomes   counter  {acquire}  Acquires and Tokens by how they ended
//
// The outcome attribute is "outcome", one of adaptive.Outcomes' names:
// succeeded, dropped, ignored, shed-deadline, shed-queue-full, canceled and
// failed; the drops and the two kinds of shedding are the overload signals.
// The counter counts from l's creation. WithName and WithAttributes add
// their attributes to every measurement, as for Instrument.
//
// It returns an error if an instrument or the callback cannot be
// registered. It panics with a message starting "otelgosync:" if l or mp
// is nil. Call Close on the result to stop the instruments.
func InstrumentLimiter(l *adaptive.Limiter, mp metric.MeterProvider, opts ...Option) (*LimiterInstrumentation, error) {
	if l == nil {
		panic("otelgosync: InstrumentLimiter with a nil Limiter")
	}
	if mp == nil {
		panic("otelgosync: InstrumentLimiter with a nil MeterProvider")
	}
	var cfg config
	for _, o := range opts {
		o(&cfg)
	}
	m := mp.Meter(ScopeName)
	limit, err1 := m.Int64ObservableGauge("gosync.limiter.limit",
		metric.WithUnit("{permit}"), metric.WithDescription("The adaptive limiter's current limit."))
	inflight, err2 := m.Int64ObservableGauge("gosync.limiter.inflight",
		metric.WithUnit("{permit}"), metric.WithDescription("Permits held through the adaptive limiter."))
	queued, err3 := m.Int64ObservableGauge("gosync.limiter.queued",
		metric.WithUnit("{permit}"), metric.WithDescription("Permits the adaptive limiter's callers are waiting for."))
	outcomes, err4 := m.Int64ObservableCounter("gosync.limiter.outcomes",
		metric.WithUnit("{acquire}"), metric.WithDescription("Acquires and Tokens of the adaptive limiter, by how they ended."))
	if err := errors.Join(err1, err2, err3, err4); err != nil {
		return nil, fmt.Errorf("otelgosync: creating instruments: %w", err)
	}
	baseOpt := metric.WithAttributeSet(attribute.NewSet(cfg.attrs...))
	all := adaptive.Outcomes()
	outcomeOpts := make([]metric.ObserveOption, len(all))
	for i, o := range all {
		set := attribute.NewSet(append(append([]attribute.KeyValue(nil), cfg.attrs...), OutcomeKey.String(o.String()))...)
		outcomeOpts[i] = metric.WithAttributeSet(set)
	}
	reg, err := m.RegisterCallback(func(_ context.Context, ob metric.Observer) error {
		st := l.Stats()
		ob.ObserveInt64(limit, int64(st.Limit), baseOpt)
		ob.ObserveInt64(inflight, int64(l.Inflight()), baseOpt)
		ob.ObserveInt64(queued, int64(l.Queued()), baseOpt)
		for i, o := range all {
			ob.ObserveInt64(outcomes, int64(st.Count(o)), outcomeOpts[i])
		}
		return nil
	}, limit, inflight, queued, outcomes)
	if err != nil {
		return nil, fmt.Errorf("otelgosync: registering the callback: %w", err)
	}
	return &LimiterInstrumentation{reg: reg}, nil
}

// Close unregisters the instruments: later collections report nothing for
// the Limiter. The Limiter itself is unaffected. Close is idempotent and
// returns the unregistration's error, the same on every call.
func (i *LimiterInstrumentation) Close() error {
	i.closeOnce.Do(func() { i.err = i.reg.Unregister() })
	return i.err
}
