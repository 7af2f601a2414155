package core

import "context"

// A Backend supplies the platform's parking primitive to a [Semaphore].
//
// A Backend is safe for concurrent use: the Semaphore calls NewParker from
// any goroutine. Backends live in their own modules (backend-generic,
// backend-iouring, backend-iocp, or a third party's); conformance.Run checks
// that one keeps the contract below.
type Backend interface {
	// Name returns a short, stable name for the backend, such as "generic".
	// It is used in test names, benchmarks and error messages.
	Name() string

	// NewParker returns a new Parker with no token pending. It never returns
	// nil. The Semaphore keeps Parkers in a pool and reuses them; it drops
	// unused ones to the garbage collector without further calls, so a
	// Parker must not hold a resource that needs an explicit release (a
	// backend that needs one frees it when the Backend itself is closed, or
	// with runtime.AddCleanup).
	NewParker() Parker
}

// A Parker is a sleep and wakeup primitive for one goroutine at a time: Park
// sleeps until a matching Unpark, and every Unpark is paired with at most one
// return of Park even when the Unpark comes first. It is the only thing a
// backend implements; all queueing, fairness and cancellation logic lives in
// the [Semaphore].
//
// The contract, which conformance.Run checks:
//
//   - Tokens. A Parker holds at most one token. Unpark leaves a token; Park
//     consumes it. An Unpark that comes before Park leaves the token in
//     place, and the next Park consumes it and returns nil at once. Unparks
//     while a token is pending coalesce into one.
//
//   - No spurious returns. Park returns nil only by consuming a token.
//
//   - Cancellation. When ctx is done before a token arrives, Park returns
//     ctx.Err() and consumes nothing: a token that arrives later stays pending
//     for the next Park. When a token is pending and ctx is done at the same
//     time, Park may return either outcome, but never both: nil consumes the
//     token, ctx.Err() leaves it.
//
//   - Failure. Park may return an error other than ctx.Err() only when the
//     backend itself failed or was closed. The Semaphore then fails that
//     Acquire with an error wrapping it, holding no permits and stranding no
//     other waiter.
//
//   - Concurrency. Unpark is safe to call from any goroutine, concurrently
//     with Park and with other Unparks, and never blocks for long (it may
//     make a system call). At most one goroutine is inside Park on a given
//     Parker at a time; the Semaphore guarantees that. A Parker is reusable
//     for any number of Park/Unpark cycles.
//
//   - Memory. An Unpark happens before the Park that consumes its token
//     returns (in the sense of the Go memory model), so everything the
//     unparking goroutine wrote before Unpark is visible after Park.
//
// The contract is the one runtime/sema.go documents for the Go runtime's own
// semaphores: sleep and wakeup are paired even if the wakeup comes first.
type Parker interface {
	// Park blocks until a token is available and consumes it, returning nil;
	// or until ctx is done, returning ctx.Err() and consuming nothing; or
	// until the backend fails or is closed, returning an error that says so.
	Park(ctx context.Context) error

	// Unpark leaves a token, waking the goroutine blocked in Park if there
	// is one. If a token is already pending, Unpark does nothing.
	Unpark()
}
