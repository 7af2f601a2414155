package main

import (
	"context"
	"errors"
	"sync"
	"time"
)

// ErrServiceTimeout is what the simulated service returns for a request it
// gave up on: one whose latency would have exceeded the service's timeout.
var ErrServiceTimeout = errors.New("overload: the simulated service timed out")

// A Service is the simulated downstream. It has a capacity c: a request
// that starts with n requests in flight (itself included) takes the base
// latency while n <= c and base × n/c past it, fixed when it starts (the
// throughput of a processor-sharing server, C/base per second, without
// re-timing requests already running). A request whose latency would exceed
// the timeout instead fails with ErrServiceTimeout once the timeout has
// passed. It is safe for concurrent use.
type Service struct {
	base, timeout time.Duration

	mu       sync.Mutex
	capacity int
	inflight int
}

// NewService returns a Service with the given base latency, timeout and
// capacity. It panics, naming the mistake, unless base and timeout are
// positive and capacity is at least 1.
func NewService(base, timeout time.Duration, capacity int) *Service {
	if base <= 0 || timeout <= 0 || capacity < 1 {
		panic("overload: NewService wants a positive base latency and timeout and a capacity of at least 1")
	}
	return &Service{base: base, timeout: timeout, capacity: capacity}
}

// Latency is the service's model: how long a request takes that starts with
// n requests in flight (itself included) on capacity c, and whether it
// times out instead (then the duration is the timeout, after which it
// fails).
func Latency(base, timeout time.Duration, n, c int) (d time.Duration, timedOut bool) {
	d = base
	if n > c {
		d = time.Duration(float64(base) * float64(n) / float64(c))
	}
	if d > timeout {
		return timeout, true
	}
	return d, false
}

// SetCapacity changes the capacity for the requests that start from now on;
// requests already running keep the latency they started with. It panics
// if c < 1.
func (s *Service) SetCapacity(c int) {
	if c < 1 {
		panic("overload: Service.SetCapacity wants a capacity of at least 1")
	}
	s.mu.Lock()
	s.capacity = c
	s.mu.Unlock()
}

// Capacity returns the capacity in force.
func (s *Service) Capacity() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.capacity
}

// Inflight returns the requests the service is working on, those whose
// callers gave up included.
func (s *Service) Inflight() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inflight
}

// Call makes one request. It returns nil when the request completes,
// ErrServiceTimeout when the service gave up on it, or ctx.Err() when ctx
// ends first. A request whose caller gave up is not cancelled: the service
// goes on working on it, and it counts as in flight, until its latency has
// passed, as a server does that never learns its client left.
func (s *Service) Call(ctx context.Context) error {
	s.mu.Lock()
	s.inflight++
	d, timedOut := Latency(s.base, s.timeout, s.inflight, s.capacity)
	s.mu.Unlock()
	done := make(chan struct{})
	time.AfterFunc(d, func() {
		s.mu.Lock()
		s.inflight--
		s.mu.Unlock()
		close(done)
	})
	select {
	case <-done:
		if timedOut {
			return ErrServiceTimeout
		}
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
