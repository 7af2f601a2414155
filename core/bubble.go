package core

import (
	"os"
	"strings"
	"sync"
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
// pays one reading of the monotonic clock each time a waiter queues,
// unless it was told to run no tests (-test.run='^$', as benchmark runs
// are, and no -test.fuzz): then no *testing.T exists, so no bubble can.

// startedAt is read at package initialization, outside any bubble (a
// bubble runs inside a test), so it carries a monotonic clock reading.
var startedAt = time.Now()

// inBubble reports whether the caller runs inside a testing/synctest
// bubble. Outside test binaries, and in a test binary that runs no tests,
// it is false at once. Otherwise it reads the clock once, through time.Since(startedAt): outside a bubble that is the
// monotonic time since initialization, never negative; inside one, time
// reads the bubble's fake clock, which starts at midnight UTC 2000-01-01
// (testing/synctest's documentation), so it is the fake time minus the
// real wall-clock time at initialization: negative, unless a bubble's fake
// clock has advanced past that wall time (decades of fake sleeping) or the
// machine's clock read earlier than 2000 at initialization. In those two
// cases a bubble's waiter would be taken for an outsider's and pooled.
// TestInBubble checks the detection on the running Go.
func inBubble() bool {
	return bubblesPossible && time.Since(startedAt) < 0
}

// bubblesPossible is decided once, at package initialization: in a test
// binary that may run tests (see runsNoTests). Deciding it there, rather
// than on each call, keeps the pooled path of a benchmark binary to one
// load of a bool.
var bubblesPossible = testing.Testing() && !runsNoTests(os.Args[1:])

// runsNoTests reports whether the test binary was told to run no test and
// no fuzz target (-test.run=^$ and no -test.fuzz on its command line, as
// `go test -run '^$' -bench ...` passes them): then no *testing.T exists,
// so no synctest bubble can. bubblesPossible calls it once, on os.Args at
// package initialization: the flag package has parsed nothing yet then,
// and the command line is already what the test binary will parse.
func runsNoTests(args []string) bool {
	return testFlag(args, "run") == "^$" && testFlag(args, "fuzz") == ""
}

// testFlag returns the last value that args give the flag -test.name
// (written -test.name=v, --test.name=v, or -test.name v), or "" if none.
// It stops at "--", where the flag package stops.
func testFlag(args []string, name string) string {
	v := ""
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			break
		}
		a = strings.TrimPrefix(strings.TrimPrefix(a, "-"), "-")
		if after, ok := strings.CutPrefix(a, "test."+name+"="); ok {
			v = after
		} else if a == "test."+name && i+1 < len(args) {
			i++
			v = args[i]
		}
	}
	return v
}

// getPooled returns an item of p, or, inside a testing/synctest bubble, a
// new one made by p.New, which must never be put back into p (bubbled
// reports which). The Semaphore's waiters and the notify queue's (Event,
// Cond) both come from here.
func getPooled(p *sync.Pool) (x any, bubbled bool) {
	if inBubble() {
		return p.New(), true
	}
	return p.Get(), false
}
