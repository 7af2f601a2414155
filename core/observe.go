package core

import (
	"context"
	"strconv"
	"sync/atomic"
	"time"
)

// An Observer is told how the AcquireN calls of a Semaphore that had to
// queue ended, and for how long they waited: what a wait-time histogram
// needs. Everything else a metrics exporter reads is in the Semaphore
// itself: InUse, MaxPermits, Waiting and AcquireStats. Attach one with
// SetObserver or WithObserver; package otelgosync (module
// github.com/compio-sync/gosync/otel) is an Observer for OpenTelemetry.
//
// An Observer must be safe for concurrent use: many goroutines call it at
// once. It is called on the waiting goroutine, outside every lock of the
// Semaphore, before that goroutine's AcquireN returns, so a slow Observer
// delays the caller it reports on and nobody else.
type Observer interface {
	// AcquireWaited is called once for every AcquireN (n > 0) that joined
	// the queue while this Observer was set, when its outcome is decided.
	AcquireWaited(QueuedAcquire)
}

// QueuedAcquire describes one AcquireN call that waited in the queue.
type QueuedAcquire struct {
	N      int           // the permits asked for
	Result AcquireResult // how it ended
	Wait   time.Duration // from joining the queue to its outcome
}

// AcquireResult classifies how an AcquireN call ended.
type AcquireResult uint8

// The outcomes of AcquireN; String returns the names used as metric
// attribute values.
const (
	AcquireGranted   AcquireResult = iota // got its permits ("granted")
	AcquireCanceled                       // its ctx ended first ("canceled")
	AcquireClosed                         // ErrClosed ("closed")
	AcquireTooLarge                       // ErrTooLarge ("too_large")
	AcquireQueueFull                      // ErrQueueFull ("queue_full")
	AcquireFailed                         // the Backend's Park failed ("failed")
	numAcquireResults
)

var acquireResultNames = [numAcquireResults]string{"granted", "canceled", "closed", "too_large", "queue_full", "failed"}

// String returns the result's name: granted, canceled, closed, too_large,
// queue_full or failed.
func (r AcquireResult) String() string {
	if r < numAcquireResults {
		return acquireResultNames[r]
	}
	return "AcquireResult(" + strconv.Itoa(int(r)) + ")"
}

// AcquireResults lists every AcquireResult, in order.
func AcquireResults() []AcquireResult {
	rs := make([]AcquireResult, numAcquireResults)
	for i := range rs {
		rs[i] = AcquireResult(i)
	}
	return rs
}

// AcquireStats counts the AcquireN calls (n > 0) of a Semaphore by outcome.
type AcquireStats struct {
	counts [numAcquireResults]uint64
}

// Count returns how many AcquireN calls ended with r.
func (a AcquireStats) Count(r AcquireResult) uint64 {
	if r < numAcquireResults {
		return a.counts[r]
	}
	return 0
}

// Total returns how many AcquireN calls were counted.
func (a AcquireStats) Total() uint64 {
	var t uint64
	for _, c := range a.counts {
		t += c
	}
	return t
}

// observation is what SetObserver installs: the Observer (nil once
// removed) and the counts of the outcomes decided off the fast path (the
// fast path's grants are in Semaphore.granted, next to the state word).
// The counts outlive the Observer: a later SetObserver keeps them, so they
// only grow. An observation is immutable once stored.
type observation struct {
	o      Observer
	counts *[numAcquireResults]atomic.Uint64
}

// SetObserver attaches o to the Semaphore, replacing any Observer attached
// before, or with o == nil detaches it.
//
// While an Observer is attached, the Semaphore counts the outcomes of its
// AcquireN calls (n > 0; read them with AcquireStats) and reports each call
// that queued to o.AcquireWaited. Counting costs a granted AcquireN one
// atomic add to a counter in the cache line its compare-and-swap already
// holds (no new shared cache line) and no allocation; the other outcomes are
// counted on the slow path. Without an Observer the fast path pays only a
// test of a bit it has already loaded. TryAcquire, TryAcquireN and
// TryAcquireUpTo are never counted: their permits show in InUse.
//
// A call that queued is counted and reported to the Observer that was
// attached when it joined the queue (none: not counted), even if that
// Observer has been replaced or detached by the time the call ends.
// SetObserver works after Close. An observed Semaphore does not stripe
// (see WithStripes): attaching an Observer drains the lanes.
func (s *Semaphore) SetObserver(o Observer) {
	s.mu.Lock()
	if o != nil {
		// Lanes count no grants, so an observed Semaphore does not stripe
		// (engageLanesLocked checks flagObserved): drain them first.
		s.drainLanesLocked()
	}
	counts := new([numAcquireResults]atomic.Uint64)
	if old := s.obs.Load(); old != nil {
		counts = old.counts
	}
	// Two switches, each read on its own path: a take from the word
	// counts into granted when flagObserved is set in the word its CAS
	// replaced (the fast path leaves such a word to acquireN); the
	// slow paths count into the observation's counts when its Observer is
	// not nil. They change together under mu, and a call that straddles
	// the change is counted by whichever it saw (or, if queued, by the
	// observation of its enqueue).
	s.obs.Store(&observation{o: o, counts: counts})
	for {
		st := s.state.Load()
		next := st | flagObserved
		if o == nil {
			next = st &^ flagObserved
		}
		// A CAS, not a store: releasers add to the word without mu.
		if next == st || s.state.CompareAndSwap(st, next) {
			break
		}
	}
	s.mu.Unlock()
}

// WithObserver attaches o when NewSemaphore creates the Semaphore, as
// SetObserver(o) would. It panics with a message starting "core:" if o is
// nil.
func WithObserver(o Observer) Option {
	if o == nil {
		panic("core: WithObserver(nil)")
	}
	return func(s *settings) { s.observer = o }
}

// AcquireStats returns the outcomes of the AcquireN calls (n > 0) made while
// an Observer was attached (see SetObserver); all zero if none ever was.
// Each count only grows. The result is a snapshot: the counts are read one
// after the other, not at one instant.
func (s *Semaphore) AcquireStats() AcquireStats {
	var a AcquireStats
	a.counts[AcquireGranted] = s.granted.Load()
	if o := s.obs.Load(); o != nil {
		for r := range a.counts {
			a.counts[r] += o.counts[r].Load()
		}
	}
	return a
}

// count records an outcome of an AcquireN that left the fast path, if an
// Observer is attached. Slow-path outcomes, grants included, go to the
// observation's counts, never to granted: that keeps the waiters off the
// state word's cache line, which releasers are contending for.
func (s *Semaphore) count(r AcquireResult) {
	if o := s.obs.Load(); o != nil && o.o != nil {
		o.counts[r].Add(1)
	}
}

// queuedObservation returns the observation a waiter joining the queue
// reports to, or nil if no Observer is attached. Called with s.mu held,
// before the waiter is unlocked into the queue: SetObserver replaces the
// observation only under mu, so this is the Observer attached when the
// waiter joined, as SetObserver documents. (Read after the unlock, a
// SetObserver that ran in between would get a waiter that queued before it.)
func (s *Semaphore) queuedObservation() *observation {
	o := s.obs.Load()
	if o == nil || o.o == nil {
		return nil
	}
	return o
}

// start reads the clock for a waiter that reports to o, and reads nothing
// (returning the zero Time) if o is nil. Called after s.mu is unlocked, so
// the clock read never lengthens the critical section.
func (o *observation) start() time.Time {
	if o == nil {
		return time.Time{}
	}
	return time.Now()
}

// waited counts the outcome of a queued AcquireN and reports it to the
// Observer that was attached when it queued (o, from queuedObservation);
// nothing if none was. It is small enough to inline, so that a waiter with
// no Observer pays a nil check, not a call.
func (o *observation) waited(since time.Time, n int, r AcquireResult) {
	if o != nil {
		o.report(since, n, r)
	}
}

// report is waited for an attached Observer.
func (o *observation) report(since time.Time, n int, r AcquireResult) {
	o.counts[r].Add(1)
	o.o.AcquireWaited(QueuedAcquire{N: n, Result: r, Wait: time.Since(since)})
}

// failureResult classifies the error of an AcquireN whose Park failed: ctx
// ended, or the backend failed.
func failureResult(ctx context.Context, err error) AcquireResult {
	if cerr := ctx.Err(); cerr != nil && err == cerr {
		return AcquireCanceled
	}
	return AcquireFailed
}
