package conformance

import (
	"bytes"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The leak check is an equivalent of go.uber.org/goleak built on
// runtime.Stack, so that Run's import graph stays core, the standard library,
// go-cmp, rapid and porcupine. Like goleak.VerifyNone it assumes that no
// other test of the same binary runs in parallel with Run.

// leakGrace is how long exiting goroutines get to finish before the ones
// still alive count as leaked.
const leakGrace = 5 * time.Second

type goroutine struct {
	id    uint64
	stack string
}

// goroutineIDs returns the IDs of all goroutines alive now.
func goroutineIDs() map[uint64]bool {
	ids := make(map[uint64]bool)
	for _, g := range goroutines() {
		ids[g.id] = true
	}
	return ids
}

// goroutines parses runtime.Stack(all) into records, skipping the calling
// goroutine and the testing package's own goroutines.
func goroutines() []goroutine {
	self := currentID()
	var out []goroutine
	for block := range bytes.SplitSeq(allStacks(), []byte("\n\n")) {
		s := string(block)
		id, ok := parseID(s)
		if !ok || id == self || isSystem(s) {
			continue
		}
		out = append(out, goroutine{id: id, stack: s})
	}
	return out
}

// parseID reads N from a "goroutine N [state]:" header.
func parseID(s string) (uint64, bool) {
	s, ok := strings.CutPrefix(s, "goroutine ")
	if !ok {
		return 0, false
	}
	i := strings.IndexByte(s, ' ')
	if i < 0 {
		return 0, false
	}
	id, err := strconv.ParseUint(s[:i], 10, 64)
	return id, err == nil
}

func currentID() uint64 {
	var buf [64]byte
	n := runtime.Stack(buf[:], false)
	id, _ := parseID(string(buf[:n]))
	return id
}

// isSystem reports whether a goroutine belongs to the testing package or the
// runtime rather than to the code under test.
func isSystem(stack string) bool {
	for _, marker := range []string{
		"\ntesting.", // tRunner, (*T).Run, (*M).Run, runTests...
		"\nruntime.ensureSigM",
		"\nos/signal.signal_recv",
		"\nruntime/trace.",
		"created by runtime.gc",
		"created by runtime/trace.",
	} {
		if strings.Contains(stack, marker) {
			return true
		}
	}
	return false
}

// checkLeaks fails t if goroutines that did not exist in before are still
// alive after leakGrace.
func checkLeaks(t *testing.T, before map[uint64]bool) {
	t.Helper()
	deadline := time.Now().Add(leakGrace)
	for {
		var leaked []goroutine
		for _, g := range goroutines() {
			if !before[g.id] {
				leaked = append(leaked, g)
			}
		}
		if len(leaked) == 0 {
			return
		}
		if time.Now().After(deadline) {
			var b strings.Builder
			for _, g := range leaked {
				b.WriteString(g.stack)
				b.WriteString("\n\n")
			}
			t.Errorf("goroutine leak: %d goroutines started during the subtest are still alive %v after it ended, want 0:\n%s", len(leaked), leakGrace, b.String())
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}
