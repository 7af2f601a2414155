package adaptive

import (
	"context"
	"fmt"
	"sync"
)

// A Semaphore is what a Limiter steers: *core.Semaphore, *shared.Semaphore
// and *fleet.Semaphore all are one, with P their permit type (core.Permit,
// shared.Permit, *fleet.Permit). P, or *P, must have a Release method that
// returns the permits exactly once, as those three do.
//
// The Limiter calls AcquireN for every Acquire, SetMaxPermits after every
// limit change, and MaxPermits, InUse and Waiting only for introspection.
type Semaphore[P any] interface {
	AcquireN(ctx context.Context, n int) (P, error)
	SetMaxPermits(n int)
	MaxPermits() int
	InUse() int
	Waiting() int
}

// queueBounder is the optional method WithMaxQueue needs: the semaphore's
// own bounded queue (core.Semaphore.SetMaxWaiters).
type queueBounder interface{ SetMaxWaiters(k int) }

// driver is the Limiter's view of its semaphore, with the permit type
// erased: acquire returns a pooled token that holds the permit.
type driver interface {
	acquire(ctx context.Context, n int) (*token, error)
	setMaxPermits(n int)
	maxPermits() int
	inUse() int
	waiting() int
	setMaxWaiters(k int)
	canBoundQueue() bool
	name() string
}

type semDriver[S Semaphore[P], P any] struct {
	sem  S
	pool sync.Pool // of *cell[P]
}

// A cell is a token and the permit it holds, allocated and pooled together
// so that an Acquire allocates nothing once the pool is warm.
type cell[P any] struct {
	tok  token
	p    P
	pool *sync.Pool
}

func (c *cell[P]) release() {
	releasePermit(&c.p)
	var zero P
	c.p = zero
	c.pool.Put(c)
}

type releaser interface{ Release() }

// releasePermit releases a permit whose Release has a pointer receiver
// (core.Permit, shared.Permit) or whose type is itself a pointer
// (*fleet.Permit). newDriver has checked that one of the two exists.
func releasePermit[P any](p *P) {
	if r, ok := any(p).(releaser); ok {
		r.Release()
		return
	}
	any(*p).(releaser).Release()
}

func newDriver[S Semaphore[P], P any](sem S) *semDriver[S, P] {
	var p P
	_, viaPointer := any(&p).(releaser)
	_, direct := any(p).(releaser)
	if !viaPointer && !direct {
		panic(fmt.Sprintf("adaptive: New: permit type %T has no Release method (neither it nor a pointer to it)", p))
	}
	d := &semDriver[S, P]{sem: sem}
	d.pool.New = func() any {
		c := &cell[P]{pool: &d.pool}
		c.tok.perm = c
		return c
	}
	return d
}

func (d *semDriver[S, P]) acquire(ctx context.Context, n int) (*token, error) {
	p, err := d.sem.AcquireN(ctx, n)
	if err != nil {
		// The semaphore's contract: a failed AcquireN holds nothing.
		return nil, err
	}
	c := d.pool.Get().(*cell[P])
	c.p = p
	return &c.tok, nil
}

func (d *semDriver[S, P]) setMaxPermits(n int) { d.sem.SetMaxPermits(n) }
func (d *semDriver[S, P]) maxPermits() int     { return d.sem.MaxPermits() }
func (d *semDriver[S, P]) inUse() int          { return d.sem.InUse() }
func (d *semDriver[S, P]) waiting() int        { return d.sem.Waiting() }
func (d *semDriver[S, P]) name() string        { return fmt.Sprintf("%T", d.sem) }

func (d *semDriver[S, P]) canBoundQueue() bool {
	_, ok := any(d.sem).(queueBounder)
	return ok
}

func (d *semDriver[S, P]) setMaxWaiters(k int) { any(d.sem).(queueBounder).SetMaxWaiters(k) }
