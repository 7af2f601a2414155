package adaptive

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/compio-sync/gosync/core"
)

// ErrWouldMissDeadline is returned by an Acquire of a Limiter made
// WithDeadlineShedding when its context's deadline comes sooner than the
// estimated wait for its permits. The Acquire holds nothing and never
// queued.
var ErrWouldMissDeadline = errors.New("adaptive: the estimated wait for permits exceeds the context's deadline")

// A Limiter sets its semaphore's maximum from the samples its Tokens report.
// It is safe for concurrent use.
//
// The limit always stays within the Limiter's Limits, and after every
// change the semaphore's MaxPermits equals Limit (for a *fleet.Semaphore,
// once its SetMaxPermits reached etcd; see docs/adaptive.md). Everything
// else (FIFO order, weights, cancellation, Close, the bounded queue) is the
// semaphore's: use the semaphore only through the Limiter, or the samples
// miss the work done beside it.
type Limiter struct {
	sem      driver
	now      func() time.Time
	onChange func(old, new int)
	maxQueue float64 // queue bound as a multiple of the limit; < 0 means none
	shed     bool
	limits   Limits

	// mu serializes the algorithm (Algorithms are not safe for concurrent
	// use) and the limit change that follows it, so that the semaphore's
	// maximum, limit and the OnLimitChange calls see one order of changes.
	mu  sync.Mutex
	alg Algorithm

	// cheapInUse reports that sem.inUse, every permit held in the
	// semaphore through this Limiter or not, is cheap: a semaphore on a
	// core Backend (core.Semaphore.InUse, a few atomic loads). The
	// others' InUse takes a lock or a round trip to etcd.
	cheapInUse bool

	limit    atomic.Int64 // written under mu, after the semaphore's maximum
	inflight atomic.Int64 // permits held through Tokens not yet ended
	queued   atomic.Int64 // permits asked by AcquireN calls inside the semaphore
	service  atomic.Int64 // smoothed RTT of successes, in ns; 0 before the first
	counts   [numOutcomes]atomic.Uint64
}

// An Option configures a Limiter made by New.
type Option func(*config)

type config struct {
	limits    *Limits
	onChange  func(old, new int)
	maxQueue  float64
	shed      bool
	now       func() time.Time
	seenQueue bool
}

// Limits bound a Limiter's limit: it starts at Initial and every change
// is clamped to [Min, Max].
type Limits struct {
	Min, Max, Initial int
}

// WithLimits sets the bounds and the starting limit. Without it a Limiter
// uses its algorithm's published defaults (each constructor documents
// them). New panics with a message starting "adaptive:" unless
// 1 <= min <= initial <= max <= core.MaxPermitsLimit.
func WithLimits(min, max, initial int) Option {
	l := Limits{Min: min, Max: max, Initial: initial}
	l.check("WithLimits")
	return func(c *config) { c.limits = &l }
}

func (l Limits) check(call string) {
	if l.Min < 1 || l.Min > l.Initial || l.Initial > l.Max || int64(l.Max) > core.MaxPermitsLimit {
		panic(fmt.Sprintf("adaptive: %s(min %d, max %d, initial %d): want 1 <= min <= initial <= max <= core.MaxPermitsLimit",
			call, l.Min, l.Max, l.Initial))
	}
}

// WithOnLimitChange calls f(old, new) after every change of the limit, once
// the semaphore's maximum is new. Calls come one at a time, in the order of
// the changes, from the goroutine whose Token ended, while the Limiter
// holds its lock: f must be quick and must not end a Token of this Limiter
// (that would deadlock); reading Limit, Inflight, Queued or Stats is fine.
func WithOnLimitChange(f func(old, new int)) Option {
	return func(c *config) { c.onChange = f }
}

// WithMaxQueue bounds the semaphore's waiter queue to ceil(factor × limit)
// waiters, re-set after every limit change, through the semaphore's own
// bounded queue (core.Semaphore.SetMaxWaiters): an Acquire that would have
// to queue behind that many fails at once with core.ErrQueueFull, holding
// nothing. factor 0 means no queue at all. New panics with a message
// starting "adaptive:" if factor is negative or not a number, or if the
// semaphore has no SetMaxWaiters method.
func WithMaxQueue(factor float64) Option {
	if !(factor >= 0) || math.IsInf(factor, 1) {
		panic(fmt.Sprintf("adaptive: WithMaxQueue(%v): want a finite factor >= 0", factor))
	}
	return func(c *config) { c.maxQueue, c.seenQueue = factor, true }
}

// WithDeadlineShedding makes an Acquire whose context has a deadline fail
// at once with ErrWouldMissDeadline, holding nothing, when the deadline
// comes sooner than the estimated wait. The estimate is Little's law: the
// permits held, those asked by this Limiter's Acquires still waiting in
// the semaphore, and the request's own, less the limit, must come back
// before it is granted, at limit permits per service time: it waits about
// (held + asked ahead + its own − limit) × service time / limit, and
// nothing when that is 0 or less. Over a core.Semaphore the permits held
// are every permit held in it, through this Limiter or not (a few atomic
// loads). Over the shared and fleet semaphores, whose count costs a lock
// or a round trip to etcd, they are this Limiter's Tokens, and any of its
// Acquires still inside the semaphore counts as waiting behind a full
// limit. The service time is a smoothed RTT of the Tokens that ended with
// Success. Before the first Success there is no estimate and nothing is
// shed. Only Acquires made through this Limiter count as asked ahead.
func WithDeadlineShedding() Option {
	return func(c *config) { c.shed = true }
}

// WithClock replaces time.Now as the Limiter's clock, which times every
// Token and the deadline estimate. It is meant for simulations and tests
// that drive a Limiter in virtual time; now must be safe for concurrent use
// and never go backwards.
func WithClock(now func() time.Time) Option {
	if now == nil {
		panic("adaptive: WithClock(nil)")
	}
	return func(c *config) { c.now = now }
}

// DefaultLimiter is an optional method of an Algorithm: the Limits a
// Limiter uses when New is given no WithLimits.
type DefaultLimiter interface {
	DefaultLimits() Limits
}

// New returns a Limiter that steers sem with alg. It sets sem's maximum to
// the initial limit at once (WithLimits, or alg's DefaultLimits, or else
// Limits{Min: 1, Max: core.MaxPermitsLimit (or the largest int), Initial: sem.MaxPermits()}).
// The type parameters are inferred from sem:
//
//	l := adaptive.New(sem, adaptive.Vegas())
//
// alg belongs to the Limiter from then on: give each Limiter its own. New
// panics with a message starting "adaptive:" if alg is nil, if sem's permit
// type cannot be released, or on a bad option (see each option).
func New[S Semaphore[P], P any](sem S, alg Algorithm, opts ...Option) *Limiter {
	if alg == nil {
		panic("adaptive: New with a nil Algorithm")
	}
	if any(sem) == nil {
		panic("adaptive: New with a nil semaphore")
	}
	d := newDriver(sem)
	c := config{now: time.Now, maxQueue: -1}
	for _, o := range opts {
		o(&c)
	}
	if c.seenQueue && !d.canBoundQueue() {
		panic(fmt.Sprintf("adaptive: WithMaxQueue: %s has no SetMaxWaiters method, so its queue cannot be bounded", d.name()))
	}
	var lim Limits
	switch {
	case c.limits != nil:
		lim = *c.limits
	default:
		if dl, ok := alg.(DefaultLimiter); ok {
			lim = dl.DefaultLimits()
			lim.check(fmt.Sprintf("%T.DefaultLimits", alg))
		} else {
			lim = Limits{Min: 1, Max: maxLimit, Initial: max(1, d.maxPermits())}
		}
	}
	l := &Limiter{sem: d, now: c.now, onChange: c.onChange, maxQueue: c.maxQueue, shed: c.shed, limits: lim, alg: alg}
	_, l.cheapInUse = any(sem).(coreBacked)
	l.mu.Lock()
	l.applyLocked(lim.Initial, true)
	l.mu.Unlock()
	return l
}

// Acquire is AcquireN(ctx, 1).
func (l *Limiter) Acquire(ctx context.Context) (Token, error) { return l.AcquireN(ctx, 1) }

// AcquireN waits for n permits of the semaphore, in its FIFO order.
//
// On success it returns a Token holding them; end it exactly once with
// Success, Drop or Ignore, which releases them. On failure it returns the
// zero Token and holds nothing: with ErrWouldMissDeadline (deadline
// shedding; it never queued), or with the semaphore's error, unchanged
// (ctx.Err(), core.ErrClosed, core.ErrTooLarge, core.ErrQueueFull, or the
// shared and fleet equivalents). It panics with a message starting
// "adaptive:" if n < 1.
func (l *Limiter) AcquireN(ctx context.Context, n int) (Token, error) {
	if n < 1 {
		panic(fmt.Sprintf("adaptive: AcquireN(ctx, %d): n must be at least 1", n))
	}
	if l.shed {
		if dl, ok := ctx.Deadline(); ok {
			if wait := l.estimatedWait(n); wait > 0 && l.now().Add(wait).After(dl) {
				l.counts[ShedDeadline].Add(1)
				return Token{}, ErrWouldMissDeadline
			}
		}
	}
	l.queued.Add(int64(n))
	t, err := l.sem.acquire(ctx, n)
	l.queued.Add(-int64(n))
	if err != nil {
		l.counts[acquireFailure(ctx, err)].Add(1)
		return Token{}, err
	}
	t.l = l
	t.n = n
	t.inflight = int(l.inflight.Add(int64(n)))
	t.start = l.now()
	return Token{t: t, gen: t.gen.Load()}, nil
}

func acquireFailure(ctx context.Context, err error) Outcome {
	switch {
	case errors.Is(err, core.ErrQueueFull):
		return ShedQueueFull
	case ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Cause(ctx))):
		return Canceled
	default:
		return Failed
	}
}

// coreBacked is a semaphore on a core Backend: *core.Semaphore, or a type
// that embeds one. Its InUse is a few atomic loads.
type coreBacked interface{ Backend() core.Backend }

// estimatedWait is Little's law for a request of n permits: 0 if there is
// no service time yet, or if the permits held, those asked by the
// Acquires already inside the semaphore and its own all fit in the limit
// (the ones inside are then on their way to a grant, not a queue: counted
// as queued ahead, a few callers entering together would make the
// estimate refuse requests that permits are free for). Else the excess
// over the limit must drain first, at limit/service permits per unit of
// time. The permits held are the semaphore's own count where it is cheap
// (cheapInUse), so that permits held outside this Limiter count too; where
// it is not, they are this Limiter's Tokens, and a caller inside the
// semaphore is taken to wait behind a full limit.
func (l *Limiter) estimatedWait(n int) time.Duration {
	svc := l.service.Load()
	if svc == 0 {
		return 0
	}
	limit := l.limit.Load()
	queued := l.queued.Load()
	held := l.inflight.Load()
	switch {
	case l.cheapInUse:
		held = max(held, int64(l.sem.inUse()))
	case queued > 0:
		held = max(held, limit)
	}
	excess := held + queued + int64(n) - limit
	if excess <= 0 {
		return 0
	}
	return time.Duration(float64(excess) * float64(svc) / float64(limit))
}

// sample feeds one ended Token to the algorithm and applies its answer.
func (l *Limiter) sample(s Sample) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !s.Dropped && s.RTT > 0 {
		// The service time for the deadline estimate: an exponentially
		// weighted average with weight 1/8, TCP's smoothed RTT (RFC 6298).
		svc := l.service.Load()
		if svc == 0 {
			svc = int64(s.RTT)
		} else {
			svc += (int64(s.RTT) - svc) / 8
		}
		l.service.Store(max(svc, 1))
	}
	s.Limit = int(l.limit.Load())
	l.applyLocked(l.alg.Update(s), false)
}

// applyLocked clamps n to the Limits and, if it differs from the limit in
// force (or first is set), sets the semaphore's maximum, then the limit,
// then the queue bound, then tells WithOnLimitChange. Called with mu held.
func (l *Limiter) applyLocked(n int, first bool) {
	n = min(max(n, l.limits.Min), l.limits.Max)
	old := int(l.limit.Load())
	if n == old && !first {
		return
	}
	l.sem.setMaxPermits(n)
	l.limit.Store(int64(n))
	if l.maxQueue >= 0 {
		l.sem.setMaxWaiters(int(math.Ceil(l.maxQueue * float64(n))))
	}
	l.counts[limitChanges].Add(1)
	if l.onChange != nil && !first {
		l.onChange(old, n)
	}
}

// Limit returns the limit in force: the semaphore's maximum as the Limiter
// last set it.
func (l *Limiter) Limit() int { return int(l.limit.Load()) }

// Inflight returns the permits held through this Limiter's Tokens that have
// not ended yet.
func (l *Limiter) Inflight() int { return int(l.inflight.Load()) }

// Queued returns the permits asked for by this Limiter's Acquires that are
// waiting in the semaphore's queue (or about to join or leave it). The
// semaphore's own Waiting counts waiters from every user, and for a shared
// or fleet semaphore from every process.
func (l *Limiter) Queued() int { return int(l.queued.Load()) }

// Limits returns the bounds and the starting limit in force.
func (l *Limiter) Limits() Limits { return l.limits }

// maxLimit is the largest limit: core.MaxPermitsLimit, or the largest int
// on a 32-bit platform.
const maxLimit = int(min(int64(core.MaxPermitsLimit), math.MaxInt))
