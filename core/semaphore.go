package core

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
)

// A Semaphore is a weighted counting semaphore with a strictly FIFO waiter
// queue. It is safe for concurrent use. Create it with NewSemaphore; the zero
// value is not usable.
//
// While nobody waits, Acquire, TryAcquire and Release are each one atomic
// compare-and-swap on a single state word: no mutex and no allocation.
// When several goroutines keep taking permits from that word in turn, the
// Semaphore spreads its free permits over per-processor lanes (stripes),
// and they are a compare-and-swap on the caller's lane instead, so that
// cores with permits to spare stop moving one cache line between them; the
// lanes step aside again when one processor works alone (see WithStripes
// and WithoutStripes). Once a
// caller has to wait, it joins a FIFO queue protected by a mutex and parks on
// a Parker from the Semaphore's Backend; Release then hands permits directly
// to the head of the queue, so a woken waiter never competes again and never
// loses its place.
//
// Memory model: a Release of permits synchronizes before the Acquire or
// TryAcquire that receives those permits returns, in the sense of the Go
// memory model, just as sync.Mutex's n'th Unlock synchronizes before its
// m'th Lock for n < m. Close synchronizes before the ErrClosed failures it
// causes.
type Semaphore struct {
	// The fields sit on three cache lines by who writes them (the padding
	// brings the Semaphore to semSize, 256 bytes, a size class whose
	// objects start on 256-byte boundaries; TestSemaphoreLayout checks the
	// offsets). Line 0 is the
	// state word and what every fast path reads with it; while waiters
	// are queued nothing writes it (a handoff that leaves the word as it
	// was skips its CAS; see releaseLocked), so the goroutines that find
	// the queue keep it read-shared. Line 1 is the queue, written under
	// mu. Line 2 is set at creation or rarely.

	// state is the word described in state.go.
	state atomic.Uint64
	// taker is the contention signal (see noteTaker in stripes.go): the
	// tag of the goroutine whose Acquire last took permits from the word,
	// on the line a take's CAS has just taken exclusive when it reads
	// (and, when the taker changed, writes) here. takerChanges counts the
	// changes.
	taker        atomic.Uintptr
	takerChanges atomic.Uint32
	// granted counts the AcquireN calls that were granted while
	// flagObserved was set (see observe.go). Only the slow paths add to
	// it.
	granted atomic.Uint64
	// cfg holds the maximum and its generation; written only under mu.
	cfg atomic.Uint64
	// lanes is the lane set while the stripes are engaged, nil otherwise
	// (see stripes.go). Written only under mu; read by every fast path, so
	// it sits on the state word's line, which those paths load anyway and
	// which is read-shared, not moving, while the lanes carry the traffic.
	lanes   atomic.Pointer[laneSet]
	backend Backend

	// mu protects the queue, every grant to a queued waiter, setting and
	// clearing flagQueued, Close, and every change of cfg. (Releases add to
	// state without it; see state.go.)
	mu   sync.Mutex
	head *waiter // next to be served
	tail *waiter // last to queue
	// waiting counts the queued waiters, under mu: a plain count, so that
	// queueing and granting pay no atomic for it; Waiting takes mu.
	waiting int64
	// maxWaiters bounds the queue (see SetMaxWaiters); read under mu.
	maxWaiters atomic.Int64
	// obs is the Observer and the outcome counts, nil until the first
	// SetObserver; never nil again after it (see observe.go).
	obs atomic.Pointer[observation]
	_   [semLine - 6*8]byte

	// waiters recycles waiter records and their Parkers, so that a blocked
	// Acquire allocates nothing once the pool is warm.
	waiters sync.Pool
	// yieldAfterHandoff is WithThroughputOverFairness; set at creation.
	yieldAfterHandoff bool
	// striped is WithStripes: the lanes engage whenever allowed and never
	// step aside; set at creation.
	striped bool
	// lanesUnavailable records that an engagement found GOMAXPROCS 1 (no
	// lanes to make), or WithoutStripes: the Semaphore then never stripes.
	lanesUnavailable atomic.Bool
	// laneMem keeps the last lane set for the next engagement; under mu.
	laneMem *laneSet
	// overReleaseMsg is WithOverReleasePanic's message, "" for core's own;
	// set at creation.
	overReleaseMsg string
	// tooLarge is WithTooLarge's function, nil without it; set at creation.
	tooLarge func(ctx context.Context, n int) error
	_        [48]byte // to semSize; TestSemaphoreLayout checks it
}

// semLine is a cache line; semSize, the Semaphore's size, is a size class
// whose objects are aligned to it, so that the line groups above are lines.
const (
	semLine = 64
	semSize = 256
)

// NewSemaphore returns a Semaphore with permits permits, all available, that
// parks waiting goroutines on Parkers from b, configured by opts.
//
// It panics with a message starting "core:" if permits is negative or larger
// than MaxPermitsLimit, if b is nil, or if an Option is nil.
func NewSemaphore(permits int, b Backend, opts ...Option) *Semaphore {
	if permits < 0 {
		panic(fmt.Sprintf("core: NewSemaphore with negative permits (%d)", permits))
	}
	if int64(permits) > MaxPermitsLimit {
		panic(fmt.Sprintf("core: NewSemaphore with %d permits, more than MaxPermitsLimit (%d)", permits, int64(MaxPermitsLimit)))
	}
	if b == nil {
		panic("core: NewSemaphore with a nil Backend")
	}
	set := settings{maxWaiters: defaultMaxWaiters}
	for _, o := range opts {
		if o == nil {
			panic("core: NewSemaphore with a nil Option")
		}
		o(&set)
	}
	s := &Semaphore{backend: b, yieldAfterHandoff: set.throughputOverFairness, overReleaseMsg: set.overReleaseMsg, tooLarge: set.tooLarge, striped: set.stripes == stripesForced}
	s.state.Store(permitsDelta(int64(permits)))
	s.cfg.Store(makeCfg(int64(permits), 0))
	s.maxWaiters.Store(int64(set.maxWaiters))
	if set.observer != nil {
		s.SetObserver(set.observer)
	}
	switch set.stripes {
	case stripesForced:
		s.taker.Store(takerForced)
		s.engageLanes(s.state.Load())
	case stripesOff:
		s.lanesUnavailable.Store(true)
	}
	s.waiters.New = func() any {
		p := b.NewParker()
		if p == nil {
			panic(fmt.Sprintf("core: backend %q returned a nil Parker", b.Name()))
		}
		return &waiter{parker: p}
	}
	return s
}

// Backend returns the Backend the Semaphore parks waiters on.
func (s *Semaphore) Backend() Backend { return s.backend }

// Acquire acquires one permit, blocking until it is granted, ctx is done, or
// the Semaphore is closed. It is AcquireN(ctx, 1).
func (s *Semaphore) Acquire(ctx context.Context) (Permit, error) {
	return s.AcquireN(ctx, 1)
}

// AcquireN acquires n permits, blocking until they are granted, ctx is done,
// or the Semaphore is closed. Waiters are served strictly in the order they
// called AcquireN: while any waiter is queued, a new AcquireN queues behind
// it even if enough permits are free.
//
// On success, it returns a Permit holding n permits and a nil error.
//
// On failure it returns a zero Permit, holds nothing, and leaves no permit
// stranded: permits granted to it in a race with the failure are passed on to
// the next waiters. The error is
//   - ctx.Err() if ctx is done, including when it is done before the call,
//     even if permits are free;
//   - an error satisfying errors.Is(err, ErrClosed) if the Semaphore is
//     closed before the permits are granted;
//   - an error satisfying errors.Is(err, ErrTooLarge) at once if n exceeds
//     MaxPermits, or later if SetMaxPermits shrinks the maximum below n while
//     it waits; with WithTooLarge, its function's error instead, returned
//     when the function returns (ErrTooLarge still if it returns nil);
//   - an error satisfying errors.Is(err, ErrQueueFull) at once if it would
//     have to queue while MaxWaiters waiters are queued (see SetMaxWaiters);
//   - an error wrapping the Backend's error if parking failed.
//
// n == 0 succeeds at once with an empty Permit, without queueing, unless ctx
// is done or the Semaphore is closed. AcquireN panics with a message starting
// "core:" if n is negative.
func (s *Semaphore) AcquireN(ctx context.Context, n int) (Permit, error) {
	// Fast path, for a context that has not ended: one load, one test of
	// the flags, one CAS. The CAS fails if any flag was set since the
	// load, which is what keeps a newcomer from barging past a waiter
	// (flagQueued). Engaged stripes (flagLanes) and an Observer
	// (flagObserved) take acquireN, which uses the lanes or counts the
	// grant. context.Background() and context.TODO() are known by two
	// compares (neverEnds); any other context pays for its Done call and,
	// if Done is not nil, a receive that does not block (notDone). An
	// ended context takes acquireN, which fails it.
	live := n > 0 && (neverEnds(ctx) || notDone(ctx))
	if live {
		st := s.state.Load()
		if st&flagsSlow == 0 && availOf(st) >= int64(n) &&
			s.state.CompareAndSwap(st, st-permitsDelta(int64(n))) {
			s.noteTaker(callerSite(&s))
			return Permit{sem: s, n: n}, nil
		}
		// Waiters are queued: join them. (Straight to acquireSlow, a call
		// less on the way back up once the grant wakes us: returns after
		// a goroutine switch are the costly ones.)
		if st&flagQueued != 0 {
			return s.acquireSlow(ctx, n)
		}
		// Engaged stripes: the caller's lane (L1 in stripes.go: a take
		// from an engaged lane never barges).
		if st&flagsSlow == flagLanes {
			if l := s.lanes.Load(); l != nil && s.takeLane(l, int64(n), false) {
				return Permit{sem: s, n: n}, nil
			}
		}
	}
	return s.acquireN(ctx, n, live, callerSite(&s))
}

// acquireN is AcquireN after its fast path failed or did not apply. live
// is what AcquireN found for n > 0: ctx had not ended (a context that has
// ended stays ended, so false needs no second look). site is AcquireN's
// callerSite, for the contention signal.
func (s *Semaphore) acquireN(ctx context.Context, n int, live bool, site uintptr) (Permit, error) {
	if n <= 0 {
		return s.acquireZero(ctx, n)
	}
	// An already-done ctx fails even when permits are free.
	if !live {
		s.count(AcquireCanceled)
		return Permit{}, ctx.Err()
	}
	// The caller's lane first (L1 in stripes.go: a take from an engaged
	// lane never barges). Lanes are never engaged while observed, so
	// there is no grant to count.
	if l := s.lanes.Load(); l != nil && s.takeLane(l, int64(n), false) {
		return Permit{sem: s, n: n}, nil
	}
	// The word, unless the lanes are engaged: then its free permits (more
	// than the lanes can hold) wait for the drain of the slow path, so
	// that every take while they are engaged is credited to a lane (L2 in
	// stripes.go).
	for {
		st := s.state.Load()
		if st&(flagClosed|flagQueued|flagLanes) != 0 || availOf(st) < int64(n) {
			break
		}
		if s.state.CompareAndSwap(st, st-permitsDelta(int64(n))) {
			s.tookFromWord(st, site)
			return Permit{sem: s, n: n}, nil
		}
	}
	// The word is short or out of bounds: other lanes may hold permits. If
	// they do not, the slow path drains them (under mu) before it decides
	// to queue.
	if l := s.lanes.Load(); l != nil && s.takeLane(l, int64(n), true) {
		return Permit{sem: s, n: n}, nil
	}
	return s.acquireSlow(ctx, n)
}

// tookFromWord finishes a take from the word outside the fast path: st is
// the word the take's CAS replaced (flagLanes clear), site the public
// method's callerSite. An observed grant is counted; any other feeds the
// contention signal (stripes.go).
func (s *Semaphore) tookFromWord(st uint64, site uintptr) {
	if st&flagObserved != 0 {
		// The CAS just took the line that granted shares.
		s.granted.Add(1)
		return
	}
	s.noteTaker(site)
}

// acquireZero handles AcquireN with n <= 0.
func (s *Semaphore) acquireZero(ctx context.Context, n int) (Permit, error) {
	if n < 0 {
		panic(fmt.Sprintf("core: AcquireN with negative n (%d)", n))
	}
	if err := ctx.Err(); err != nil {
		return Permit{}, err
	}
	if s.Closed() {
		return Permit{}, ErrClosed
	}
	return Permit{}, nil
}

// TryAcquire acquires one permit without blocking. It is TryAcquireN(1).
func (s *Semaphore) TryAcquire() (Permit, bool) { return s.TryAcquireN(1) }

// TryAcquireN acquires n permits without blocking.
//
// On success, it returns a Permit holding n permits and true. It fails,
// returning a zero Permit and false and changing nothing, if fewer than n
// permits are free, if any waiter is queued (even when n permits are free: a
// TryAcquire never barges past a waiter), or if the Semaphore is closed.
// n == 0 succeeds with an empty Permit unless the Semaphore is closed.
// TryAcquireN panics with a message starting "core:" if n is negative.
func (s *Semaphore) TryAcquireN(n int) (Permit, bool) {
	// Fast path: as AcquireN's.
	if st := s.state.Load(); st&flagsSlow == 0 && n > 0 && availOf(st) >= int64(n) &&
		s.state.CompareAndSwap(st, st-permitsDelta(int64(n))) {
		s.noteTaker(callerSite(&s))
		return Permit{sem: s, n: n}, true
	}
	return s.tryAcquireN(n, callerSite(&s))
}

// tryAcquireN is TryAcquireN after its fast path failed or did not apply.
// site is TryAcquireN's callerSite, for the contention signal.
func (s *Semaphore) tryAcquireN(n int, site uintptr) (Permit, bool) {
	if n < 0 {
		panic(fmt.Sprintf("core: TryAcquireN with negative n (%d)", n))
	}
	if n == 0 {
		// Nothing to take, so nothing to barge past: only Close fails it,
		// even when a shrink has left fewer than 0 permits available.
		return Permit{}, !s.Closed()
	}
	if l := s.lanes.Load(); l != nil && s.takeLane(l, int64(n), true) {
		return Permit{sem: s, n: n}, true
	}
	for {
		st := s.state.Load()
		if st&(flagClosed|flagQueued) != 0 {
			return Permit{}, false
		}
		if st&flagLanes != 0 {
			// Free permits may sit in lanes (or be put into them after
			// the look above), and a take from the word would not be
			// credited to a lane (L2): decide with every free permit in
			// the word.
			return s.tryAcquireDrained(int64(n))
		}
		if availOf(st) < int64(n) {
			// flagLanes clear: every free permit was in st, at the
			// instant of the load.
			return Permit{}, false
		}
		if s.state.CompareAndSwap(st, st-permitsDelta(int64(n))) {
			s.noteTaker(site)
			return Permit{sem: s, n: n}, true
		}
	}
}

// tryAcquireDrained is TryAcquireN's decision under mu, with the lanes
// drained: lanes are engaged only under mu, so while it holds mu every
// free permit is in the word, and a failure means fewer than n were free
// at the instant of its load.
func (s *Semaphore) tryAcquireDrained(n int64) (Permit, bool) {
	s.mu.Lock()
	s.drainLanesLocked()
	for {
		st := s.state.Load()
		if st&(flagClosed|flagQueued) != 0 || availOf(st) < n {
			s.mu.Unlock()
			return Permit{}, false
		}
		if s.state.CompareAndSwap(st, st-permitsDelta(n)) {
			s.mu.Unlock()
			return Permit{sem: s, n: int(n)}, true
		}
	}
}

// Release returns n permits to the Semaphore, for callers that do not keep
// the Permit (the golang.org/x/sync/semaphore style). If waiters are queued,
// Release grants the permits to them in FIFO order itself, waking each
// waiter whose request it fills, and returns: it never parks and never
// yields the processor (unless the Semaphore was created
// WithThroughputOverFairness), so the woken waiter runs when the releasing
// goroutine next blocks or another processor picks it up, as with a
// buffered channel. It may wait briefly for the internal mutex that orders
// grants, as x/sync's Release does.
//
// Release works after Close. n == 0 does nothing. Release panics with a
// message starting "core:" if n is negative or if more permits were released
// than are held (with WithOverReleasePanic's message instead, for the
// latter, if the Semaphore was created with it). It judges before it
// changes anything, so a Release that panics has returned nothing: no
// Acquire is granted an excess, and the counts stay exact. "Held" is the
// count of all permits held, as in x/sync: a Release of permits that
// another goroutine holds passes, and that holder's own Release is the one
// that panics. Engaged stripes change none of this (see WithStripes).
func (s *Semaphore) Release(n int) { s.add(int64(n), false) }

// add returns n permits. queued reports that the releaser got its
// permits through the queue (see unlockAndWake).
//
// With the stripes engaged the permits go into a lane that has the credit
// for them (L2 in stripes.go). Otherwise the fast path is one CAS on the
// word, judged before it commits: nobody queued, no lanes, st and cfg of
// one resize epoch (a resize changes the generation in the word, so the
// CAS fails if one ran since the load), and n within what is held (held =
// max - available, exact on such a word). A Release of more than is held
// therefore changes nothing: addSlow panics before any permit moves, and
// no Acquire can be granted an excess first. Every other case is
// addSlow's: waiters to serve, engaged lanes without the credit, a resize
// under way, n <= 0 or more than is held. A word that moves between the
// load and the CAS fails the CAS, and the loop looks again: unlike an
// atomic add, the CAS cannot land in a word whose lanes engaged after the
// look, which is what keeps L2 exact. TryRelease makes the same judgement
// in its own copy of the loop: as a shared function it costs 91 against
// the inliner's budget of 80, a call more on every Release.
func (s *Semaphore) add(n int64, queued bool) {
	if l := s.lanes.Load(); l != nil {
		if uint64(n)-1 < MaxPermitsLimit && l.put(laneTokenHere(), n) {
			return
		}
		s.addSlow(n, queued)
		return
	}
	for {
		st := s.state.Load()
		cfg := s.cfg.Load()
		// 1 <= n <= held, with held = max - available. (Signed: a word
		// that held more than the maximum, which no Release leaves, must
		// not make every n look held.)
		if st&(flagQueued|flagLanes) != 0 || stateGen(st) != cfgGen(cfg) ||
			n < 1 || n > maxOf(cfg)-availOf(st) {
			break
		}
		if s.state.CompareAndSwap(st, st+permitsDelta(n)) {
			return
		}
	}
	s.addSlow(n, queued)
}

// addSlow is add's decision under mu: with the lanes drained (they cannot
// engage again while mu is held) every free permit is in the word and the
// maximum is still, so held = max - available is exact. It panics, having
// changed nothing, if n is negative or more than is held; else it returns
// the permits and serves the queue with them in one CAS (releaseLocked).
func (s *Semaphore) addSlow(n int64, queued bool) {
	if n <= 0 {
		if n < 0 {
			panic(fmt.Sprintf("core: Release of negative n (%d)", n))
		}
		return
	}
	if held, ok := s.releaseSlow(n, queued); !ok {
		s.panicOverRelease(n, held)
	}
}

// TryRelease returns n permits like Release and reports true, or, if more
// permits would be released than are held, changes nothing and reports
// false. It panics with a message starting "core:" if n is negative.
func (s *Semaphore) TryRelease(n int) bool {
	if n <= 0 {
		if n < 0 {
			panic(fmt.Sprintf("core: Release of negative n (%d)", n))
		}
		return true
	}
	// Fast path: one CAS while nobody is queued and the lanes are off. The
	// generation check makes sure max and state describe the same resize
	// epoch (see state.go).
	for {
		st := s.state.Load()
		if st&(flagQueued|flagLanes) != 0 {
			// Waiters own the permits now: hand off under mu. Or permits
			// in lanes are free but not in the word, so held cannot be
			// read from the word: decide under mu, with the lanes drained.
			break
		}
		cfg := s.cfg.Load()
		if stateGen(st) != cfgGen(cfg) {
			break // a resize is in progress: let mu order us after it.
		}
		if int64(n) > maxOf(cfg)-availOf(st) {
			break // looks like an over-release: decide under mu.
		}
		if s.state.CompareAndSwap(st, st+permitsDelta(int64(n))) {
			return true
		}
	}
	_, ok := s.releaseSlow(int64(n), false)
	return ok
}

// Closed reports whether Close has been called.
func (s *Semaphore) Closed() bool { return s.state.Load()&flagClosed != 0 }

// MaxPermits returns the current maximum number of permits: the count given
// to NewSemaphore or the last SetMaxPermits.
func (s *Semaphore) MaxPermits() int { return int(maxOf(s.cfg.Load())) }

// AvailablePermits returns the number of permits neither held nor granted,
// never less than 0. While waiters are queued the free permits are reserved
// for the head of the queue (which needs more than are free), so a
// TryAcquire fails even when AvailablePermits is positive. The result is a
// snapshot that may be stale by the time it is used.
//
// With engaged stripes (see WithStripes) the count is the word plus every lane,
// read one after another: exact when nothing runs concurrently, and kept
// within [0, MaxPermits] while permits move.
func (s *Semaphore) AvailablePermits() int {
	avail := availOf(s.state.Load())
	if inLanes, ok := s.lanePermits(); ok {
		return int(min(max(avail+inLanes, 0), maxOf(s.cfg.Load())))
	}
	return int(max(avail, 0))
}

// InUse returns the number of permits held, between 0 and MaxPermits except
// after SetMaxPermits shrank the maximum below the number held. The result
// is a snapshot that may be stale by the time it is used. With engaged
// stripes it counts the lanes too, as AvailablePermits does, and stays
// within [0, MaxPermits] (a shrink drains the stripes first).
func (s *Semaphore) InUse() int {
	for range 4 {
		st, cfg := s.state.Load(), s.cfg.Load()
		if stateGen(st) == cfgGen(cfg) {
			return s.inUse(st, cfg)
		}
	}
	// A resize kept interleaving: read a consistent pair under mu. The
	// resize drained the stripes, but they may have engaged again (and
	// taken releases) between its unlock and our lock, so count them too.
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inUse(s.state.Load(), s.cfg.Load())
}

// inUse is InUse from a state word and a cfg word of one resize epoch, and
// the lanes if they are engaged.
func (s *Semaphore) inUse(st, cfg uint64) int {
	if inLanes, ok := s.lanePermits(); ok {
		return int(min(max(maxOf(cfg)-availOf(st)-inLanes, 0), maxOf(cfg)))
	}
	return int(max(maxOf(cfg)-availOf(st), 0))
}

// Waiting returns the number of Acquire calls queued and not yet granted or
// failed. The result is a snapshot that may be stale by the time it is used.
// It takes the mutex that orders grants, briefly: it is for introspection
// and metrics, not for a hot path.
func (s *Semaphore) Waiting() int {
	s.mu.Lock()
	n := s.waiting
	s.mu.Unlock()
	return int(n)
}

// yield lets a goroutine that Release just woke run at once, for Semaphores
// created WithThroughputOverFairness. Without it the woken goroutine sits in
// the releaser's run queue while its permits are idle (the idle-token gap of
// FIFO handoff; see docs/design.md).
func yield() { yieldFunc() }

var yieldFunc = runtime.Gosched
