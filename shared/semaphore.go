package shared

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/compio-sync/gosync/core"
)

// MaxPermitsLimit is the largest maximum a shared semaphore accepts, the
// same as core.MaxPermitsLimit.
const MaxPermitsLimit = core.MaxPermitsLimit

const (
	// pollInterval is how long a queued waiter near the head of the queue
	// (pollNear places) sleeps before it looks at its slot again and for
	// dead processes (plus up to pollJitter, so that waiters spread out);
	// waiters further back look every pollFar, so that 10,000 waiters do
	// not wake 50,000 times a second. A waiter keeps the poll it chose
	// when it went to sleep, so in a deep queue the head sleeps on
	// pollFar too: deaths are noticed by the handle's watch (watch.go),
	// and a waiter's own poll is only a backstop (for a wake that was
	// lost).
	//
	// Behind pollFar's first pollFarPlaces places, the poll grows with the
	// distance (pollPerPlace a place, up to pollFarMax), so that the
	// waiters of a deep queue neither poll at a rate that grows with its
	// depth nor all come due together: 10,000 waiters queued at once at a
	// flat pollFar woke within the same 50 ms every 2 s, each cancelling
	// and resubmitting its kernel wait, and the burst (20,000 submissions)
	// stalled the grants behind it for seconds. On Windows, where a
	// waiter's poll also recovers a wake lost when its waker exits, the
	// far poll stays pollFar.
	pollInterval  = 100 * time.Millisecond
	pollJitter    = 50 * time.Millisecond
	pollNear      = 8
	pollFar       = 2 * time.Second
	pollFarPlaces = 1000
	pollPerPlace  = pollFar / pollFarPlaces
	pollFarMax    = 20 * time.Second
	// sweepInterval throttles the search for dead processes across all
	// processes: at most one per interval.
	sweepInterval = 100 * time.Millisecond
)

// A Semaphore is one process's handle on a shared semaphore: a weighted
// counting semaphore with a strictly FIFO waiter queue, kept in a region of
// shared memory and used by every process that opens it. A handle is safe
// for concurrent use by the goroutines of its process. Create or open one
// with Open; release it with Detach (or let the process exit).
//
// An Acquire or Release whose permits fit this handle's pool (see
// pool.go) is one CAS on the handle's own word in the region: while nobody
// is queued, a handle that released permits re-acquires them without the
// lock. Every other operation except the snapshots Closed, MaxPermits
// and Waiting takes the region's internal lock, a word in
// the region that records its holder's identity, and changes the
// state inside a journaled transaction (see lock.go): a process may die at
// any instruction and the others lose nothing. The permits a handle
// acquires are counted in its process slot (its held count or its pool),
// so that when its process dies they return to the semaphore.
//
// Memory model: a Release of permits, in any process, happens before the
// Acquire that receives those permits returns: both run under the region
// lock or CAS the same pool word, whose atomic operations order them
// (across processes this rests on the hardware's ordering of sync/atomic
// operations, not on the Go memory model, which speaks of one program).
type Semaphore struct {
	r    *region
	w    Waiter
	live liveness // this handle's liveness oracle (identity_*.go)
	id   uint64   // this handle's identity, from live (see identity_*.go)
	proc uint32   // this handle's process slot
	name string

	// ops counts the operations of this handle in progress (the low bits)
	// and carries opDetached once Detach began, so that the mapping
	// outlives every operation that uses it (see enter). One atomic add
	// on entry and one on exit: an RWMutex here cost 12% of the
	// uncontended Acquire+Release.
	ops   atomic.Int64
	unmap func() error
	// poolw is this handle's pool word (see pool.go), set by attach.
	poolw *atomic.Uint64

	// broken is the corruption this handle found (region_check.go).
	broken atomic.Pointer[error]

	// awaiting counts this handle's requests in await; watching is set
	// while their watch goroutine runs (see watch.go).
	awaiting atomic.Int64
	watching atomic.Bool

	// Recovery counters, for tests and diagnostics.
	recoveredLocks atomic.Int64 // locks taken over from a dead owner
	rolledBack     atomic.Int64 // interrupted transactions undone
	reclaimed      atomic.Int64 // dead processes whose permits were returned
}

// A Permit holds permits acquired from a Semaphore and returns them exactly
// once. The zero Permit holds nothing. Like core.Permit, it is a small value:
// release it through a pointer (defer p.Release()); copying it copies the
// right to release. A Permit is not safe for concurrent use.
type Permit struct {
	s *Semaphore
	n int64
	// ticket and grant record, for a Permit granted through the queue,
	// the order in which it queued and was granted (for FIFO tests).
	ticket, grant uint64
	queued        bool
	fast          bool // taken from the handle's pool without the lock
}

// Release returns the Permit's permits to the semaphore, handing them to
// queued waiters in FIFO order, in whatever process they wait, and empties
// the Permit. Releasing an empty Permit does nothing; after Close it still
// works. After the handle was detached it does nothing (Detach already
// returned the handle's permits).
func (p *Permit) Release() {
	n := p.n
	if n == 0 {
		return
	}
	p.n = 0
	p.s.releaseN(n, true)
}

// Count returns the number of permits the Permit holds: what was acquired,
// or 0 after Release.
func (p Permit) Count() int { return int(p.n) }

// Name returns the name or path the semaphore was opened with.
func (s *Semaphore) Name() string { return s.name }

func (s *Semaphore) errClosed() error { return fmt.Errorf("shared %q: %w", s.name, ErrClosed) }

func (s *Semaphore) errDetached() error {
	return fmt.Errorf("shared %q: handle detached: %w", s.name, ErrClosed)
}

// Acquire acquires one permit. It is AcquireN(ctx, 1).
func (s *Semaphore) Acquire(ctx context.Context) (Permit, error) { return s.AcquireN(ctx, 1) }

// AcquireN acquires n permits, blocking until they are granted, ctx is
// done, or the semaphore is closed. Requests from every process are served
// strictly in the order they queued: while any request is queued, a new
// AcquireN queues behind it even if enough permits are free, and released
// permits are handed directly to the head of the queue.
//
// On success it returns a Permit holding n permits and a nil error.
//
// On failure it returns a zero Permit, holds nothing, and leaves no permit
// stranded (permits granted to it in a race with the failure are passed on
// to the next waiters). The error is
//   - ctx.Err() if ctx is done, including before the call;
//   - an error satisfying errors.Is(err, ErrClosed) if the semaphore is
//     closed (by any process) before the permits are granted, or this
//     handle is detached;
//   - an error satisfying errors.Is(err, ErrTooLarge) at once if n exceeds
//     MaxPermits, or later if SetMaxPermits shrinks the maximum below n;
//   - an error satisfying errors.Is(err, ErrNoSlots) at once if it must
//     queue and every waiter slot of the region is in use;
//   - an error wrapping the Waiter's if waiting failed.
//
// n == 0 succeeds at once with an empty Permit unless ctx is done or the
// semaphore is closed. AcquireN panics with a message starting "shared:" if
// n is negative.
func (s *Semaphore) AcquireN(ctx context.Context, n int) (Permit, error) {
	if n < 0 {
		panic(fmt.Sprintf("shared: AcquireN with negative n (%d)", n))
	}
	if err := ctx.Err(); err != nil {
		return Permit{}, err
	}
	// Fast path: n free in this handle's pool, which is undrained only
	// while nobody is queued, the semaphore is open (invariant D in
	// pool.go) and the handle is not detached (Detach drains it first), so
	// taking them barges past nobody. It needs no enter: the mapping and
	// the process slot stay this handle's while s is reachable (Detach).
	if n > 0 && s.fastAcquire(int64(n)) {
		return Permit{s: s, n: int64(n), fast: true}, nil
	}
	if !s.enter() {
		return Permit{}, s.errDetached()
	}
	defer s.leave()
	return s.acquireSlow(ctx, n)
}

// acquireSlow is AcquireN past the fast path, for an entered handle.
func (s *Semaphore) acquireSlow(ctx context.Context, n int) (_ Permit, err error) {
	if n == 0 {
		if s.closed() {
			return Permit{}, s.errClosed()
		}
		return Permit{}, nil
	}
	if err := s.lock(ctx); err != nil {
		return Permit{}, err
	}
	defer s.recoverCorrupt(&err)
	if s.r.u32(offClosed).Load() != 0 {
		s.unlock()
		return Permit{}, s.errClosed()
	}
	if s.detached() {
		// Checked under the lock: Detach sets the flag before it takes the
		// lock to fail this handle's queued requests, so a request either
		// is queued before that (and failed by it) or sees the flag here.
		s.unlock()
		return Permit{}, s.errDetached()
	}
	if max := int64(s.r.u64(offMax).Load()); int64(n) > max {
		s.unlock()
		return Permit{}, fmt.Errorf("shared %q: %w: AcquireN(%d) with MaxPermits %d", s.name, ErrTooLarge, n, max)
	}
	// Nobody queued (so nobody is barged past): take n if they are free,
	// counting the pools' free permits too (drain steals them). Taking
	// from available and adding to held in one transaction keeps every
	// permit counted once even if this process dies right here.
	if s.r.u32(offWaiting).Load() == 0 {
		if s.avail() < int64(n) {
			s.drain(nil)
		}
		if s.avail() >= int64(n) {
			s.addAvail(-int64(n))
			s.creditHeld(int64(n))
			s.commit()
			s.unlock()
			return Permit{s: s, n: int64(n)}, nil
		}
	}
	i, ok := s.allocSlot(int64(n))
	s.commit()
	s.unlock()
	if !ok {
		return Permit{}, fmt.Errorf("shared %q: %w: all %d waiter slots are queued", s.name, ErrNoSlots, s.r.slots)
	}
	return s.await(ctx, i, int64(n))
}

// await waits until queued slot i is decided, then frees it and returns
// the outcome.
func (s *Semaphore) await(ctx context.Context, i uint32, n int64) (_ Permit, err error) {
	defer s.recoverCorrupt(&err)
	s.startWatch()
	defer s.endWatch()
	o := s.r.slot(i)
	state := s.r.u32(o + slotState)
	for {
		// A region found corrupt (by anyone) fails every queued request:
		// the finder wakes every slot's word (markCorrupt).
		if s.isCorrupt() {
			return Permit{}, s.errCorrupt()
		}
		if state.Load() == slotQueued {
			poll := s.pollFor(i) + rand.N(pollJitter)
			wctx, cancel := ctx, context.CancelFunc(func() {})
			if !noWaiterPolls {
				wctx, cancel = context.WithTimeout(ctx, poll)
			}
			err := s.w.Wait(wctx, state, slotQueued)
			polled := wctx.Err() != nil
			cancel()
			if err := ctx.Err(); err != nil {
				return s.abandon(i, n, err)
			}
			if err != nil && !polled {
				return s.abandon(i, n, fmt.Errorf("shared %q: waiting: %w", s.name, err))
			}
			if polled {
				// Nobody served us for a while: maybe a holder died. The
				// sweep is throttled across processes.
				s.sweep()
			}
			continue
		}
		// The slot changed. Act only on what the lock confirms: a change
		// made by a transaction whose owner died before committing is
		// rolled back when the lock is taken, and then we wait again.
		if err := s.lockAlways(); err != nil {
			return Permit{}, err
		}
		st := state.Load()
		if st == slotQueued {
			s.unlock()
			continue
		}
		if st != slotGranted && st != slotClosed && st != slotTooLarge && st != slotDetached {
			s.corrupt("waiter slot %d in state %d while its owner waited", i, st)
		}
		ticket, grant := s.r.u64(o+slotTicket).Load(), s.r.u64(o+slotGrant).Load()
		s.set32(o+slotState, slotFree)
		s.commit()
		s.unlock()
		// Look for dead processes (throttled across all processes to one
		// sweep per sweepInterval): while the queue flows this often
		// notices a death before any watch does (watch.go), and the
		// sweep that reclaims a dead process wakes everyone it stranded.
		s.sweep()
		switch st {
		case slotGranted:
			return Permit{s: s, n: n, ticket: ticket, grant: grant, queued: true}, nil
		case slotClosed:
			return Permit{}, s.errClosed()
		case slotTooLarge:
			return Permit{}, fmt.Errorf("shared %q: %w: AcquireN(%d) after SetMaxPermits(%d)", s.name, ErrTooLarge, n, s.r.u64(offMax).Load())
		default: // slotDetached, checked above
			return Permit{}, s.errDetached()
		}
	}
}

// noWaiterPolls, when set (tests only), makes a queued waiter sleep until
// it is woken or its ctx ends: it never looks for dead processes on its
// own, so every recovery must come from someone else.
var noWaiterPolls bool

// pollFor returns how long the waiter of queued slot i sleeps between looks
// for dead processes: pollInterval near the head of the queue, pollFar
// behind. Its distance from the head is read without the lock (a hint: a
// wrong guess only changes how soon it looks).
func (s *Semaphore) pollFor(i uint32) time.Duration {
	h := s.r.u32(offHead).Load()
	if h == 0 || h-1 >= s.r.slots {
		return pollInterval
	}
	head := s.r.u64(s.r.slot(h-1) + slotTicket).Load()
	return pollAt(s.r.u64(s.r.slot(i)+slotTicket).Load() - head)
}

// pollAt returns the poll of a waiter distance places behind the head:
// pollInterval within pollNear places, then pollFar, growing by
// pollPerPlace a place beyond pollFarPlaces up to pollFarMax (except on
// Windows, see pollFar).
func pollAt(distance uint64) time.Duration {
	switch {
	case distance < pollNear || int64(distance) < 0: // behind: a stale head
		return pollInterval
	case distance <= pollFarPlaces || runtime.GOOS == "windows":
		return pollFar
	case distance >= uint64(pollFarMax/pollPerPlace):
		return pollFarMax
	}
	return time.Duration(distance) * pollPerPlace
}

// abandon withdraws queued slot i after ctx ended or the Waiter failed,
// and returns err. A grant that raced the failure is passed on.
func (s *Semaphore) abandon(i uint32, n int64, err error) (_ Permit, lerr error) {
	o := s.r.slot(i)
	if lerr := s.lockAlways(); lerr != nil {
		return Permit{}, lerr
	}
	defer s.recoverCorrupt(&lerr)
	switch s.r.u32(o + slotState).Load() {
	case slotQueued:
		// Leaving may unblock smaller requests that queued behind us.
		s.unlink(i)
	case slotGranted:
		// Granted in a race with the failure: the caller gets an error,
		// so the permits go back, to the next waiters first. The grant
		// counted them in the journaled held count, but a Release of this
		// handle may have taken from it since (a handle's permits are
		// fungible): debit from wherever they are. If the handle now holds
		// fewer than n, a Release(n) returned permits its caller was never
		// given (an over-release that this grant made look covered), so
		// the rest is already back: return what is left. Panicking here
		// would hold the region lock in a live process if recovered.
		for {
			k := min(n, s.heldAll()) // the fast path may move pool-held permits
			if s.debitHeld(k) {
				s.addAvail(k)
				break
			}
		}
	}
	s.set32(o+slotState, slotFree)
	s.serveAndUnlock(nil)
	return Permit{}, err
}

// enterHook, when set (tests only), runs in the lock paths of TryAcquireN
// and Release after enter, before they take the lock.
var enterHook func()

// TryAcquire acquires one permit without blocking. It is TryAcquireN(1).
func (s *Semaphore) TryAcquire() (Permit, bool) { return s.TryAcquireN(1) }

// TryAcquireN acquires n permits without waiting for permits (it may wait
// briefly for the region lock).
//
// On success it returns a Permit holding n permits and true. It fails,
// returning a zero Permit and false and changing nothing, if fewer than n
// permits are free, if any request is queued (a TryAcquire never barges
// past a waiter), if the semaphore is closed or the handle detached.
// n == 0 succeeds with an empty Permit unless the semaphore is closed.
// TryAcquireN panics with a message starting "shared:" if n is negative.
func (s *Semaphore) TryAcquireN(n int) (_ Permit, ok bool) {
	if n < 0 {
		panic(fmt.Sprintf("shared: TryAcquireN with negative n (%d)", n))
	}
	// The pool is undrained only while nobody is queued, the semaphore is
	// open (invariant D) and the handle attached, so this never barges
	// either (and needs no enter, see AcquireN).
	if n > 0 && s.fastAcquire(int64(n)) {
		return Permit{s: s, n: int64(n), fast: true}, true
	}
	if !s.enter() {
		return Permit{}, false
	}
	defer s.leave()
	if n == 0 {
		return Permit{}, !s.closed()
	}
	if enterHook != nil {
		enterHook()
	}
	defer s.recoverCorrupt(nil)
	for try := 0; ; try++ {
		if s.lockAlways() != nil {
			return Permit{}, false
		}
		if s.detached() {
			// Checked under the lock, as in acquireSlow: Detach sets the
			// flag before its first transaction, so an operation that
			// entered before it and locks after it fails here.
			s.unlock()
			return Permit{}, false
		}
		open := s.r.u32(offClosed).Load() == 0 && s.r.u32(offWaiting).Load() == 0
		if open && s.avail() < int64(n) {
			s.drain(nil) // the pools' free permits are free too
		}
		short := s.avail() < int64(n)
		if open && !short {
			s.addAvail(-int64(n))
			s.creditHeld(int64(n))
			s.commit()
			s.unlock()
			return Permit{s: s, n: int64(n)}, true
		}
		s.commit() // the drain: permits moved from pools to available
		s.unlock()
		// Too few free permits may mean a holder died: look (throttled)
		// once, so that a polling TryAcquire loop also recovers them.
		if !short || try > 0 || !s.sweep() {
			return Permit{}, false
		}
	}
}

// Release returns n permits that this handle holds, for callers that do not
// keep the Permit (the golang.org/x/sync/semaphore style), handing them to
// queued waiters in FIFO order. It works after Close; after Detach it does
// nothing. n == 0 does nothing. Release panics with a message starting
// "shared:" if n is negative or more than this handle holds (a handle's
// holdings are exact: unlike core.Semaphore, an over-release is caught
// before anything changes; but permits granted to a request of this handle
// that has not returned yet count as held, so a Release that takes them
// is caught only by a later Release that finds too few, and a request
// that then fails, by its ctx, returns what is left).
func (s *Semaphore) Release(n int) {
	if n < 0 {
		panic(fmt.Sprintf("shared: Release of negative n (%d)", n))
	}
	if n > 0 {
		s.releaseN(int64(n), true)
	}
}

// TryRelease returns n permits like Release and reports true, or, if this
// handle holds fewer than n, changes nothing and reports false. It panics
// with a message starting "shared:" if n is negative.
func (s *Semaphore) TryRelease(n int) bool {
	if n < 0 {
		panic(fmt.Sprintf("shared: Release of negative n (%d)", n))
	}
	return n == 0 || s.releaseN(int64(n), false)
}

func (s *Semaphore) releaseN(n int64, mustHold bool) (ok bool) {
	// Before anything publishes the permits: the lock-path Release may
	// put them in the pool, where a fast Acquire can take them before our
	// unlock (race-enabled builds only; see race_sync_race.go).
	raceRelease()
	// Fast path: back to the pool's free part. The pool is undrained, so
	// nobody is queued and owed these permits (invariant D), and the
	// handle is not detached (see AcquireN).
	if s.fastRelease(n) {
		return true
	}
	if !s.enter() {
		return true
	}
	defer s.leave()
	if enterHook != nil {
		enterHook()
	}
	if s.lockAlways() != nil {
		return false
	}
	defer s.recoverCorrupt(nil)
	if !s.debitHeld(n) {
		h := s.heldAll()
		s.commit() // debitHeld changed nothing
		s.unlock()
		if mustHold {
			panic(fmt.Sprintf("shared: Release of %d permits, more than this handle holds (%d)", n, h))
		}
		return false
	}
	s.placeReleased(n)
	s.serveAndUnlock(nil)
	return true
}

// SetMaxPermits sets the maximum number of permits to n, for every process.
//
// Growing adds the difference to the available permits and grants them to
// queued waiters at once, in FIFO order. Shrinking removes the difference:
// holders keep their permits, so InUse may exceed MaxPermits until enough
// come back. Queued requests for more than n fail with an error satisfying
// errors.Is(err, ErrTooLarge); the others keep their order. It works after
// Close, and panics with a message starting "shared:" if n is negative or
// larger than MaxPermitsLimit.
func (s *Semaphore) SetMaxPermits(n int) {
	if n < 0 {
		panic(fmt.Sprintf("shared: SetMaxPermits with negative n (%d)", n))
	}
	if int64(n) > MaxPermitsLimit {
		panic(fmt.Sprintf("shared: SetMaxPermits(%d), more than MaxPermitsLimit (%d)", n, int64(MaxPermitsLimit)))
	}
	if !s.enter() {
		return
	}
	defer s.leave()
	var wake wakeList
	if s.lockAlways() != nil {
		return
	}
	defer s.recoverCorrupt(nil)
	// The pools' free permits join available first, so that a shrink is
	// paid from them, and pools stay drained while available is negative
	// (canPool).
	s.drain(nil)
	delta := int64(n) - int64(s.r.u64(offMax).Load())
	s.set64(offMax, uint64(n))
	s.addAvail(delta)
	if delta < 0 {
		for h, k := s.r.u32(offHead).Load(), uint32(0); h != 0; k++ {
			if k == s.r.slots {
				s.corrupt("the queue from its head is longer than the %d waiter slots (a cycle)", k)
			}
			i := s.queuedAt(h, "queue")
			o := s.r.slot(i)
			h = s.r.u32(o + slotNext).Load()
			if int64(s.r.u64(o+slotN).Load()) > int64(n) {
				s.unlink(i)
				s.set32(o+slotState, slotTooLarge)
				wake = append(wake, i)
			}
		}
	}
	s.serveAndUnlock(wake)
}

// Close closes the semaphore for every process: every queued Acquire, in
// any process, and every later Acquire fails with an error satisfying
// errors.Is(err, ErrClosed), and TryAcquire fails. Permits already held stay
// valid and can be released. Close is idempotent and is recorded in the
// region: it lasts until the file is removed. It does not detach the
// handle.
func (s *Semaphore) Close() {
	if !s.enter() {
		return
	}
	defer s.leave()
	var wake wakeList
	if s.lockAlways() != nil {
		return
	}
	defer s.recoverCorrupt(nil)
	if s.r.u32(offClosed).Load() == 0 {
		s.drain(nil) // invariant D: closed means every pool is drained
		s.set32(offClosed, 1)
		// Each slot leaves the queue and stops being queued before the
		// next is looked at, so a cyclic queue fails queuedAt.
		for h := s.r.u32(offHead).Load(); h != 0; {
			i := s.queuedAt(h, "queue")
			o := s.r.slot(i)
			h = s.r.u32(o + slotNext).Load()
			s.unlink(i)
			s.set32(o+slotState, slotClosed)
			wake = append(wake, i)
		}
	}
	s.commit()
	s.unlock()
	s.wake(wake)
}

// Closed reports whether any process has closed the semaphore. After
// Detach it reports true: every operation of the handle fails with an
// error satisfying errors.Is(err, ErrClosed).
func (s *Semaphore) Closed() bool {
	if !s.enter() {
		return true
	}
	defer s.leave()
	return s.closed()
}

func (s *Semaphore) closed() bool { return s.r.u32(offClosed).Load() != 0 }

// MaxPermits returns the current maximum number of permits, or 0 after
// Detach.
func (s *Semaphore) MaxPermits() int {
	if !s.enter() {
		return 0
	}
	defer s.leave()
	return int(s.r.u64(offMax).Load())
}

// AvailablePermits returns the number of permits neither held nor granted,
// never less than 0 nor more than MaxPermits (0 after Detach). The free
// permits of a dead process's pool count as available, its held ones as
// held until it is swept. The result is a snapshot, taken under the lock:
// available and the pools are read while no lock-path operation moves
// permits between them, and the fast path only moves a pool's permits
// between free and held, so no permit is counted twice.
func (s *Semaphore) AvailablePermits() int {
	if !s.enter() {
		return 0
	}
	defer s.leave()
	if s.lockAlways() != nil {
		return 0
	}
	defer s.recoverCorrupt(nil)
	n := s.avail() + s.poolsFree()
	s.unlock()
	return int(max(n, 0))
}

// InUse returns the number of permits held, by every process together
// (including a dead process not yet swept). The result is a snapshot.
func (s *Semaphore) InUse() int {
	if !s.enter() {
		return 0
	}
	defer s.leave()
	if s.lockAlways() != nil {
		return 0
	}
	defer s.recoverCorrupt(nil)
	n := int64(s.r.u64(offMax).Load()) - s.avail() - s.poolsFree()
	s.unlock()
	return int(max(n, 0))
}

// Held returns the number of permits this handle holds.
func (s *Semaphore) Held() int {
	if !s.enter() {
		return 0
	}
	defer s.leave()
	// Read without the lock, so unchecked (held would panic): a snapshot.
	h := int64(s.r.u64(s.r.proc(s.proc) + procHeld).Load())
	return int(max(h, 0) + poolHeld(s.pool(s.proc).Load()))
}

// heldAll returns what this handle holds: its journaled held count and
// its pool's held part. Called with the lock held.
func (s *Semaphore) heldAll() int64 {
	return s.held(s.proc) + poolHeld(s.pool(s.proc).Load())
}

// Waiting returns the number of Acquire calls queued, in every process, and
// not yet granted or failed, or 0 after Detach. The result is a snapshot.
func (s *Semaphore) Waiting() int {
	if !s.enter() {
		return 0
	}
	defer s.leave()
	return int(s.r.u32(offWaiting).Load())
}

// Detach releases this handle: its queued Acquires fail with an error
// satisfying errors.Is(err, ErrClosed), it waits for its other operations
// to return, and returns the permits the handle still holds to the
// semaphore (its outstanding Permits then release nothing); later
// operations on the handle fail or do nothing, as documented for each. The
// semaphore itself stays open for the other handles and processes.
//
// The handle's process slot and its mapping of the region are released
// when the handle is unreachable (a cleanup registered with
// runtime.AddCleanup, run after a garbage collection) or when the process
// exits: a fast-path operation that started before Detach may still touch
// the handle's pool word, and only the garbage collector can tell when no
// such operation is left. Open runs a garbage collection when it finds
// every process slot taken while this process has detached handles
// pending.
//
// Detach returns nil, or, if the region is corrupt (see ErrCorrupt), an
// error satisfying errors.Is(err, ErrCorrupt): the handle is detached
// either way, but what it held is not returned (the region's counts can
// no longer be trusted). A second Detach returns nil.
func (s *Semaphore) Detach() error {
	if s.ops.Or(opDetached)&opDetached != 0 {
		return nil
	}
	retiring.Add(1)
	// Freeze our pool first: a steal sets its drained bit with a CAS, so
	// every fast-path operation of this handle from now on fails and goes
	// to the lock path, which sees the flag (invariant O: a drained word
	// is then changed only by the lock holder, so the plain journaled
	// writes of returnHoldings below are safe). Then fail our queued
	// requests. An Acquire that queues after this transaction sees
	// detached first (it is set before our lock) and never queues:
	// allocSlot runs under the lock too.
	err := s.detachRequests()
	s.awaitOps() // every lock-path operation of this handle has returned
	if err == nil {
		err = s.detachHoldings()
	}
	// The slot keeps our identity (alive: nobody sweeps it) until the
	// handle is unreachable; the cleanup cannot run while a goroutine is
	// inside a method of s, fast path included. releaseSlot runs in a
	// goroutine of its own: it takes the region lock, which a stopped (not
	// dead) process may hold for as long as it likes, and the runtime runs
	// every cleanup and finalizer of the program on one goroutine, which
	// must never wait for another process.
	runtime.AddCleanup(s, func(c retired) { go releaseSlot(c) }, retired{r: s.r, w: s.w, live: s.live, id: s.id, proc: s.proc, unmap: s.unmap})
	return err
}

// detachRequests is Detach's first transaction: it freezes the handle's
// pool and fails its queued requests.
func (s *Semaphore) detachRequests() (err error) {
	var wake wakeList
	if err := s.lockAlways(); err != nil {
		return err
	}
	defer s.recoverCorrupt(&err)
	s.steal(s.proc, nil)
	for i := uint32(0); i < s.r.slots; i++ {
		o := s.r.slot(i)
		if s.r.u32(o+slotState).Load() == slotQueued && s.r.u32(o+slotProc).Load() == s.proc {
			s.unlink(i)
			s.set32(o+slotState, slotDetached)
			wake = append(wake, i)
		}
	}
	s.serveAndUnlock(wake)
	return nil
}

// detachHoldings is Detach's second transaction, once no operation of the
// handle runs: it returns what the handle holds.
func (s *Semaphore) detachHoldings() (err error) {
	if err := s.lockAlways(); err != nil {
		return err
	}
	defer s.recoverCorrupt(&err)
	s.returnHoldings(s.proc)
	s.serveAndUnlock(nil)
	return nil
}

// retiring counts the handles of this process that are detached but
// whose process slots releaseSlot has not yet freed.
var retiring atomic.Int64

// retired is what releaseSlot needs of a detached handle (not the handle
// itself, which must become unreachable for the cleanup to run).
type retired struct {
	r     *region
	w     Waiter
	live  liveness
	id    uint64
	proc  uint32
	unmap func() error
}

// releaseSlot frees the process slot of a detached, unreachable handle and
// unmaps its region. Its pool is drained and empty (Detach), and no
// operation of the handle can run any more, so nothing touches the slot
// but the transaction here.
func releaseSlot(c retired) {
	defer retiring.Add(-1)
	s := &Semaphore{r: c.r, w: c.w, live: c.live, id: c.id, proc: c.proc}
	s.freeSlot(c.id)
	// Only now, with the identity gone from the slot and the lock word,
	// may the identity read as dead. (In a region found corrupt the slot
	// keeps it; closing the file below would drop the byte lock anyway.)
	c.live.unclaim(c.proc)
	if c.unmap != nil {
		c.unmap()
	}
}

// freeSlot frees this handle's process slot if it still holds id (in a
// region found corrupt, it stays taken).
func (s *Semaphore) freeSlot(id uint64) {
	if s.lockAlways() != nil {
		return
	}
	defer s.recoverCorrupt(nil)
	if o := s.r.proc(s.proc); s.r.u64(o+procIdentity).Load() == id {
		s.set64(o+procIdentity, 0)
	}
	s.commit()
	s.unlock()
}

// opDetached is set in Semaphore.ops by Detach.
const opDetached = 1 << 62

// enter registers an operation of this handle and reports true, or reports
// false (registering nothing) if the handle is detached; the caller must
// then not touch the region. An operation that entered calls leave when it
// no longer uses the region.
//
// Invariant: the Add both counts the operation and reads the flag, in one
// atomic step. Detach sets the flag before awaitOps waits for the count to
// reach 0, so an operation either entered before the flag was set (and
// Detach waits for it) or sees the flag (and never touches the mapping),
// and the mapping is unmapped only after the count reached 0 under the flag.
func (s *Semaphore) enter() bool {
	if s.ops.Add(1)&opDetached != 0 {
		s.ops.Add(-1)
		return false
	}
	return true
}

// leave ends an operation registered by enter.
func (s *Semaphore) leave() { s.ops.Add(-1) }

// detached reports whether Detach has begun.
func (s *Semaphore) detached() bool { return s.ops.Load()&opDetached != 0 }

// awaitOps waits, after Detach set opDetached, until every operation that
// entered before has left. Operations that enter afterwards leave at once,
// so the count reaches 0. Detach is rare: it polls, yielding first, then
// sleeping up to a millisecond between looks.
func (s *Semaphore) awaitOps() {
	for k := 0; s.ops.Load() != opDetached; k++ {
		if k < 16 {
			runtime.Gosched()
		} else {
			time.Sleep(min(time.Duration(k)*10*time.Microsecond, time.Millisecond))
		}
	}
}

// sweep looks for dead processes, at most once per sweepInterval across all
// processes, and returns what they held. It reports whether it reclaimed
// anything.
func (s *Semaphore) sweep() bool {
	ls := s.r.u64(offLastSweep)
	last := ls.Load()
	now := time.Now().UnixNano()
	if d := now - int64(last); d >= 0 && d < int64(sweepInterval) {
		return false
	}
	if !ls.CompareAndSwap(last, uint64(now)) {
		return false // another waiter, maybe in another process, sweeps
	}
	return s.sweepNow()
}

// sweepNow reclaims every process slot whose process is dead. Liveness is
// checked outside the lock (an F_OFD_GETLK per slot on Linux, OpenProcess
// on Windows); an identity found dead stays dead (an identity is not
// reused while its slot holds it, see identity_*.go), so reclaiming it
// later under the lock, if the slot still holds it, is safe.
func (s *Semaphore) sweepNow() (ok bool) {
	var dead []uint32
	var ids []uint64
	for p := uint32(0); p < s.r.procs; p++ {
		id := s.r.u64(s.r.proc(p) + procIdentity).Load()
		if id != 0 && id != s.id && !s.live.aliveAt(p, id) {
			dead = append(dead, p)
			ids = append(ids, id)
		}
	}
	if len(dead) == 0 {
		return false
	}
	var wake wakeList
	if s.lockAlways() != nil {
		return false
	}
	defer s.recoverCorrupt(nil)
	var gone []uint64
	for k, p := range dead {
		if s.r.u64(s.r.proc(p)+procIdentity).Load() == ids[k] {
			s.reclaim(p)
			s.reclaimed.Add(1)
			gone = append(gone, ids[k])
		}
	}
	s.serveAndUnlock(wake)
	s.wakeDecided() // what a dead process decided but never woke
	if reclaimHook != nil {
		for _, id := range gone {
			reclaimHook(id, "sweep")
		}
	}
	return true
}

// reclaimHook, when set (tests only), is called with the identity of each
// dead handle this process reclaimed, once the waiters its reclaim decided
// and those the dead handle decided were woken; by is "sweep" or "open".
var reclaimHook func(id uint64, by string)

// attach registers a new handle for this process in r, with the liveness
// oracle live. It fails with an error wrapping ErrNoSlots if every process
// slot is taken by a live handle.
//
// A slot is taken in three steps: a look without the lock for a slot that
// is free or whose holder is dead (a hint), a claim of its liveness (on
// Linux, the slot's OFD lock byte, which fails if a live handle holds it;
// the claim gives the handle its identity, which must be alive before it
// can own the region lock), and, under the lock, the check that decides:
// the slot is still free, or its holder is dead, and then what it held is
// reclaimed in the same transaction that gives the slot to the new handle.
func attach(r *region, w Waiter, live liveness, name string) (*Semaphore, error) {
	s := &Semaphore{r: r, w: w, live: live, name: name}
	for try := 0; try < 2 || try < 50 && retiring.Load() > 0; try++ {
		if try >= 2 {
			// Detached handles of this process may hold slots until
			// their cleanups run: collect, then give them a moment.
			if try == 2 {
				runtime.GC()
			}
			time.Sleep(2 * time.Millisecond)
		}
		for p := uint32(0); p < r.procs; p++ {
			if id := r.u64(r.proc(p) + procIdentity).Load(); id != 0 && live.aliveAt(p, id) {
				continue
			}
			id, ok := live.claim(r, p)
			if !ok {
				continue
			}
			s.id = id
			ok, dead, err := s.claimSlot(p)
			if err != nil || !ok {
				live.unclaim(p)
				if err != nil {
					return nil, err
				}
				continue
			}
			if dead != 0 {
				s.wakeDecided()
				if reclaimHook != nil {
					reclaimHook(dead, "open")
				}
			}
			return s, nil
		}
	}
	return nil, fmt.Errorf("shared %q: %w: all %d process slots are attached", name, ErrNoSlots, r.procs)
}

// claimSlot gives process slot p, whose liveness s has claimed, to s, if
// under the lock the slot is still free or its holder dead; what a dead
// holder held is reclaimed in the same transaction (dead is the dead
// holder's identity, 0 if the slot was free). It reports false if a live
// handle holds the slot, or an error wrapping ErrCorrupt if the region is
// corrupt.
func (s *Semaphore) claimSlot(p uint32) (ok bool, dead uint64, err error) {
	if err := s.lockAlways(); err != nil {
		return false, 0, err
	}
	defer s.recoverCorrupt(&err)
	o := s.r.proc(p)
	old := s.r.u64(o + procIdentity).Load()
	if old != 0 && s.live.aliveAt(p, old) {
		s.unlock()
		return false, 0, nil
	}
	if old != 0 {
		s.reclaim(p)
		s.reclaimed.Add(1)
	}
	s.set64(o+procHeld, 0)
	// Drained: invariant D holds whether or not anyone is queued; the
	// first lock-path operation undrains it.
	s.set64(o+procPool, poolDrained)
	s.set64(o+procIdentity, s.id)
	s.proc = p
	s.poolw = s.pool(p)
	s.serveAndUnlock(nil) // a reclaim may have freed permits
	return true, old, nil
}
