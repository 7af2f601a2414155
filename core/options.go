package core

import (
	"context"
	"fmt"
	"math"
)

// An Option configures a Semaphore when NewSemaphore creates it. Options are
// applied in order; a later one overrides an earlier one of the same kind.
type Option func(*settings)

// settings collects what the Options passed to NewSemaphore chose.
type settings struct {
	throughputOverFairness bool
	stripes                stripesMode
	maxWaiters             int
	observer               Observer
	overReleaseMsg         string
	tooLarge               func(ctx context.Context, n int) error
}

// WithThroughputOverFairness makes a Release that hands permits to a waiter
// on a contended Semaphore yield the processor (runtime.Gosched) afterwards,
// so that the woken waiter runs at once instead of waiting for the releasing
// goroutine to block. Contended means: the woken waiter had queued behind
// another one, waiters remain queued, or the releaser itself got its permits
// through the queue (known only for a Permit).
//
// It trades the releasing caller's latency and the evenness of grant shares
// for throughput. Grants stay strictly FIFO among queued waiters, but the
// yielding releaser goes to the back of the scheduler's queue: measured on 2
// CPUs with 32 goroutines looping Acquire / 100 ns of work / Release on 1
// permit (benchmarks, BenchmarkCallers, make bench at 030bbeb), the time
// spent inside Release rises from a p99 of 0.2 µs and a p99.9 of 12 µs (x/sync:
// 0.2 and 10 µs) to 78 µs and 1 ms, and the per-goroutine grant counts spread
// from within 20% of each other (max/min 1.2, Jain's index 1.00) to a max/min
// ratio of 74 (Jain 0.37), while throughput improves by 1.5x to 9x in most
// cells where every goroutine loops on one permit (benchmarks/README.md has
// the numbers of the latest run). Choose it only for a batch workload where
// total throughput matters and no caller waits on a Release.
//
// The default, without this option, never yields or parks in Release: it
// hands the permits to the head waiter and returns, as a buffered channel
// does.
func WithThroughputOverFairness() Option {
	return func(s *settings) { s.throughputOverFairness = true }
}

// WithMaxWaiters bounds the Semaphore's waiter queue to k waiters, as
// SetMaxWaiters(k) would right after creation. The default is unbounded
// (math.MaxInt). It panics with a message starting "core:" if k is
// negative.
func WithMaxWaiters(k int) Option {
	checkMaxWaiters("WithMaxWaiters", k)
	return func(s *settings) { s.maxWaiters = k }
}

// WithOverReleasePanic makes Semaphore.Release panic with msg, exactly,
// instead of core's message, when it would return more permits than are
// held. Everything else about an over-release stays as without the option:
// the Release panics before it changes anything. It is for a wrapper that
// keeps another package's API: backend-generic/semaphore keeps x/sync's
// "semaphore: released more than held" this way, with no deferred recover
// on its Release. It panics with a message starting "core:" if msg is
// empty.
func WithOverReleasePanic(msg string) Option {
	if msg == "" {
		panic("core: WithOverReleasePanic with an empty message")
	}
	return func(s *settings) { s.overReleaseMsg = msg }
}

// WithTooLarge makes an AcquireN that asks for more than MaxPermits call
// f(ctx, n) instead of failing at once, and return f's error with a zero
// Permit. f runs holding nothing and outside the queue, so it holds up no
// other caller. It is for a wrapper that keeps another package's API:
// backend-generic/semaphore keeps x/sync's Acquire this way, which waits
// until ctx is done when the weight exceeds the size, and its Acquire
// stays one call into core.
//
// A queued waiter that SetMaxPermits fails because it now asks for more
// than the new maximum calls f too, after it has left the queue. If f
// returns nil, AcquireN returns an error satisfying errors.Is(err,
// ErrTooLarge), as without the option: f cannot grant permits. Close does
// not interrupt a running f, and the Observer counts the outcome as
// AcquireTooLarge whatever f returns. WithTooLarge panics with a message
// starting "core:" if f is nil.
func WithTooLarge(f func(ctx context.Context, n int) error) Option {
	if f == nil {
		panic("core: WithTooLarge with a nil function")
	}
	return func(s *settings) { s.tooLarge = f }
}

// defaultMaxWaiters is the bound of a Semaphore created without
// WithMaxWaiters: no bound.
const defaultMaxWaiters = math.MaxInt

func checkMaxWaiters(call string, k int) {
	if k < 0 {
		panic(fmt.Sprintf("core: %s with negative k (%d)", call, k))
	}
}

// WithStripes keeps the Semaphore's stripes on whenever they may be. Every
// Semaphore has them: per-processor lanes that hold free permits while
// permits are plentiful, so that Acquire and Release on different cores
// stop moving one cache line between them. Without the option they engage
// when several goroutines keep taking permits from the state word in turn
// (the contention signal: 64 changes of the goroutine that took last) and
// step aside when only one processor's lane has been used for 1024 of its
// operations; with it they are on from creation, and again from the first
// Acquire after a queue has emptied or a resize, and never step aside. In
// both cases they engage only while nobody waits, the Semaphore is open, no
// Observer is attached, no shrink has left more held than the maximum, at
// most 16,777,215 permits a lane are held (what their credits can count,
// below), and the maximum is at least 4 (two permits per lane, with at
// least two lanes; never with GOMAXPROCS 1, and never again once an
// engagement found GOMAXPROCS 1). The moment a waiter must queue, and for
// Close, SetMaxPermits, SetObserver, TryAcquireUpTo, TryRelease, a
// TryAcquireN that finds too few permits and a Release that no lane has
// the credit for, the lanes drain into the
// state word under the internal mutex, and the queue works exactly as
// without them: strict FIFO with direct handoff, no barging, TryAcquire
// failing while anyone is queued.
//
// What engaged stripes change for the caller:
//   - AvailablePermits and InUse add up the word and the lanes one after
//     another: exact when nothing runs concurrently, and within
//     [0, MaxPermits] while permits move.
//   - Nothing changes for a Release(n) of more permits than are held: it
//     panics at the Release, having changed nothing, as without them. A
//     lane takes a Release's permits only if it has the credit for them
//     (the engagement credits the lanes with what is held at its instant,
//     each take from a lane credits it with what it took, and each put
//     back spends that credit, so the credits add up to what is held); a
//     Release that no lane can take goes to the state word with the lanes
//     drained, where what is held is exact. That Release takes the
//     internal mutex and turns the lanes off until the signal engages them
//     again: it happens when a Release(n) returns permits taken in several
//     Acquires on different processors, none of whose lanes has n of
//     credit.
//   - A TryAcquireN that fails, TryAcquireUpTo and TryRelease take the
//     internal mutex.
//   - The free permits move into the lanes when they engage, spread
//     evenly, up to 16,777,215 in a lane; what is beyond that stays in the
//     word, for an Acquire that finds the lanes short to collect by
//     draining them. A lane's credit has the same ceiling: the lanes do
//     not engage while more permits are held than their credits can
//     count, and a take that would pass a lane's ceiling takes elsewhere.
//   - The lanes cost 128 bytes each, allocated at the first engagement, and
//     one goroutine alone on them pays about 1.3x the plain word's
//     Acquire+Release (the processor id is looked up on each call;
//     docs/design.md has the numbers).
//
// Choose the option for a Semaphore that many cores use at once with
// permits to spare, to skip the signal's warm-up and keep the lanes through
// quiet spells; WithoutStripes keeps them off for good. It does not help when permits run out (a queue forms and
// the lanes stay drained) and costs a Semaphore used by one goroutine at a
// time. docs/design.md, "Stripes", has the protocol, the signal, the
// measurements and the model for many cores.
func WithStripes() Option {
	return func(s *settings) { s.stripes = stripesForced }
}

// WithoutStripes keeps every free permit of the Semaphore in its state
// word: the stripes never engage (see WithStripes), whatever the
// contention. Then a failing TryAcquireN and TryAcquireUpTo never take the
// mutex, and a Release or TryRelease takes it only to serve waiters, while
// a resize runs, or to refuse more than is held. The price is the plain
// word's: cores that take plentiful permits at once move its cache line
// between them on every operation. WithStripes and WithoutStripes are
// options of one kind: the later one given wins.
func WithoutStripes() Option {
	return func(s *settings) { s.stripes = stripesOff }
}

// stripesMode is what WithStripes or WithoutStripes chose.
type stripesMode uint8

const (
	stripesAuto   stripesMode = iota // the contention signal decides
	stripesForced                    // WithStripes
	stripesOff                       // WithoutStripes
)
