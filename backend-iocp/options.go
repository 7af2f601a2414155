package iocp

import (
	"errors"
	"fmt"
)

// ErrClosed is wrapped by the error Park returns once the Backend has been
// closed.
var ErrClosed = errors.New("iocp: backend closed")

// DefaultBatchSize is the number of completion packets the dispatcher
// dequeues with one GetQueuedCompletionStatusEx call unless [WithBatchSize]
// says otherwise. The Go runtime's own netpoller uses the same number.
const DefaultBatchSize = 64

// An Option configures a Backend created by [New].
type Option func(*config) error

type config struct {
	batchSize int
}

// WithBatchSize sets how many completion packets the dispatcher removes from
// the port in one system call. n must be at least 1; New fails with an error
// naming the mistake otherwise.
func WithBatchSize(n int) Option {
	return func(c *config) error {
		if n < 1 {
			return fmt.Errorf("iocp: WithBatchSize(%d): the batch size must be at least 1", n)
		}
		c.batchSize = n
		return nil
	}
}

// newConfig applies opts over the defaults and returns the first error an
// option reports.
func newConfig(opts []Option) (config, error) {
	c := config{batchSize: DefaultBatchSize}
	for _, o := range opts {
		if o == nil {
			return c, errors.New("iocp: New: nil Option")
		}
		if err := o(&c); err != nil {
			return c, err
		}
	}
	return c, nil
}
