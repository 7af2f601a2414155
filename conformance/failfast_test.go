package conformance_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/compio-sync/gosync/core"
)

// hanging are backends that make the suite hang, not fail, wherever a wait
// is not bounded: each loses wakeups. caughtBy names subtests that must
// fail for every run (their hang is deterministic).
var hanging = []struct {
	name     string
	backend  func() core.Backend
	caughtBy []string
}{
	{"drops 1 Unpark in 50", func() core.Backend { return dropEveryN(50) },
		[]string{"Parker/ReuseManyCycles", "Parker/UnparkHappensBeforePark", "FIFO/DirectHandoff"}},
	{"loses every token that arrives before Park", loseEarlyToken,
		[]string{"Parker/TokenBeforePark", "Parker/UnparksCoalesce", "Parker/CancelLeavesLaterToken"}},
}

// failFastBound is how long a whole Run against a hanging backend may take:
// a full Run against any broken backend finishes in under 2 minutes with
// the failing subtests named in --- FAIL lines. This is the one wall-clock
// bound in the suite's tests, and a requirement of the suite: the bounded
// waits take 3 s per hung subtest and ten to twenty hang.
const failFastBound = 2 * time.Minute

// TestHangingBackendsFailFast runs the whole suite (-short, as a third-party
// author would first try it, with the default watchdog) against each
// hanging backend in a child process, and checks that it ends in time with
// the hung subtests named in --- FAIL lines by their own bounds, not by the
// watchdog.
func TestHangingBackendsFailFast(t *testing.T) {
	if os.Getenv(mutantEnv) != "" {
		t.Skip("in a mutant child")
	}
	for _, m := range hanging {
		t.Run(strings.ReplaceAll(m.name, " ", "_"), func(t *testing.T) {
			t.Parallel()
			// The child's own -test.timeout and this context are the last
			// resorts, well past the bound, so that a regression reports
			// how long it took instead of hanging this test.
			ctx, cancel := context.WithTimeout(context.Background(), 3*failFastBound)
			defer cancel()
			cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestMutantChild$", "-test.v", "-test.short",
				"-test.count=1", "-test.timeout="+(2*failFastBound).String(), "-rapid.nofailfile")
			// The defaults are what is being tested: no scaling from the
			// parent's environment.
			cmd.Env = append(withoutEnv(os.Environ(), "CONFORMANCE_TIMESCALE", "CONFORMANCE_WATCHDOG"), mutantEnv+"="+m.name)
			cmd.WaitDelay = 10 * time.Second
			start := time.Now()
			out, err := cmd.CombinedOutput()
			elapsed := time.Since(start)
			if err == nil {
				t.Fatalf("Run against %q passed, want it to fail; output:\n%s", m.name, out)
			}
			failed := failedSubtests(out)
			t.Logf("Run against %q took %v and failed %d subtests: %v", m.name, elapsed.Round(time.Millisecond), len(failed), failed)
			for _, sub := range m.caughtBy {
				if !failed[sub] {
					t.Errorf("Run against %q: no --- FAIL line for %s, want one; output:\n%s", m.name, sub, out)
				}
			}
			if bytes.Contains(out, []byte("watchdog: ")) {
				t.Errorf("Run against %q: the watchdog fired, want every hang caught by the bound on its wait; output:\n%s", m.name, out)
			}
			if elapsed > failFastBound {
				t.Errorf("Run against %q took %v, want under %v (a hang must be a named failure within seconds)", m.name, elapsed, failFastBound)
			}
		})
	}
}

// failedSubtests returns the Family/Subtest names of the leaves of
// TestMutantChild with a --- FAIL line in out.
func failedSubtests(out []byte) map[string]bool {
	failed := make(map[string]bool)
	for _, m := range regexp.MustCompile(`--- FAIL: TestMutantChild/([^/\s]+/[^/\s]+) `).FindAllSubmatch(out, -1) {
		failed[string(m[1])] = true
	}
	return failed
}

// withoutEnv returns env without the variables named.
func withoutEnv(env []string, names ...string) []string {
	var out []string
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		if !slices.Contains(names, name) {
			out = append(out, kv)
		}
	}
	return out
}
