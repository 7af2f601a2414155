package fleet

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/compio-sync/gosync/core"
)

// A Semaphore is one process's handle on a weighted counting semaphore that
// lives in etcd and is shared by every process that opens the same name on
// the same cluster. It is safe for concurrent use. Create it with Open and
// end this process's part in it with Detach.
//
// Waiters are served strictly in etcd revision order across every process
// and machine, with direct handoff: a released permit goes to the oldest
// waiter at the revision of the release, never to a newcomer. However many
// goroutines use it, a Semaphore holds one etcd lease (every key it writes
// is attached to it, so a crashed process's permits and queue places vanish
// when the lease expires) and one watch on the semaphore's keys.
//
// Memory model: the Release whose delete reaches etcd at revision R
// synchronizes, through etcd's linearizability, before the Acquire that is
// granted at R returns, in any process. Within one process this is also a
// happens-before edge in the Go memory model, because the grant is delivered
// by the goroutine that applied R.
type Semaphore struct {
	cli       *clientv3.Client
	name      string
	pfx       string
	ttl       time.Duration
	opTimeout time.Duration

	// now stamps enqueued keys (diagnostic only; the GrantByArrival mutant
	// orders by it). Tests may replace it before the first Acquire.
	now func() time.Time
	// mut selects a deliberately broken behaviour for the mutant tests.
	mut atomic.Int32
	// leaseTaken, if set by a test, runs after an Acquire took the lease
	// and before it registers its key: the window in which the lease can
	// be lost.
	leaseTaken func(leaseID int64)

	bg       context.Context // cancelled by Detach
	cancelBg context.CancelFunc
	wg       sync.WaitGroup
	reapKick chan struct{}
	// gate admits at most maxEnqueues enqueue Txns of this process to etcd
	// at a time: the local queue in front of the global one. Blocked
	// senders on a channel are served in arrival order, so goroutines of
	// one process enqueue in the order they arrived here.
	gate chan struct{}

	// maxMu orders this process's changes of the maximum; maxGen counts
	// them, so that a SetMaxPermits retrying in the background stops once
	// a later one was made.
	maxMu  sync.Mutex
	maxGen atomic.Uint64

	// mu protects everything below.
	mu       sync.Mutex
	lease    *leaseState    // the lease new keys go under; nil when none
	granting chan struct{}  // closed when the lease grant in flight ends
	leases   map[int64]bool // every lease this Semaphore granted: their keys are ours
	seq      uint64
	local    map[string]*local // this process's queue keys, by key
	mirror   *view             // the watch's copy of the semaphore; nil before the first sync
	// mirrorInUse and mirrorWaiting are grants() of the mirror, as of the
	// last evaluation.
	mirrorInUse   int64
	mirrorWaiting int
	// deleted holds keys of ours whose delete etcd confirmed and the watch
	// has not delivered yet: not orphans, whatever the mirror says.
	deleted map[string]bool
	// knownRev is the newest revision any response has shown this process;
	// lagSince is when the mirror was first seen behind it (zero when not).
	knownRev    int64
	lagSince    time.Time
	watchCancel context.CancelFunc // ends the current watch pass
	// watchHeard is when the watch last delivered anything (events or a
	// progress notification); probeAt is when the reaper asked etcd for a
	// progress notification that has not arrived yet (zero if none).
	watchHeard time.Time
	probeAt    time.Time
	detached   bool

	watchStarts atomic.Int64 // watches opened, for tests
	resyncs     int          // watches restarted because the mirror lagged (under mu)
	// resyncWait is how long the mirror may lag, or a progress probe go
	// unanswered, before the watch is restarted; lastResync is when it
	// last was (see resyncLocked).
	resyncWait time.Duration
	lastResync time.Time
	notGranted int // held keys the rule stopped counting (under mu)
	// settleSeen is the settle key's ModRevision the watch last showed,
	// and settleSince when it was first shown: a settling left unfinished
	// (its process died or gave up) is finished by the cleanup.
	settleSeen  int64
	settleSince time.Time
	// knownHead is the head just before the latest settling change this
	// process saw land, learnt exactly (see noteHead); zero if none.
	knownHead struct{ change, head int64 }
}

type leaseState struct {
	id int64
}

// localState is where one of this process's queue keys stands.
type localState uint8

const (
	lsPending   localState = iota // the enqueue Txn is in flight
	lsWaiting                     // in the queue, not granted
	lsHeld                        // granted, owned by a Permit
	lsAbandoned                   // only with the KeepOnCancel mutant
	lsFailed
)

type local struct {
	key   string
	lease int64
	n     int64
	rev   int64 // revision of the Txn that created the key; 0 while pending
	state localState
	ch    chan result // receives the one outcome of a waiting Acquire
	p     *Permit
}

type result struct {
	p   *Permit
	err error
}

// Mutants, selected by tests through export_test.go.
const (
	mutNone           = iota
	mutGrantByArrival // order the queue by the enqueuing clients' clocks
	mutKeepOnCancel   // a cancelled Acquire leaves its key in the queue
	mutSilentLoss     // a lost Permit is dropped without telling its holder
)

// An Option configures Open.
type Option func(*options)

type options struct {
	permits   int64
	ttl       time.Duration
	opTimeout time.Duration
	prefix    string
}

// WithPermits creates the semaphore with n permits if it does not exist
// yet. If it exists with a different maximum, Open fails with
// ErrPermitsMismatch. Without WithPermits, Open fails with ErrNotExist for a
// semaphore nobody created.
func WithPermits(n int) Option { return func(o *options) { o.permits = int64(n) } }

// WithTTL sets the TTL of the process's lease (default 10 s, rounded up to
// whole seconds; etcd may raise it to its minimum). A process that crashes
// or loses contact with the cluster loses its permits and queue places
// after about this long; a shorter TTL returns them sooner but makes a slow
// or paused process lose them more easily. The process itself gives its
// lease up (its Permits report ErrLeaseLost) when no keepalive was answered
// for the TTL minus a margin of a fifth of it (at least 300 ms), before
// etcd can expire it.
func WithTTL(d time.Duration) Option { return func(o *options) { o.ttl = d } }

// WithOpTimeout bounds each etcd request made without a caller's ctx
// (Permit.Release, Release, cleanup after a cancelled Acquire; default 5 s).
func WithOpTimeout(d time.Duration) Option { return func(o *options) { o.opTimeout = d } }

// WithPrefix sets the etcd key prefix under which semaphores live (default
// "/gosync/fleet/"). Every process sharing a semaphore must use the same one.
func WithPrefix(p string) Option { return func(o *options) { o.prefix = p } }

// DefaultTTL is the lease TTL when WithTTL is not given.
const DefaultTTL = 10 * time.Second

// MaxPermitsLimit is the largest maximum a semaphore can have: core's, so
// that a limit moves between the two unchanged.
const MaxPermitsLimit = core.MaxPermitsLimit

// Open opens the semaphore called name on the cluster cli talks to.
//
// With WithPermits(n) the first opener creates it with n permits; a later
// Open WithPermits(n) succeeds if the stored maximum is n and fails with
// ErrPermitsMismatch otherwise. Without WithPermits, Open fails with
// ErrNotExist if nobody created it. A name must be 1 to 128 characters from
// [A-Za-z0-9._-] and not "." or "..": anything else fails with ErrBadName,
// so no name can reach into another semaphore's keys. etcd errors are
// returned wrapped.
//
// Open starts the Semaphore's watch; its lease is granted by the first
// Acquire. Call Detach when the process is done with it. Open panics with a
// message starting "fleet:" if cli is nil or n is negative.
func Open(ctx context.Context, cli *clientv3.Client, name string, opts ...Option) (*Semaphore, error) {
	if cli == nil {
		panic("fleet: Open with a nil client")
	}
	o := options{permits: -1, ttl: DefaultTTL, opTimeout: 5 * time.Second, prefix: "/gosync/fleet/"}
	for _, opt := range opts {
		opt(&o)
	}
	if err := checkName(name); err != nil {
		return nil, err
	}
	if o.permits > MaxPermitsLimit {
		return nil, fmt.Errorf("fleet: WithPermits(%d) is more than MaxPermitsLimit", o.permits)
	}
	if o.prefix == "" {
		return nil, fmt.Errorf("%w: empty key prefix", ErrBadName)
	}
	pfx := o.prefix + name + "/"
	if o.permits >= 0 {
		resp, err := cli.Txn(ctx).
			If(clientv3.Compare(clientv3.CreateRevision(pfx+keyMax), "=", 0)).
			Then(clientv3.OpPut(pfx+keyMax, padPermits(o.permits))).
			Else(clientv3.OpGet(pfx + keyMax)).Commit()
		if err != nil {
			return nil, fmt.Errorf("fleet: open %q: %w", name, err)
		}
		if !resp.Succeeded {
			kvs := resp.Responses[0].GetResponseRange().Kvs
			if len(kvs) == 1 && string(kvs[0].Value) != padPermits(o.permits) {
				return nil, fmt.Errorf("%w: %q has %s permits, Open asked for %d", ErrPermitsMismatch, name, strings.TrimLeft(string(kvs[0].Value), "0"), o.permits)
			}
		}
	} else {
		resp, err := cli.Get(ctx, pfx+keyMax)
		if err != nil {
			return nil, fmt.Errorf("fleet: open %q: %w", name, err)
		}
		if len(resp.Kvs) == 0 {
			return nil, fmt.Errorf("%w: %q (Open it WithPermits to create it)", ErrNotExist, name)
		}
	}
	s := &Semaphore{
		cli: cli, name: name, pfx: pfx, ttl: o.ttl, opTimeout: o.opTimeout,
		now:        time.Now,
		reapKick:   make(chan struct{}, 1),
		resyncWait: resyncAfter,
		gate:       make(chan struct{}, maxEnqueues),
		leases:     make(map[int64]bool),
		local:      make(map[string]*local),
		deleted:    make(map[string]bool),
	}
	s.bg, s.cancelBg = context.WithCancel(context.Background())
	s.wg.Add(2)
	go s.watchLoop()
	go s.reapLoop()
	return s, nil
}

func checkName(name string) error {
	if name == "" || name == "." || name == ".." || len(name) > 128 {
		return fmt.Errorf("%w %q: want 1 to 128 characters, not \".\" or \"..\"", ErrBadName, name)
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return fmt.Errorf("%w %q: character %q is not one of [A-Za-z0-9._-]", ErrBadName, name, c)
		}
	}
	return nil
}

// Name returns the semaphore's name.
func (s *Semaphore) Name() string { return s.name }

// Acquire acquires one permit. It is AcquireN(ctx, 1).
func (s *Semaphore) Acquire(ctx context.Context) (*Permit, error) { return s.AcquireN(ctx, 1) }

// AcquireN acquires n permits, blocking until they are granted, ctx is done,
// or the semaphore is closed. Waiters are served strictly in the order etcd
// committed their enqueue (revision order), across every process: while any
// waiter is queued, a new AcquireN queues behind it even if enough permits
// are free. An uncontended AcquireN is one etcd round trip.
//
// On success it returns a Permit holding n permits and a nil error. Watch
// the Permit's Done channel: the permits can be lost with the lease.
//
// On failure it returns a nil Permit, holds nothing, and leaves no permit
// stranded: its queue key is deleted (a grant that raced the failure passes
// to the next waiter), by the call itself within WithOpTimeout or else by
// the Semaphore's background cleanup, and at the latest when the lease
// expires. The error is
//   - ctx.Err() if ctx is done, including before the call;
//   - an error satisfying errors.Is(err, ErrClosed) (and core.ErrClosed) if
//     the semaphore is closed before the permits are granted;
//   - an error satisfying errors.Is(err, ErrTooLarge) (and
//     core.ErrTooLarge) at once if n exceeds the maximum, or later if
//     SetMaxPermits shrinks the maximum below n while it waits;
//   - ErrLeaseLost if the process's lease ended while it waited, or
//     before its key was put (etcd refused the key because the lease was
//     gone; the next Acquire takes a new lease);
//   - ErrDetached after Detach;
//   - ErrNotExist if the semaphore's keys were deleted from etcd;
//   - an error wrapping the etcd client's if the cluster refused or failed
//     the request. AcquireN waits for the cluster as long as ctx allows
//     (the client waits for a connection): pass a ctx with a deadline to
//     bound it when the cluster may be unreachable. It never blocks past
//     ctx by more than the 300 ms it gives the delete of its key.
//
// n == 0 succeeds with an empty Permit after one read that checks the
// semaphore is not closed. AcquireN panics with a message starting "fleet:"
// if n is negative.
func (s *Semaphore) AcquireN(ctx context.Context, n int) (*Permit, error) {
	if n < 0 {
		panic(fmt.Sprintf("fleet: AcquireN with negative n (%d)", n))
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if n == 0 {
		return s.acquireZero(ctx)
	}
	p, _, err := s.acquire(ctx, int64(n))
	return p, err
}

// TryAcquire acquires one permit without waiting. It is TryAcquireN(1).
func (s *Semaphore) TryAcquire() (*Permit, bool) { return s.TryAcquireN(1) }

// TryAcquireN acquires n permits without waiting for other holders, within
// WithOpTimeout. It is TryAcquireNContext with that timeout, reporting an
// etcd error as false; use TryAcquireNContext to tell the two apart.
func (s *Semaphore) TryAcquireN(n int) (*Permit, bool) {
	ctx, cancel := s.opCtx()
	defer cancel()
	p, ok, _ := s.TryAcquireNContext(ctx, n)
	return p, ok
}

// TryAcquireNContext acquires n permits without waiting for other holders.
// It is a read and, if the permits are free and nobody waits, a conditional
// put: two etcd round trips, more if the semaphore changed in between.
//
// On success it returns a Permit holding n permits, true and a nil error.
// It returns nil, false, nil, holding nothing, if fewer than n permits are
// free, if any waiter is queued anywhere (a TryAcquire never barges past a
// waiter), if n exceeds the maximum, if the semaphore is closed, or while a
// shrink or Close is settling (no grant is made then). It
// returns nil, false and an error if ctx ends or the cluster could not be
// asked. n == 0 succeeds with an empty Permit unless the semaphore is
// closed. It panics with a message starting "fleet:" if n is negative.
func (s *Semaphore) TryAcquireNContext(ctx context.Context, n int) (*Permit, bool, error) {
	if n < 0 {
		panic(fmt.Sprintf("fleet: TryAcquireN with negative n (%d)", n))
	}
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	if n == 0 {
		p, err := s.acquireZero(ctx)
		if errors.Is(err, ErrClosed) {
			return nil, false, nil
		}
		return p, err == nil, err
	}
	p, ok, err := s.tryAcquire(ctx, int64(n))
	if errors.Is(err, ErrClosed) || errors.Is(err, ErrTooLarge) {
		return nil, false, nil
	}
	return p, ok, err
}

// opCtx bounds a call that has no ctx of its own by WithOpTimeout.
func (s *Semaphore) opCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(s.bg, s.opTimeout)
}

func (s *Semaphore) acquireZero(ctx context.Context) (*Permit, error) {
	v, err := s.read(ctx)
	if err != nil {
		return nil, err
	}
	if err := v.refusal(s.name, 0); err != nil {
		return nil, err
	}
	return &Permit{done: make(chan struct{})}, nil
}

// newLocal registers a pending record for a new key of lease ls, or returns
// ErrLeaseLost if ls is no longer the current lease (it was lost since the
// caller took it), or ErrDetached. It is registered before the Txn is sent: the watch may see the key before the
// Txn's response arrives, and the cleanup deletes keys of ours that no local
// record claims.
func (s *Semaphore) newLocal(ls *leaseState, n int64) (*local, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.detached {
		return nil, ErrDetached
	}
	// The keepalive loop fails the records of a lost lease once, when it
	// ends; a record registered after that would put a key on a dead
	// lease that nobody fails.
	if s.lease != ls {
		return nil, ErrLeaseLost
	}
	s.seq++
	l := &local{key: queueKey(s.pfx, ls.id, s.seq), lease: ls.id, n: n, ch: make(chan result, 1)}
	s.local[l.key] = l
	return l, nil
}

// failedMeanwhile returns the outcome Detach or a lost lease gave l while
// its enqueue Txn was in flight, or nil. That outcome names the cause the
// Txn's own error (a revoked lease, a closed client) only follows from.
// Either way the key cannot outlive the Txn: the lease it names is revoked
// or gone.
func (s *Semaphore) failedMeanwhile(l *local) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if l.state != lsFailed {
		return nil
	}
	select {
	case r := <-l.ch:
		return r.err
	default:
		return nil
	}
}

// txnFailed handles an enqueue Txn that returned an error: its outcome is
// unknown, so the key may exist or appear later. Dropping the record makes
// it an orphan; deleting it at once (bounded by cleanupGrace) keeps a
// failed call from leaving a queue place behind it, and the cleanup retries.
//
// An enqueue etcd refused because the lease is gone applied nothing: the
// lease is retired at once (its other records are lost, the next Acquire
// grants a new one) and it reports ErrLeaseLost, as it would had the loss
// been seen first.
func (s *Semaphore) txnFailed(ctx context.Context, l *local, op string, err error) error {
	s.forget(l)
	if errors.Is(err, rpctypes.ErrLeaseNotFound) {
		s.mu.Lock()
		s.leaseEndedLocked(l.lease)
		s.mu.Unlock()
		return fmt.Errorf("%w (%s: etcd: %w)", ErrLeaseLost, op, err)
	}
	_ = s.deleteKeyWithin(l.key, min(s.opTimeout, cleanupGrace))
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return s.etcdErr(op, err)
}

// acquire enqueues a key for n permits with one Txn and waits until the rule
// in grants() grants it. When this process's latest view says the key may be
// granted at once, the same Txn also reads the whole semaphore and decides
// from that read, so an uncontended Acquire is one round trip; when the view
// shows a queue, the read (O(keys) in etcd) is skipped and the watch brings
// the grant. Either way the decision is the rule's at some revision at or
// after the enqueue, so the view's staleness costs time, never correctness.
func (s *Semaphore) acquire(ctx context.Context, n int64) (*Permit, bool, error) {
	ls, err := s.ensureLease(ctx)
	if err != nil {
		return nil, false, err
	}
	if s.leaseTaken != nil {
		s.leaseTaken(ls.id)
	}
	l, err := s.newLocal(ls, n)
	if err != nil {
		return nil, false, err
	}
	s.mu.Lock()
	// Full permits alone do not skip the read: they may be this process's
	// own release that the watch has not delivered yet.
	readBack := s.mirror == nil || s.mirrorWaiting == 0
	s.mu.Unlock()
	then := []clientv3.Op{clientv3.OpPut(l.key, encodeEntry(n, flagNone, s.now().UnixNano()), clientv3.WithLease(clientv3.LeaseID(ls.id)))}
	if readBack {
		then = append(then, clientv3.OpGet(s.pfx, clientv3.WithPrefix()))
	}
	select {
	case s.gate <- struct{}{}:
	case r := <-l.ch:
		// Failed while parked (Detach, or the lease was lost): the key
		// was never sent.
		return nil, false, r.err
	case <-ctx.Done():
		s.forget(l)
		return nil, false, ctx.Err()
	}
	// Bounded by ctx alone, like concurrency.Mutex.Lock: under load the
	// enqueues of many goroutines queue in etcd, and any fixed bound would
	// turn a slow grant into a failure.
	resp, err := s.cli.Txn(ctx).
		If(clientv3.Compare(clientv3.Value(s.pfx+keyMax), ">", padPermits(n-1)), // max >= n
			clientv3.Compare(clientv3.Version(s.pfx+keyClosed), "=", 0)).
		Then(then...).
		Else(clientv3.OpGet(s.pfx, clientv3.WithPrefix())).
		Commit()
	<-s.gate
	if err != nil {
		if ferr := s.failedMeanwhile(l); ferr != nil {
			return nil, false, ferr
		}
		return nil, false, s.txnFailed(ctx, l, "acquire", err)
	}
	if !resp.Succeeded {
		s.forget(l)
		rng := resp.Responses[0].GetResponseRange()
		return nil, false, viewOf(s.pfx, resp.Header.Revision, rng.Kvs).refusal(s.name, n)
	}
	granted := false
	if readBack {
		rng := resp.Responses[1].GetResponseRange()
		st, _, _ := viewOf(s.pfx, resp.Header.Revision, rng.Kvs).grants(s.mut.Load() == mutGrantByArrival)
		granted = st[l.key] == stGranted
	}

	s.mu.Lock()
	if l.state == lsFailed { // the lease ended while the Txn was in flight
		s.mu.Unlock()
		r := <-l.ch
		return nil, false, r.err
	}
	l.rev = resp.Header.Revision
	s.knownRev = max(s.knownRev, l.rev)
	if granted {
		p := s.holdLocked(l)
		s.mu.Unlock()
		return p, true, nil
	}
	l.state = lsWaiting
	// The watch may already be past the Txn's revision.
	s.evaluateLocked()
	s.mu.Unlock()

	select {
	case r := <-l.ch:
		return r.p, r.err == nil, r.err
	case <-ctx.Done():
		return nil, false, s.cancelWait(l, ctx.Err())
	}
}

// tryAcquire takes n permits only if a new key would be granted at once:
// it reads the semaphore, and if nobody waits and n fit, puts the key in a
// Txn that commits only if nothing was put under the prefix since the read
// (deletions only free permits). So a failed TryAcquire never enters the
// queue, not even for a moment, and cannot block anyone. A changed
// semaphore means another read, up to 8 times; then it reports false.
func (s *Semaphore) tryAcquire(ctx context.Context, n int64) (*Permit, bool, error) {
	ls, err := s.ensureLease(ctx)
	if err != nil {
		return nil, false, err
	}
	if s.leaseTaken != nil {
		s.leaseTaken(ls.id)
	}
	for range 8 {
		v, err := s.read(ctx)
		if err != nil {
			return nil, false, err
		}
		if v.refusal(s.name, n) != nil {
			return nil, false, nil
		}
		// While a shrink or Close settles nothing unpinned is granted.
		if _, inUse, waiting := v.grants(s.mut.Load() == mutGrantByArrival); v.settling || waiting > 0 || inUse+n > v.max {
			return nil, false, nil
		}
		l, err := s.newLocal(ls, n)
		if err != nil {
			return nil, false, err
		}
		resp, err := s.cli.Txn(ctx).
			If(clientv3.Compare(clientv3.ModRevision(s.pfx).WithPrefix(), "<", v.rev+1)).
			Then(clientv3.OpPut(l.key, encodeEntry(n, flagNone, s.now().UnixNano()), clientv3.WithLease(clientv3.LeaseID(ls.id)))).
			Commit()
		if err != nil {
			if ferr := s.failedMeanwhile(l); ferr != nil {
				return nil, false, ferr
			}
			return nil, false, s.txnFailed(ctx, l, "try acquire", err)
		}
		if !resp.Succeeded {
			s.forget(l)
			continue
		}
		s.mu.Lock()
		if l.state == lsFailed {
			s.mu.Unlock()
			r := <-l.ch
			return nil, false, r.err
		}
		l.rev = resp.Header.Revision
		s.knownRev = max(s.knownRev, l.rev)
		p := s.holdLocked(l)
		s.mu.Unlock()
		return p, true, nil
	}
	return nil, false, nil
}

// cancelWait ends a waiting Acquire whose ctx is done: it deletes the key,
// which passes on a grant that raced the cancellation.
func (s *Semaphore) cancelWait(l *local, err error) error {
	s.mu.Lock()
	select {
	case r := <-l.ch:
		if r.err != nil {
			// Failed first (closed, too large, lease lost): the key is
			// already ours to forget; report the ctx error like core.
			s.mu.Unlock()
			return err
		}
		// Granted first: the Permit never reaches the caller, so the
		// grant is passed on by deleting the key below.
		r.p.finishLocked(err)
	default:
	}
	if s.mut.Load() == mutKeepOnCancel {
		l.state = lsAbandoned
		s.mu.Unlock()
		return err
	}
	delete(s.local, l.key)
	l.state = lsFailed
	s.mu.Unlock()
	// Bounded by cleanupGrace, not by the caller's (done) ctx nor by
	// WithOpTimeout: a cancelled Acquire returns promptly even while etcd
	// elects a leader; the cleanup then retries the delete.
	_ = s.deleteKeyWithin(l.key, min(s.opTimeout, cleanupGrace))
	return err
}

// maxEnqueues bounds the enqueue Txns one Semaphore has in flight: a
// thousand goroutines of one process must not become a thousand concurrent
// proposals (etcd answers "request timed out" long before it applies them).
const maxEnqueues = 16

// cleanupGrace bounds how long a cancelled Acquire waits for its key's
// delete before leaving it to the background cleanup.
const cleanupGrace = 300 * time.Millisecond

// forget drops l's record after a failed or refused enqueue.
func (s *Semaphore) forget(l *local) {
	s.mu.Lock()
	if s.local[l.key] == l {
		delete(s.local, l.key)
	}
	l.state = lsFailed
	s.mu.Unlock()
	s.kickReaper()
}

// holdLocked turns a granted record into a Permit.
func (s *Semaphore) holdLocked(l *local) *Permit {
	l.state = lsHeld
	l.p = &Permit{s: s, key: l.key, rev: l.rev, lease: l.lease, n: int(l.n), done: make(chan struct{})}
	return l.p
}

// failLocked ends a waiting or pending record with err.
func (s *Semaphore) failLocked(l *local, err error) {
	delete(s.local, l.key)
	l.state = lsFailed
	l.ch <- result{err: err}
}

// refusal explains why an enqueue Txn's compares failed, from the state it
// read, or returns nil if nothing stops a request for n.
func (v *view) refusal(name string, n int64) error {
	switch {
	case !v.hasMax:
		return fmt.Errorf("%w: %q has no maximum key in etcd (deleted?)", ErrNotExist, name)
	case v.closed:
		return fmt.Errorf("%w: %q", ErrClosed, name)
	case n > v.max:
		return fmt.Errorf("%w: %q: AcquireN(%d) with MaxPermits %d", ErrTooLarge, name, n, v.max)
	}
	return nil
}

func (s *Semaphore) etcdErr(op string, err error) error {
	return fmt.Errorf("fleet: %s %q: etcd: %w", op, s.name, err)
}

// ensureLease returns the current lease, granting one if there is none.
// Concurrent callers share one grant; each waits for it only until its own
// ctx ends.
func (s *Semaphore) ensureLease(ctx context.Context) (*leaseState, error) {
	for {
		s.mu.Lock()
		if s.detached {
			s.mu.Unlock()
			return nil, ErrDetached
		}
		if ls := s.lease; ls != nil {
			s.mu.Unlock()
			return ls, nil
		}
		if ch := s.granting; ch != nil {
			s.mu.Unlock()
			select {
			case <-ch:
				continue
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		ch := make(chan struct{})
		s.granting = ch
		s.mu.Unlock()
		ls, err := s.grantLease(ctx)
		s.mu.Lock()
		s.granting = nil
		close(ch)
		s.mu.Unlock()
		return ls, err
	}
}

// grantLease grants a lease with the Semaphore's TTL and keeps it alive.
func (s *Semaphore) grantLease(ctx context.Context) (*leaseState, error) {
	ttl := int64((s.ttl + time.Second - 1) / time.Second)
	tctx, cancel := context.WithTimeout(ctx, s.opTimeout)
	sent := time.Now()
	g, err := s.cli.Grant(tctx, max(ttl, 1))
	cancel()
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, s.etcdErr("grant lease", err)
	}
	ls := &leaseState{id: int64(g.ID)}
	s.mu.Lock()
	if s.detached {
		s.mu.Unlock()
		rctx, cancel := context.WithTimeout(context.Background(), s.opTimeout)
		_, _ = s.cli.Revoke(rctx, g.ID)
		cancel()
		return nil, ErrDetached
	}
	s.lease = ls
	s.leases[ls.id] = true
	s.wg.Add(1)
	s.mu.Unlock()
	granted := time.Duration(g.TTL) * time.Second
	go s.keepAliveLoop(ls, granted, sent.Add(granted-leaseMargin(granted)))
	return ls, nil
}

// leaseMargin is how long before etcd could expire a lease the process
// gives it up: a fifth of the TTL, at least 300 ms, at most half of it.
// It covers the time between the deadline and every Permit's Done being
// closed (a timer, a lock), and the clocks of client and server running at
// slightly different rates.
func leaseMargin(ttl time.Duration) time.Duration {
	return min(max(ttl/5, 300*time.Millisecond), ttl/2)
}

// keepAliveLoop keeps the lease alive with one keepalive every TTL/3, and
// holds a deadline: etcd expires the lease no earlier than TTL after it
// renewed it, which is after the keepalive was sent, so once
// sent+TTL-leaseMargin passes without a newer answer, etcd may be about to
// expire it and grant its permits elsewhere. The lease is then given up:
// every Permit and waiter of it learns that it is lost (before anyone else
// can be granted its permits, as long as this process gets the CPU within
// the margin), and the next Acquire grants a new lease. The same happens at
// once when etcd answers that the lease is gone (expired or revoked), and
// the loop ends silently on Detach.
func (s *Semaphore) keepAliveLoop(ls *leaseState, ttl time.Duration, deadline time.Time) {
	defer s.wg.Done()
	every := ttl / 3
	next := time.Now().Add(every)
	for {
		wake := next
		if deadline.Before(wake) {
			wake = deadline
		}
		if !sleepUntil(s.bg, wake) {
			break // Detach
		}
		if !time.Now().Before(deadline) {
			break // etcd may expire it at any moment now
		}
		sent := time.Now()
		ctx, cancel := context.WithDeadline(s.bg, deadline)
		resp, err := s.cli.KeepAliveOnce(ctx, clientv3.LeaseID(ls.id))
		cancel()
		if err == nil {
			deadline = sent.Add(time.Duration(resp.TTL)*time.Second - leaseMargin(ttl))
			next = sent.Add(every)
			continue
		}
		if errors.Is(err, rpctypes.ErrLeaseNotFound) {
			break
		}
		// KeepAliveOnce retries until its ctx ends; try again at once
		// if time is left before the deadline.
		next = time.Now()
	}
	s.mu.Lock()
	s.leaseEndedLocked(ls.id)
	detached := s.detached
	s.mu.Unlock()
	if !detached {
		// The server may still hold the lease (a partition that heals):
		// revoke it so its keys go now rather than at expiry.
		ctx, cancel := context.WithTimeout(s.bg, s.opTimeout)
		_, _ = s.cli.Revoke(ctx, clientv3.LeaseID(ls.id))
		cancel()
	}
}

// sleepUntil waits until t and reports true, or false if ctx ends first.
func sleepUntil(ctx context.Context, t time.Time) bool {
	timer := time.NewTimer(time.Until(t))
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-timer.C:
		return true
	}
}

// leaseEndedLocked retires lease id: the next Acquire grants a new one, and
// every record of id is lost.
func (s *Semaphore) leaseEndedLocked(id int64) {
	if s.lease != nil && s.lease.id == id {
		s.lease = nil
	}
	for _, l := range s.local {
		if l.lease == id {
			s.loseLocked(l)
		}
	}
}

// loseLocked ends one record whose key is gone or whose lease ended.
func (s *Semaphore) loseLocked(l *local) {
	switch l.state {
	case lsPending, lsWaiting:
		s.failLocked(l, ErrLeaseLost)
	case lsHeld:
		delete(s.local, l.key)
		l.state = lsFailed
		if s.mut.Load() == mutSilentLoss {
			return
		}
		l.p.finishLocked(ErrLeaseLost)
	default:
		delete(s.local, l.key)
	}
}

// deleteKeyWithin deletes one of our queue keys within d. On failure
// the key is an orphan that the background cleanup retries.
func (s *Semaphore) deleteKeyWithin(key string, d time.Duration) error {
	ctx, cancel := context.WithTimeout(s.bg, d)
	defer cancel()
	return s.deleteKeyCtx(ctx, key)
}

func (s *Semaphore) deleteKeyCtx(ctx context.Context, key string) error {
	resp, err := s.cli.Delete(ctx, key)
	if err != nil {
		s.kickReaper()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return s.etcdErr("release", err)
	}
	s.mu.Lock()
	// Only a delete that removed the key: a key that did not exist yet
	// (an enqueue still in flight) must stay an orphan when it appears.
	if resp.Deleted > 0 && s.mirror != nil && s.mirror.rev < resp.Header.Revision {
		s.deleted[key] = true
	}
	s.mu.Unlock()
	return nil
}

func (s *Semaphore) kickReaper() {
	select {
	case s.reapKick <- struct{}{}:
	default:
	}
}
