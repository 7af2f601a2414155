package core

import (
	"testing"
	"time"
)

// Waiters inside testing/synctest bubbles.
//
// A Parker of the generic backend is a channel, and the runtime ties a
// channel created inside a synctest bubble to that bubble: a goroutine of
// another bubble, or of none, that operates on it is a fatal error. And a
// goroutine of a bubble that blocks on a channel created outside it is not
// durably blocked, so synctest.Wait waits for it and the bubble's fake
// clock stops (a ctx deadline never fires). Pooled Parkers would do both:
// a Semaphore used by one bubble after another (a package-level one, say)
// would hand the first bubble's Parkers to the next.
//
// So a goroutine inside a bubble never takes a waiter from the pool: it
// makes a new one, whose Parker is created inside its bubble, and the
// waiter never goes back to the pool. Outside bubbles the pool works as
// before, and it never holds a bubble's Parker.
//
// Bubbles exist only in test binaries (synctest.Test takes a *testing.T),
// so a program built by go build never pays for the check; a test binary
// pays one reading of the clock each time a waiter queues.

// inBubble reports whether the caller runs inside a testing/synctest
// bubble. Outside test binaries it is false at once. Inside a bubble,
// time.Now reads the bubble's fake clock and carries no monotonic clock
// reading (the runtime leaves it out there); everywhere else it carries
// one, which Round(0) strips. On a platform whose clock had no monotonic
// reading, every waiter of a test binary would count as in a bubble: it
// would then be made new for each wait, never shared. TestInBubble checks
// the detection on the running Go.
func inBubble() bool {
	if !testing.Testing() {
		return false
	}
	t := time.Now()
	return t == t.Round(0)
}
