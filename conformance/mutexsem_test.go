package conformance_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
)

// mutexSem is a semaphore unlike core's, for RunSemaphore to be tested
// against: a mutex and a FIFO slice of waiters, pointer permits, its own
// errors and its own panic prefix. It keeps core.Semaphore's documented
// semantics, so it must pass.
type mutexSem struct {
	mu     sync.Mutex
	max    int
	inUse  int
	closed bool
	queue  []*mutexWaiter
	// Mutants (semaphoreMutants) set these; mutexSem itself keeps the
	// semantics.
	barge          bool // TryAcquireN takes free permits past a queued waiter
	strandOnCancel bool // a cancelled waiter leaves without serving the head behind it
}

type mutexWaiter struct {
	n       int
	done    chan struct{} // closed when granted or failed, under mu
	granted bool
	err     error
}

// mutexPermit is a pointer permit: a nil *mutexPermit is empty.
type mutexPermit struct {
	s *mutexSem
	n int
}

var (
	errMutexClosed   = errors.New("mutexsem: closed")
	errMutexTooLarge = errors.New("mutexsem: request exceeds the maximum")
)

const mutexSemLimit = 1 << 20

func newMutexSem(permits int) *mutexSem {
	if permits < 0 || permits > mutexSemLimit {
		panic(fmt.Sprintf("mutexsem: %d permits", permits))
	}
	return &mutexSem{max: permits}
}

func (p *mutexPermit) Release() {
	if p == nil || p.n == 0 {
		return
	}
	n := p.n
	p.n = 0
	p.s.Release(n)
}

func (p *mutexPermit) Count() int {
	if p == nil {
		return 0
	}
	return p.n
}

func (s *mutexSem) AcquireN(ctx context.Context, n int) (*mutexPermit, error) {
	if n < 0 {
		panic(fmt.Sprintf("mutexsem: AcquireN(%d)", n))
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	switch {
	case s.closed:
		s.mu.Unlock()
		return nil, errMutexClosed
	case n == 0:
		s.mu.Unlock()
		return &mutexPermit{s: s}, nil
	case n > s.max:
		s.mu.Unlock()
		return nil, errMutexTooLarge
	case len(s.queue) == 0 && s.inUse+n <= s.max:
		s.inUse += n
		s.mu.Unlock()
		return &mutexPermit{s: s, n: n}, nil
	}
	w := &mutexWaiter{n: n, done: make(chan struct{})}
	s.queue = append(s.queue, w)
	s.mu.Unlock()
	select {
	case <-w.done:
	case <-ctx.Done():
		s.mu.Lock()
		select {
		case <-w.done:
			if w.granted { // granted in a race with ctx: pass it on.
				s.inUse -= n
				s.serveLocked()
			}
		default:
			s.queue = slices.DeleteFunc(s.queue, func(o *mutexWaiter) bool { return o == w })
			if !s.strandOnCancel {
				s.serveLocked() // the waiters behind the head that gave up may fit now.
			}
		}
		s.mu.Unlock()
		return nil, ctx.Err()
	}
	if w.err != nil {
		return nil, w.err
	}
	return &mutexPermit{s: s, n: n}, nil
}

func (s *mutexSem) TryAcquireN(n int) (*mutexPermit, bool) {
	if n < 0 {
		panic(fmt.Sprintf("mutexsem: TryAcquireN(%d)", n))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || (len(s.queue) > 0 && !s.barge && n > 0) || s.inUse+n > s.max && n > 0 {
		return nil, false
	}
	s.inUse += n
	return &mutexPermit{s: s, n: n}, true
}

func (s *mutexSem) Release(n int) {
	if !s.TryRelease(n) {
		panic(fmt.Sprintf("mutexsem: Release(%d) of more than is held", n))
	}
}

func (s *mutexSem) TryRelease(n int) bool {
	if n < 0 {
		panic(fmt.Sprintf("mutexsem: Release(%d)", n))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if n > s.inUse {
		return false
	}
	s.inUse -= n
	s.serveLocked()
	return true
}

// serveLocked grants to the head of the queue while it fits.
func (s *mutexSem) serveLocked() {
	for len(s.queue) > 0 && s.inUse+s.queue[0].n <= s.max {
		w := s.queue[0]
		s.queue = s.queue[1:]
		s.inUse += w.n
		w.granted = true
		close(w.done)
	}
}

func (s *mutexSem) failLocked(err error, which func(*mutexWaiter) bool) {
	s.queue = slices.DeleteFunc(s.queue, func(w *mutexWaiter) bool {
		if !which(w) {
			return false
		}
		w.err = err
		close(w.done)
		return true
	})
}

func (s *mutexSem) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	s.failLocked(errMutexClosed, func(*mutexWaiter) bool { return true })
}

func (s *mutexSem) Closed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

func (s *mutexSem) SetMaxPermits(n int) {
	if n < 0 || n > mutexSemLimit {
		panic(fmt.Sprintf("mutexsem: SetMaxPermits(%d)", n))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.max = n
	s.failLocked(errMutexTooLarge, func(w *mutexWaiter) bool { return w.n > n })
	s.serveLocked()
}

func (s *mutexSem) MaxPermits() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.max
}

func (s *mutexSem) InUse() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inUse
}

func (s *mutexSem) AvailablePermits() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return max(s.max-s.inUse, 0)
}

func (s *mutexSem) Waiting() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.queue)
}
