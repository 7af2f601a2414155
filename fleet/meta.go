package fleet

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// settleBatch is how many queue keys one settling Txn rewrites: etcd's
// default --max-txn-ops is 128 per Txn branch, compares included, and each
// rewritten key adds one compare.
const settleBatch = 100

// SetMaxPermits sets the semaphore's maximum to n, fleet-wide. It is
// SetMaxPermitsContext within WithOpTimeout, without the error: if etcd
// could not be reached in that time, the Semaphore keeps trying in the
// background (backing off up to 5 s) until the change lands, a later
// SetMaxPermits or SetMaxPermitsContext of this process supersedes it, or
// Detach; a shrink whose first Txn landed is finished by any process of the
// fleet. Use SetMaxPermitsContext to learn when it is in force. It panics
// with a message starting "fleet:" if n is negative or larger than
// MaxPermitsLimit.
func (s *Semaphore) SetMaxPermits(n int) {
	checkMax(n)
	gen := s.maxGen.Add(1)
	s.persist(func(ctx context.Context) (bool, error) {
		s.maxMu.Lock()
		defer s.maxMu.Unlock()
		if s.maxGen.Load() != gen {
			return false, nil // superseded
		}
		return true, s.setMax(ctx, n)
	})
}

// persist runs do within WithOpTimeout and, while it fails with anything
// but ErrNotExist or ErrDetached, again in the background, backing off from
// 100 ms to 5 s, until it succeeds, do reports that it no longer applies,
// or Detach: the error-less Close and SetMaxPermits do not drop a change
// because etcd was briefly out of reach.
func (s *Semaphore) persist(do func(context.Context) (bool, error)) {
	try := func() bool {
		ctx, cancel := s.opCtx()
		defer cancel()
		applies, err := do(ctx)
		return !applies || err == nil || errors.Is(err, ErrNotExist) || errors.Is(err, ErrDetached) || s.bg.Err() != nil
	}
	if try() {
		return
	}
	s.mu.Lock()
	if s.detached {
		s.mu.Unlock()
		return
	}
	s.wg.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.wg.Done()
		for backoff := 100 * time.Millisecond; ; backoff = min(2*backoff, 5*time.Second) {
			sleepCtx(s.bg, backoff)
			if s.bg.Err() != nil || try() {
				return
			}
		}
	}()
}

func checkMax(n int) {
	if n < 0 || int64(n) > MaxPermitsLimit {
		panic(fmt.Sprintf("fleet: SetMaxPermits(%d): want 0 <= n <= MaxPermitsLimit", n))
	}
}

// SetMaxPermitsContext sets the semaphore's maximum to n, fleet-wide.
//
// Growing lets queued waiters everywhere be granted at once, in FIFO order.
// Shrinking keeps holders: after a shrink below what is in use, InUse may
// exceed MaxPermits until enough permits come back, and a grant of k then
// waits until InUse + k <= n. Queued waiters that ask for more than n fail
// with ErrTooLarge; the waiters behind them keep their order. It works after
// Close.
//
// Growing is one read and one Txn. Shrinking is one read, one Txn that
// changes the maximum, freezes grants fleet-wide and reads the queue as it
// stood just before, then Txns that pin every holder (100 keys per Txn,
// however many there are; the first also records the queue's head, so that
// any process can finish the shrink once etcd compacted the revision before
// it) and reject the waiters larger than n, then one that ends the freeze;
// while it runs no Acquire is granted anywhere. Every step is repeated if
// the semaphore changed in between. On success it returns nil once the new
// maximum is in force. It returns
// ctx.Err() or an error wrapping the client's if etcd could not be asked; if
// the shrink's first Txn landed, the shrink still completes (any process of
// the fleet that sees it unfinished for a second finishes it). It panics
// with a message starting "fleet:" if n is negative or larger than
// MaxPermitsLimit.
func (s *Semaphore) SetMaxPermitsContext(ctx context.Context, n int) error {
	checkMax(n)
	s.maxMu.Lock()
	defer s.maxMu.Unlock()
	s.maxGen.Add(1) // supersedes a SetMaxPermits still retrying
	return s.setMax(ctx, n)
}

// setMax is SetMaxPermitsContext, under maxMu: the changes of one process
// land in the order they were made.
func (s *Semaphore) setMax(ctx context.Context, n int) error {
	return s.change(ctx, "SetMaxPermits", func(v *view) (clientv3.Op, bool, bool) {
		put := clientv3.OpPut(s.pfx+keyMax, padPermits(int64(n)))
		// A grow takes no grant back: no settling.
		return put, v.max != int64(n), int64(n) < v.max
	})
}

// Close closes the semaphore fleet-wide. It is CloseContext within
// WithOpTimeout, without the error: if etcd could not be reached in that
// time, the Semaphore keeps trying in the background (backing off up to
// 5 s) until the Close lands or Detach; once its first Txn landed it is
// finished by any process of the fleet. Use CloseContext to learn when it
// is in force. Close does not end this process's use of the semaphore:
// that is Detach.
func (s *Semaphore) Close() {
	s.persist(func(ctx context.Context) (bool, error) { return true, s.CloseContext(ctx) })
}

// CloseContext closes the semaphore fleet-wide: every Acquire queued in any
// process fails with ErrClosed (which wraps core.ErrClosed), every later
// Acquire fails the same way (one whose ctx is already done reports
// ctx.Err()), and TryAcquire fails. Permits already held stay valid and can
// be released. Close is idempotent and irreversible. To end only this
// process's use of the semaphore, call Detach instead.
//
// It is one read, one Txn that puts the closed key, freezes grants and
// reads the queue as it stood just before, then Txns that pin every holder
// (100 per Txn, however many there are; the first also records the queue's
// head), then one that ends the freeze, each repeated if the semaphore
// changed in between. It returns nil once the semaphore is closed and
// settled, or ctx.Err() or an error wrapping the client's if etcd could not
// be asked; once the first Txn landed, later Acquires fail and the Close
// completes even so (any process of the fleet finishes it).
func (s *Semaphore) CloseContext(ctx context.Context) error {
	return s.change(ctx, "Close", func(v *view) (clientv3.Op, bool, bool) {
		return clientv3.OpPut(s.pfx+keyClosed, ""), !v.closed, true
	})
}

// encodeSettle is the settle key's value for a change made on v: the rule
// in force before it, "<max> <closed>" (closed is 0 or 1). It names no
// revision: the settle key's own ModRevision is the change's, and the head
// that settling needs once that revision is compacted goes in the head key
// (encodeHead), written after the change because it is only known once the
// change's Txn has read the queue.
func encodeSettle(v *view) string {
	closed := 0
	if v.closed {
		closed = 1
	}
	return fmt.Sprintf("%d %d", v.max, closed)
}

// parseSettle decodes encodeSettle's value; ok is false if it cannot.
func parseSettle(val []byte) (max int64, closed bool, ok bool) {
	var c int
	if _, err := fmt.Sscanf(string(val), "%d %d", &max, &c); err != nil {
		return 0, false, false
	}
	return max, c == 1, true
}

// encodeHead is the head key's value: the head the rule in force just
// before the change at revision change left (see view.headUnder).
func encodeHead(change, head int64) string { return fmt.Sprintf("%d %d", change, head) }

// change reads the semaphore, finishes any settling in progress, lets plan
// compute the write, and commits it only if the maximum and the closed
// state are the ones read and nothing is settling (the write, and the rule
// a settling change records, depend on all three), then settles what it
// started. plan returns the write, whether there is anything to do (false:
// change returns nil), and whether the write takes grants back and so
// needs settling.
//
// A settling change's Txn puts the settle key and reads the queue, in that
// one Txn: the read is the state just before the change, so the head it
// yields (noteHead) is exact whatever was released or cancelled between
// change's read and its commit, and needs no revision that etcd may
// compact.
func (s *Semaphore) change(ctx context.Context, op string, plan func(*view) (put clientv3.Op, does, settles bool)) error {
	for {
		v, err := s.read(ctx)
		if err != nil {
			return err
		}
		if !v.hasMax {
			return fmt.Errorf("%w: %q", ErrNotExist, s.name)
		}
		if v.settling {
			if err := s.settle(ctx, v); err != nil {
				return err
			}
			continue
		}
		put, does, settles := plan(v)
		if !does {
			return nil
		}
		ops := []clientv3.Op{put}
		if settles {
			ops = []clientv3.Op{
				// First, so that it reads the state the change is
				// made on, at the change's own revision: no release
				// or cancellation can fall between the two.
				clientv3.OpGet(s.pfx, clientv3.WithPrefix()),
				put,
				clientv3.OpPut(s.pfx+keySettle, encodeSettle(v)),
				// A head key that a version of this package which
				// does not know it left behind must not outlive
				// this change: it names another change, but is
				// cleared anyway.
				clientv3.OpDelete(s.pfx + keyHead),
			}
		}
		closedCmp := clientv3.Compare(clientv3.Version(s.pfx+keyClosed), "=", 0)
		if v.closed {
			closedCmp = clientv3.Compare(clientv3.Version(s.pfx+keyClosed), ">", 0)
		}
		resp, err := s.cli.Txn(ctx).
			If(clientv3.Compare(clientv3.ModRevision(s.pfx+keyMax), "=", v.maxModRev),
				closedCmp,
				clientv3.Compare(clientv3.Version(s.pfx+keySettle), "=", 0)).
			Then(ops...).Commit()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return s.etcdErr(op, err)
		}
		if !resp.Succeeded {
			continue
		}
		if !settles {
			return nil
		}
		change := resp.Header.Revision
		prev := viewOf(s.pfx, change-1, resp.Responses[0].GetResponseRange().Kvs)
		s.noteHead(change, prev.headUnder(prev.max, prev.closed, change))
		return s.settle(ctx, nil)
	}
}

// noteHead remembers the head just before the change at revision change,
// learnt exactly (by the change's own Txn or by the watch): settle uses it
// before anything else while that change settles.
func (s *Semaphore) noteHead(change, head int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.noteHeadLocked(change, head)
}

// noteHeadLocked is noteHead under s.mu. Only the latest change is kept:
// an earlier one is settled, since a change commits only when nothing is
// settling.
func (s *Semaphore) noteHeadLocked(change, head int64) {
	if change > s.knownHead.change {
		s.knownHead.change, s.knownHead.head = change, head
	}
}

// settle finishes the shrink or Close that is settling, starting from v
// (nil: read first): it pins, up to settleBatch keys per Txn, every key that
// was granted just before the change and still exists (grantedBefore, from
// the head that headBefore finds), and rejects every unpinned key that rule
// did not grant and the new maximum cannot hold; then it deletes the settle
// and head keys. Every Txn is fenced by the settle key's ModRevision (a
// settling finished meanwhile, perhaps by another process, followed by a
// new one, must not be written into) and by each rewritten key's
// ModRevision (a key released, shrunk, or rewritten meanwhile is read
// again). The first Txn that pins also records the head in the head key
// when it was learnt exactly and is not recorded yet, so that whoever
// finishes the settling later knows it without the revision before the
// change. Any process may settle, at any time, as often as it likes: each
// step is correct on its own. It returns nil once nothing is settling.
func (s *Semaphore) settle(ctx context.Context, v *view) error {
	var head, headFor int64
	var exact bool
	for {
		if v == nil {
			var err error
			if v, err = s.read(ctx); err != nil {
				return err
			}
		}
		if !v.settling {
			return nil
		}
		// A fallback head is replaced by a record another process
		// made meanwhile; an exact one is kept for the whole change.
		if headFor != v.settleModRev || !exact && v.headFor == v.settleModRev {
			var err error
			if head, exact, err = s.headBefore(ctx, v); err != nil {
				return err
			}
			headFor = v.settleModRev
		}
		before := v.grantedBefore(head)
		cmps := []clientv3.Cmp{clientv3.Compare(clientv3.ModRevision(s.pfx+keySettle), "=", v.settleModRev)}
		var ops []clientv3.Op
		for _, e := range v.byRevision() {
			if len(ops) == settleBatch {
				break
			}
			var flag byte
			switch {
			case e.flag != flagNone:
				continue
			case before[e.key]:
				flag = flagPinned
			case e.n > v.max:
				flag = flagRejected
			default:
				continue
			}
			ops = append(ops, clientv3.OpPut(e.key, encodeEntry(e.n, flag, e.stamp), clientv3.WithIgnoreLease()))
			cmps = append(cmps, clientv3.Compare(clientv3.ModRevision(e.key), "=", e.modRev))
		}
		switch {
		case len(ops) == 0:
			// Every key an owner may hold is pinned: ending the freeze
			// grants only what the new state grants.
			ops = []clientv3.Op{clientv3.OpDelete(s.pfx + keySettle), clientv3.OpDelete(s.pfx + keyHead)}
		case exact && v.headFor != v.settleModRev:
			// Recorded as early as possible, with the first pins:
			// from here on a settler that did not see the change
			// land and can no longer read the revision before it
			// still pins exactly. Only an exact head is recorded,
			// since headBefore takes a record as exact.
			ops = append(ops, clientv3.OpPut(s.pfx+keyHead, encodeHead(v.settleModRev, head)))
		}
		if _, err := s.cli.Txn(ctx).If(cmps...).Then(ops...).Commit(); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return s.etcdErr("settle", err)
		}
		v = nil
	}
}

// headBefore returns the head the rule in force just before the change
// settling in v left (see view.headUnder), and whether it is exact. It
// takes, in this order, the first of:
//   - the head key, if it names this change: exact (only exact heads are
//     recorded);
//   - the head this process learnt from the change's own Txn or from its
//     watch, which applied every revision up to the change (noteHead):
//     exact;
//   - the head of the state read at the revision before the change: exact;
//   - if etcd compacted that revision, the head the rule before the change
//     leaves among today's keys created before it: not exact.
//
// The last, the fallback, is reached only when three things meet: nobody
// recorded the head (the change's process died or was cut off between its
// first Txn and its first pins, or is a version of this package that records
// none); this process did not see the change land (it opened, or its watch
// restarted from a read, after it) and settles it before any process that
// did (every process waits the same second before finishing another's
// change); and etcd compacted the revision before the change within that
// time. It can only be later than the exact head, never earlier: a key
// granted just before the change that still exists is granted by the same
// rule on today's keys, because what the rule counts ahead of it (the pinned
// keys, and the keys before it) is a part of what was granted together with
// it then, in weights no larger, and no key ahead of it waits. So every key
// that holds is pinned, and no key queued after the change is; but a waiter
// queued before the change, that a release since the change made room for
// under the maximum before it, is pinned too: until enough permits come back
// the semaphore then holds up to the old maximum, as if the change had come
// after that release. No head is known to tell such a waiter from a holder,
// and not pinning a holder would let its permits be granted to others while
// it holds them.
func (s *Semaphore) headBefore(ctx context.Context, v *view) (head int64, exact bool, err error) {
	if v.headFor == v.settleModRev {
		return v.head, true, nil
	}
	s.mu.Lock()
	known := s.knownHead
	s.mu.Unlock()
	if known.change == v.settleModRev {
		return known.head, true, nil
	}
	resp, err := s.cli.Get(ctx, s.pfx, clientv3.WithPrefix(), clientv3.WithRev(v.settleModRev-1))
	switch {
	case errors.Is(err, rpctypes.ErrCompacted):
		return v.headUnder(v.settleMax, v.settleClosed, v.settleModRev), false, nil
	case err != nil:
		if ctx.Err() != nil {
			return 0, false, ctx.Err()
		}
		return 0, false, s.etcdErr("settle", err)
	}
	prev := viewOf(s.pfx, v.settleModRev-1, resp.Kvs)
	return prev.headUnder(prev.max, prev.closed, v.settleModRev), true, nil
}

// read returns the semaphore's state from one linearizable Get.
func (s *Semaphore) read(ctx context.Context) (*view, error) {
	resp, err := s.cli.Get(ctx, s.pfx, clientv3.WithPrefix())
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, s.etcdErr("read", err)
	}
	return viewOf(s.pfx, resp.Header.Revision, resp.Kvs), nil
}

// Stats is the state of a semaphore at one etcd revision.
type Stats struct {
	Revision   int64 // the etcd revision read
	MaxPermits int
	InUse      int // permits held (may exceed MaxPermits after a shrink)
	Available  int // max(MaxPermits-InUse, 0)
	Waiting    int // Acquire calls queued, in every process
	Closed     bool
}

// Stats reads the whole semaphore with one linearizable Get and returns its
// state, or ctx.Err() or an error wrapping the client's.
func (s *Semaphore) Stats(ctx context.Context) (Stats, error) {
	v, err := s.read(ctx)
	if err != nil {
		return Stats{}, err
	}
	_, inUse, waiting := v.grants(s.mut.Load() == mutGrantByArrival)
	return Stats{Revision: v.rev, MaxPermits: int(v.max), InUse: int(inUse), Available: int(max(v.max-inUse, 0)), Waiting: waiting, Closed: v.closed}, nil
}

// snapshot is Stats within WithOpTimeout, or, if etcd cannot be asked,
// the state as of the latest revision this process's watch has seen.
func (s *Semaphore) snapshot() Stats {
	ctx, cancel := s.opCtx()
	defer cancel()
	if st, err := s.Stats(ctx); err == nil {
		return st
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.mirror
	if v == nil {
		return Stats{}
	}
	_, inUse, waiting := v.grants(s.mut.Load() == mutGrantByArrival)
	return Stats{Revision: v.rev, MaxPermits: int(v.max), InUse: int(inUse), Available: int(max(v.max-inUse, 0)), Waiting: waiting, Closed: v.closed}
}

// MaxPermits returns the maximum in force: the count the semaphore was
// created with or the last SetMaxPermits. Like the other introspection
// methods it reads the cluster within WithOpTimeout (one linearizable Get),
// falls back to this process's latest view of the semaphore if etcd cannot
// be asked, and returns a snapshot that may be stale by the time it is used.
// Stats reads every figure at one revision and reports errors.
func (s *Semaphore) MaxPermits() int { return s.snapshot().MaxPermits }

// InUse returns the number of permits held in the whole fleet, between 0
// and MaxPermits except after SetMaxPermits shrank the maximum below the
// number held (see MaxPermits for how it reads).
func (s *Semaphore) InUse() int { return s.snapshot().InUse }

// AvailablePermits returns the permits neither held nor granted, never less
// than 0. While waiters are queued the free permits are reserved for the
// head waiter, so TryAcquire fails even when this is positive (see
// MaxPermits for how it reads).
func (s *Semaphore) AvailablePermits() int { return s.snapshot().Available }

// Waiting returns the number of Acquire calls queued and not yet granted or
// failed, in every process (see MaxPermits for how it reads).
func (s *Semaphore) Waiting() int { return s.snapshot().Waiting }

// Closed reports whether Close has been called by any process (see
// MaxPermits for how it reads).
func (s *Semaphore) Closed() bool { return s.snapshot().Closed }

// Release returns n permits that this process holds, within WithOpTimeout.
// It is ReleaseContext without the error.
func (s *Semaphore) Release(n int) {
	ctx, cancel := s.opCtx()
	defer cancel()
	_ = s.ReleaseContext(ctx, n)
}

// TryRelease returns n permits like Release and reports true, or, if this
// process holds fewer than n, changes nothing and reports false. It panics
// with a message starting "fleet:" if n is negative.
func (s *Semaphore) TryRelease(n int) bool {
	if n < 0 {
		panic(fmt.Sprintf("fleet: Release of negative n (%d)", n))
	}
	ctx, cancel := s.opCtx()
	defer cancel()
	ok, _ := s.release(ctx, n, false)
	return ok
}

// ReleaseContext returns n permits that this process holds, for callers
// that do not keep the Permit (the golang.org/x/sync/semaphore style). The
// process's permits are one pool, as core's are: it deletes this process's
// keys newest first and lowers the weight of at most one more, whichever
// goroutine acquired them, and leaves the Permit values alone (their Count
// stays what was acquired; do not also call their Release). The oldest
// waiters anywhere are granted the permits.
//
// n == 0 does nothing. It returns an error wrapping the client's (or
// ctx.Err()) if etcd could not be reached: deletes are retried in the
// background, as for Permit.Release; a lowered weight that did not reach
// etcd keeps those permits held until the key is released or its lease
// ends. It panics with a message starting "fleet:" if n is negative or more
// than this process holds.
func (s *Semaphore) ReleaseContext(ctx context.Context, n int) error {
	if n < 0 {
		panic(fmt.Sprintf("fleet: Release of negative n (%d)", n))
	}
	ok, err := s.release(ctx, n, false)
	if !ok {
		panic(fmt.Sprintf("fleet: Release of %d permits, more than this process holds", n))
	}
	return err
}

// release is ReleaseContext, reporting false instead of releasing more than
// this process holds, or, with upTo, releasing what it holds up to n.
func (s *Semaphore) release(ctx context.Context, n int, upTo bool) (bool, error) {
	if n == 0 {
		return true, nil
	}
	s.mu.Lock()
	var held []*local
	total := 0
	for _, l := range s.local {
		if l.state == lsHeld {
			held = append(held, l)
			total += int(l.n)
		}
	}
	if total < n {
		if !upTo {
			s.mu.Unlock()
			return false, nil
		}
		n = total
	}
	slices.SortFunc(held, func(a, b *local) int { return cmpInt(b.rev, a.rev) })
	var deletes []string
	var partial *local
	rem := n
	for _, l := range held {
		if rem == 0 {
			break
		}
		// The Permits themselves are left alone, as in core: Release(n)
		// returns a count, and its caller does its own bookkeeping (their
		// Count stays what was acquired). A key emptied here is no longer
		// tracked, so its Permit's Release does nothing more and its loss
		// is not reported.
		if int(l.n) <= rem {
			rem -= int(l.n)
			delete(s.local, l.key)
			l.state = lsFailed
			deletes = append(deletes, l.key)
			continue
		}
		l.n -= int64(rem)
		rem = 0
		partial = l
	}
	var newN int64
	if partial != nil {
		newN = partial.n
	}
	s.mu.Unlock()
	var firstErr error
	for _, key := range deletes {
		if err := s.deleteKeyCtx(ctx, key); err != nil && firstErr == nil {
			firstErr = err
		}
	}
	if partial != nil {
		if err := s.shrinkKey(ctx, partial.key, newN); err != nil && firstErr == nil {
			firstErr = err
		}
	}
	return true, firstErr
}

// shrinkKey lowers a held key's weight to n, keeping its flag (a pin must
// not be lost) and its create revision (its place).
func (s *Semaphore) shrinkKey(ctx context.Context, key string, n int64) error {
	for {
		resp, err := s.cli.Get(ctx, key)
		if err != nil {
			return s.etcdErr("release", err)
		}
		if len(resp.Kvs) == 0 {
			return nil // lost meanwhile: the permits are back anyway
		}
		kv := resp.Kvs[0]
		e, ok := parseEntry(kv)
		if !ok || e.n <= n {
			return nil
		}
		t, err := s.cli.Txn(ctx).
			If(clientv3.Compare(clientv3.ModRevision(key), "=", kv.ModRevision)).
			Then(clientv3.OpPut(key, encodeEntry(n, e.flag, e.stamp), clientv3.WithIgnoreLease())).Commit()
		if err != nil {
			return s.etcdErr("release", err)
		}
		if t.Succeeded {
			return nil
		}
	}
}

// Detach ends this process's use of the semaphore; the semaphore itself
// stays open for everyone else. It fails this process's queued Acquires
// with ErrDetached, ends its Permits (Err reports ErrDetached), revokes its
// lease so that etcd returns their permits at once, and stops its watch and
// background goroutines. Later calls on the Semaphore fail with ErrDetached
// (Permit.Release does nothing). Detach is idempotent; it returns an error
// wrapping the client's if the revoke failed, in which case the permits
// return when the lease expires.
func (s *Semaphore) Detach(ctx context.Context) error {
	s.mu.Lock()
	if s.detached {
		s.mu.Unlock()
		return nil
	}
	s.detached = true
	for _, l := range s.local {
		switch l.state {
		case lsPending, lsWaiting:
			s.failLocked(l, ErrDetached)
		case lsHeld:
			l.p.finishLocked(ErrDetached)
			delete(s.local, l.key)
		default:
			delete(s.local, l.key)
		}
	}
	ls := s.lease
	s.mu.Unlock()
	var err error
	if ls != nil {
		if _, rerr := s.cli.Revoke(ctx, clientv3.LeaseID(ls.id)); rerr != nil {
			err = s.etcdErr("detach: revoke lease", rerr)
		}
	}
	s.cancelBg()
	s.wg.Wait()
	return err
}
