package semaphore_test

import (
	"os/exec"
	"runtime"
	"strings"
	"testing"
)

// TestHotMethodsInline checks that Acquire, TryAcquire and Release stay
// small enough for the compiler to inline into the caller, so that each is
// one call into core, as core's own methods are: the drop-in's claim to
// run level with core on the uncontended path rests on it. It asks the
// compiler (go build -gcflags=-m) for this package as the test binary
// was built, and skips, saying why, where no go command is at hand.
func TestHotMethodsInline(t *testing.T) {
	if testing.Short() {
		t.Skip("skipped in -short mode: runs the compiler")
	}
	gotool, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("skipped: no go command to ask the compiler (%v)", err)
	}
	cmd := exec.Command(gotool, "build", "-gcflags=-m", ".")
	cmd.Env = append(cmd.Environ(), "GOOS="+runtime.GOOS, "GOARCH="+runtime.GOARCH, "GOWORK=off")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go build -gcflags=-m: %v\n%s", err, out)
	}
	inlined := map[string]bool{}
	for line := range strings.Lines(string(out)) {
		if _, m, ok := strings.Cut(strings.TrimSpace(line), ": can inline (*Weighted)."); ok {
			inlined[m] = true
		}
	}
	for _, m := range []string{"Acquire", "TryAcquire", "Release"} {
		if !inlined[m] {
			t.Errorf("(*Weighted).%s does not inline any more; the compiler said:\n%s", m, out)
		}
	}
}
