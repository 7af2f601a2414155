package core

import "errors"

// ErrClosed is returned (possibly wrapped; test with errors.Is) by every
// Acquire that is queued when the Semaphore is closed and by every Acquire
// that starts after it.
var ErrClosed = errors.New("core: semaphore closed")

// ErrTooLarge is returned (possibly wrapped; test with errors.Is) by an
// Acquire that asks for more permits than the Semaphore's maximum, either at
// once or when SetMaxPermits shrinks the maximum below what a queued Acquire
// asks for. Such a request could never be granted, so it fails instead of
// blocking, unless WithTooLarge gives it a function to call instead (which
// may block: backend-generic/semaphore's waits for ctx, as x/sync does).
var ErrTooLarge = errors.New("core: request exceeds the semaphore's maximum permits")

// ErrQueueFull is returned (test with errors.Is) by an AcquireN that would
// have to queue while the Semaphore's waiter queue already holds MaxWaiters
// waiters (see SetMaxWaiters). It fails at once, holding nothing: the caller
// is shed instead of queued.
var ErrQueueFull = errors.New("core: semaphore's waiter queue is full")
