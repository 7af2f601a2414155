package benchmarks

import (
	"context"
	"errors"
	"fmt"
	"sync"

	xsync "golang.org/x/sync/semaphore"
)

// Sem is the one interface every benchmark drives. Implementations are safe
// for concurrent use.
type Sem interface {
	// Acquire takes n permits, blocking until they are granted (nil) or ctx
	// ends (ctx.Err(), holding nothing). A contender that cannot honour ctx
	// while blocked has Contender.Cancellable false and is never given a
	// ctx that can end.
	Acquire(ctx context.Context, n int) error
	// TryAcquire takes n permits without blocking and reports whether it did.
	TryAcquire(n int) bool
	// Release returns n permits.
	Release(n int)
}

// ErrNotApplicable is returned (wrapped) by Contender.New when the contender
// cannot model the requested semaphore, such as sync.Mutex with more than one
// permit. Benchmarks leave such a combination out.
var ErrNotApplicable = errors.New("benchmarks: contender cannot model this semaphore")

// A Contender is one semaphore implementation under comparison.
type Contender struct {
	// Name identifies the contender in benchmark names (c=<Name>), tables
	// and charts. It contains no '/' or spaces.
	Name string
	// New returns a semaphore with the given number of permits, all free.
	// It returns an error wrapping ErrNotApplicable when the contender
	// cannot model that semaphore, or one satisfying
	// errors.Is(err, errors.ErrUnsupported) when it cannot run on this
	// machine at all; benchmarks leave the contender out in both cases.
	New func(permits int) (Sem, error)
	// Weighted reports whether Acquire and Release accept n > 1.
	Weighted bool
	// Cancellable reports whether a blocked Acquire returns when ctx ends.
	Cancellable bool
	// FIFO reports whether the contender documents strict FIFO grants
	// without barging. It is only used to label results.
	FIFO bool
}

// Contenders is the registry, in table order; x/sync's Weighted comes first
// because every ratio is taken against it. Adding a contender is one line
// here or in the platform's registry file (registry_<goos>.go).
var Contenders = append([]Contender{
	{Name: "xsync", New: newXSync, Weighted: true, Cancellable: true, FIFO: true},
	{Name: "core+generic", New: newGeneric, Weighted: true, Cancellable: true, FIFO: true},
	{Name: "core+generic-tput", New: newGenericThroughput, Weighted: true, Cancellable: true, FIFO: true},
	{Name: "core+generic-striped", New: newGenericStriped, Weighted: true, Cancellable: true, FIFO: true},
	{Name: "dropin", New: newDropIn, Weighted: true, Cancellable: true, FIFO: true},
	{Name: "chan", New: newChan, Cancellable: true},
	{Name: "mutex", New: newMutex},
}, platformContenders...)

// Baseline is the name of the contender every ratio is taken against.
const Baseline = "xsync"

// Lookup returns the registered contender with the given name.
func Lookup(name string) (Contender, bool) {
	for _, c := range Contenders {
		if c.Name == name {
			return c, true
		}
	}
	return Contender{}, false
}

func newXSync(permits int) (Sem, error) { return xsyncSem{xsync.NewWeighted(int64(permits))}, nil }

// xsyncSem is golang.org/x/sync/semaphore.Weighted, the baseline.
type xsyncSem struct{ w *xsync.Weighted }

func (s xsyncSem) Acquire(ctx context.Context, n int) error { return s.w.Acquire(ctx, int64(n)) }
func (s xsyncSem) TryAcquire(n int) bool                    { return s.w.TryAcquire(int64(n)) }
func (s xsyncSem) Release(n int)                            { s.w.Release(int64(n)) }

func newChan(permits int) (Sem, error) { return chanSem(make(chan struct{}, permits)), nil }

// chanSem is the buffered-channel semaphore: a send takes a permit, a
// receive returns one. Unit weight only; blocked senders are served FIFO by
// the runtime's channel queue.
type chanSem chan struct{}

func (s chanSem) Acquire(ctx context.Context, n int) error {
	mustUnit("chan", n)
	select {
	case s <- struct{}{}:
		return nil
	default:
	}
	select {
	case s <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s chanSem) TryAcquire(n int) bool {
	mustUnit("chan", n)
	select {
	case s <- struct{}{}:
		return true
	default:
		return false
	}
}

func (s chanSem) Release(n int) {
	mustUnit("chan", n)
	<-s
}

func newMutex(permits int) (Sem, error) {
	if permits != 1 {
		return nil, fmt.Errorf("benchmarks: sync.Mutex models exactly 1 permit, not %d: %w", permits, ErrNotApplicable)
	}
	return new(mutexSem), nil
}

// mutexSem is sync.Mutex as a one-permit semaphore: the unfair floor. It
// barges (a running goroutine takes the lock ahead of woken waiters) until a
// waiter has waited 1 ms. It ignores ctx.
type mutexSem struct{ mu sync.Mutex }

func (s *mutexSem) Acquire(_ context.Context, n int) error {
	mustUnit("mutex", n)
	s.mu.Lock()
	return nil
}

func (s *mutexSem) TryAcquire(n int) bool {
	mustUnit("mutex", n)
	return s.mu.TryLock()
}

func (s *mutexSem) Release(n int) {
	mustUnit("mutex", n)
	s.mu.Unlock()
}

func mustUnit(name string, n int) {
	if n != 1 {
		panic(fmt.Sprintf("benchmarks: %s semaphore takes exactly 1 permit per call, got %d", name, n))
	}
}
