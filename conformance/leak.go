package conformance

import (
	"testing"
	"time"

	"go.uber.org/goleak"
)

// leakGrace is how long (times the TimeScale) the goroutines a subtest
// started get to exit after it ended before the ones still alive count as
// leaked. goleak.Find retries for about half a second on its own; a backend
// whose Close hands its goroutines to the scheduler, or a loaded machine,
// can take longer.
const leakGrace = 5 * time.Second

// leakCheck returns the check that runs when a subtest ends: it fails t if
// goroutines that did not exist when leakCheck was called are still alive
// after leakGrace, apart from the testing package's own, the runtime's, and
// those the IgnoreGoroutines option names. Like goleak.VerifyNone it assumes
// that no other test of the same binary runs in parallel with the suite.
func (s *suite) leakCheck(t *testing.T) (check func()) {
	opts := []goleak.Option{goleak.IgnoreCurrent()}
	for _, f := range s.ignore {
		opts = append(opts, goleak.IgnoreAnyFunction(f))
	}
	return func() {
		t.Helper()
		grace := s.scaled(leakGrace)
		deadline := time.Now().Add(grace)
		for {
			err := goleak.Find(opts...)
			if err == nil {
				return
			}
			if time.Now().After(deadline) {
				t.Errorf("goroutine leak: goroutines started during the subtest are still alive %v after it ended, want none: %v", grace, err)
				return
			}
		}
	}
}
