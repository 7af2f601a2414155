package conformance_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	generic "github.com/compio-sync/gosync/backend-generic"
	"github.com/compio-sync/gosync/conformance"
	"github.com/compio-sync/gosync/core"
)

// The mutant zoo. Each mutant names the subtests that must catch it; the
// proof runs those subtests of Run against the mutant in a child process of
// this test binary (a hang ends in the watchdog's panic, which must not
// take this process down) and asserts that the child failed and that each
// named subtest reported the failure.
var zoo = []struct {
	name     string
	backend  func() core.Backend
	caughtBy []string // Family/Subtest
}{
	{"drops 1 Unpark in 100", func() core.Backend { return dropEveryN(100) }, []string{"Parker/ReuseManyCycles"}},
	{"loses the token when Unpark comes before Park", loseEarlyToken, []string{"Parker/TokenBeforePark", "Parker/UnparkFromAnotherGoroutine"}},
	{"returns nil spuriously", spuriousNil, []string{"Parker/NoSpuriousReturn", "Parker/CancelLeavesLaterToken"}},
	{"ignores ctx", ignoresCtx, []string{"Parker/CancelReturnsPromptly"}},
	{"returns ctx.Err() but swallows the token", swallowOnCancel, []string{"Parker/DoneContextWithTokenIsOneOutcome"}},
	{"wakes two parkers for one Unpark", wakesTwo, []string{"Parker/UnparkWakesOnlyItsParker"}},
	{"delays every wake by 50 ms", delayWake, []string{"Latency/WakeLatency"}},
	{"leaks a goroutine per Parker", leakGoroutine, []string{"Parker/TokenBeforePark", "FIFO/StrictOrder"}},
	// Limiter mutants: a correct backend under a broken queue bound or bulk
	// acquire (see conformance's export_test.go).
	{conformance.MutantQueueBoundOffByOne, func() core.Backend { return condBackend{} }, []string{"QueueBound/RefusesWhenFull", "QueueBound/ZeroMeansNoQueue", "QueueBound/GrowAdmitsMore"}},
	{conformance.MutantBulkIgnoresMax, func() core.Backend { return condBackend{} }, []string{"Bulk/TakesMinOfMaxAndFree"}},
	// Event and Cond mutants: a correct backend under a broken Event or
	// Cond (see conformance's primitive_mutants_test.go), on the generic
	// backend rather than condBackend: a channel select commits to the
	// ctx case when cancel wakes the goroutine, so a Signal right after the
	// cancel lands on a waiter already failing (the swallowing race) in
	// most rounds; condBackend prefers a token that arrives before it runs,
	// which hides the race in most rounds.
	{conformance.MutantEventClearRacesSet, func() core.Backend { return generic.New() }, []string{"Event/SetThenClearWakesEveryWaiter", "Event/NotifyOneWakesTheOldest"}},
	{conformance.MutantEventLosesNotifyOnCancel, func() core.Backend { return generic.New() }, []string{"Event/CancelRacingNotifyOnePassesIt"}},
	{conformance.MutantCondLosesSignalOnCancel, func() core.Backend { return generic.New() }, []string{"Cond/CancelRacingSignalPassesIt"}},
	{conformance.MutantCondWakesNewest, func() core.Backend { return generic.New() }, []string{"Cond/SignalWakesInFIFOOrder"}},
}

const mutantEnv = "CONFORMANCE_TEST_MUTANT"

// TestMutantChild is the child side of TestMutantsAreCaught and
// TestHangingBackendsFailFast: it runs the suite against the mutant named by
// the environment. Run directly, it skips.
func TestMutantChild(t *testing.T) {
	name := os.Getenv(mutantEnv)
	if name == "" {
		t.Skip("runs only as a child process of TestMutantsAreCaught or TestHangingBackendsFailFast")
	}
	for _, m := range zoo {
		if m.name == name {
			conformance.UseLimiterMutant(name) // does nothing for a Backend mutant
			conformance.UsePrimitiveMutant(name)
			conformance.Run(t, func(*testing.T) core.Backend { return m.backend() })
			return
		}
	}
	for _, m := range hanging {
		if m.name == name {
			conformance.Run(t, func(*testing.T) core.Backend { return m.backend() })
			return
		}
	}
	if runSemaphoreMutant(t, name) {
		return
	}
	t.Fatalf("unknown mutant %q", name)
}

func TestMutantsAreCaught(t *testing.T) {
	for _, m := range zoo {
		t.Run(strings.ReplaceAll(m.name, " ", "_"), func(t *testing.T) {
			t.Parallel()
			checkCaught(t, m.name, m.caughtBy)
		})
	}
}

// checkCaught runs the caughtBy subtests against the mutant in a child
// process and fails t unless each of them failed.
func checkCaught(t *testing.T, mutant string, caughtBy []string) {
	t.Helper()
	out, err := runChild(t, mutant, caughtBy)
	if err == nil {
		t.Fatalf("the suite against the mutant %q passed, want it to fail in %v; output:\n%s", mutant, caughtBy, out)
	}
	for _, sub := range caughtBy {
		full := "TestMutantChild/" + sub
		if !bytes.Contains(out, []byte("--- FAIL: "+full+" ")) && !bytes.Contains(out, []byte("watchdog: "+full+" ")) {
			t.Errorf("mutant %q: subtest %s did not fail, want it to catch the mutant; output:\n%s", mutant, sub, out)
		}
	}
	if !t.Failed() {
		t.Logf("caught by %v", caughtBy)
	}
}

// runChild runs the given Family/Subtest leaves of TestMutantChild in a
// child process against the mutant.
func runChild(t *testing.T, mutant string, leaves []string) ([]byte, error) {
	t.Helper()
	var fams, subs []string
	for _, l := range leaves {
		f, s, _ := strings.Cut(l, "/")
		fams = append(fams, regexp.QuoteMeta(f))
		subs = append(subs, regexp.QuoteMeta(s))
	}
	pattern := fmt.Sprintf("^TestMutantChild$/^(%s)$/^(%s)$", strings.Join(fams, "|"), strings.Join(subs, "|"))
	cmd := exec.Command(os.Args[0], "-test.run="+pattern, "-test.v", "-test.short", "-test.count=1", "-rapid.nofailfile")
	cmd.Env = append(os.Environ(), mutantEnv+"="+mutant, "CONFORMANCE_WATCHDOG=10s")
	out, err := cmd.CombinedOutput()
	return out, err
}

// TestCondBackend: a correct backend unlike generic's must pass.
func TestCondBackend(t *testing.T) {
	conformance.Run(t, func(*testing.T) core.Backend { return condBackend{} })
}
