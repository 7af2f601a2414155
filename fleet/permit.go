package fleet

import (
	"context"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// A Permit holds permits acquired from a Semaphore and returns them exactly
// once. It is safe for concurrent use.
//
// Unlike core.Permit, a fleet Permit can be lost: if the process's lease
// ends (the process was cut off from etcd for about the TTL, or the lease
// was revoked) or its key is deleted by someone else, the permits go back
// to the semaphore and other processes may be granted them. Done is then
// closed and Err returns ErrLeaseLost; the holder must stop touching the
// guarded resource. The process closes Done before etcd can expire the
// lease (it keeps a deadline from its last answered keepalive), but a
// process paused for longer than that margin learns late, so a resource
// that must never be touched by a holder whose permits are gone has to
// fence: put IsHeld in the If of the Txn that writes it (docs/fleet.md,
// "Fencing").
type Permit struct {
	s     *Semaphore
	key   string
	rev   int64
	lease int64
	// n, err and done are protected by s.mu (the zero-permit Permit has no
	// Semaphore and is never changed).
	n    int
	err  error
	done chan struct{}
}

// Release returns the Permit's permits to the semaphore with one etcd
// delete, bounded by WithOpTimeout: the oldest waiter anywhere is granted
// them at that revision. It is ReleaseContext without the error.
func (p *Permit) Release() {
	if p == nil || p.s == nil {
		return
	}
	ctx, cancel := p.s.opCtx()
	defer cancel()
	_ = p.ReleaseContext(ctx)
}

// ReleaseContext returns the Permit's permits to the semaphore with one etcd
// delete: the oldest waiter anywhere is granted them at that revision. It
// returns nil once etcd applied the delete. If etcd could not be reached
// before ctx ends it returns an error wrapping the client's (or ctx.Err());
// the Permit counts as released all the same (Done is closed), and the
// Semaphore keeps retrying the delete in the background until it lands or
// the lease expires. Releasing a Permit that is empty, already released or
// lost does nothing and returns nil. It works after Close.
func (p *Permit) ReleaseContext(ctx context.Context) error {
	if p == nil || p.s == nil {
		return nil
	}
	s := p.s
	s.mu.Lock()
	if p.n == 0 || p.err != nil {
		s.mu.Unlock()
		return nil
	}
	n, own := p.n, 0
	if l := s.local[p.key]; l != nil && l.p == p {
		own = int(l.n)
		delete(s.local, p.key)
		l.state = lsFailed
	}
	p.finishLocked(ErrReleased)
	s.mu.Unlock()
	var err error
	if own > 0 {
		err = s.deleteKeyCtx(ctx, p.key)
	}
	// Semaphore.Release may have taken this Permit's key (the process's
	// permits are one pool, as in core): return the rest from the pool.
	if rest := n - own; rest > 0 {
		if _, rerr := s.release(ctx, rest, true); err == nil {
			err = rerr
		}
	}
	return err
}

// finishLocked ends the Permit with err (ErrReleased, ErrLeaseLost, ...).
func (p *Permit) finishLocked(err error) {
	if p.err != nil {
		return
	}
	p.n = 0
	p.err = err
	close(p.done)
}

func (p *Permit) lock() func() {
	if p.s == nil {
		return func() {}
	}
	p.s.mu.Lock()
	return p.s.mu.Unlock
}

// Count returns the number of permits the Permit holds: what was acquired,
// or 0 once released or lost (Semaphore.Release does not change it).
func (p *Permit) Count() int {
	defer p.lock()()
	return p.n
}

// Done returns a channel that is closed when the Permit stops holding its
// permits: after Release, or when
// they were lost (see Err). It is never closed for the empty Permit of
// AcquireN(ctx, 0).
func (p *Permit) Done() <-chan struct{} { return p.done }

// Err returns nil while the Permit holds its permits, and once Done is
// closed: ErrReleased after a release, ErrLeaseLost if they were lost (the
// process's lease ended or the key was deleted), or ErrDetached after
// Semaphore.Detach.
func (p *Permit) Err() error {
	defer p.lock()()
	return p.err
}

// Revision returns the etcd revision at which the permits were requested
// (the create revision of the Permit's key): this grant's place in the
// semaphore's FIFO order, unique within the semaphore.
//
// It is not a fencing token when several Permits can be held at once (a
// maximum above 1, or a shrink that kept several holders): a resource that
// rejects a token smaller than one it has seen would refuse an older holder
// that still holds its permits. Use IsHeld to fence.
func (p *Permit) Revision() int64 { return p.rev }

// IsHeld returns an etcd comparison that holds exactly while the Permit's
// key exists, that is while its permits are held, whatever the maximum and
// however many other Permits are held: it fails once the Permit is
// released, lost with its lease, or its key deleted. Put it in the If of
// your own Txn to make a write conditional on still holding the permits
// (like concurrency.Mutex.IsOwner): etcd evaluates it at the write's own
// revision, so no holder whose permits are gone can write, even before its
// Done closes. It panics with a message starting "fleet:" for the empty
// Permit of AcquireN(ctx, 0), which holds no key.
func (p *Permit) IsHeld() clientv3.Cmp {
	if p.key == "" {
		panic("fleet: IsHeld of an empty Permit (AcquireN with n == 0 holds no key to compare)")
	}
	return clientv3.Compare(clientv3.CreateRevision(p.key), "=", p.rev)
}
