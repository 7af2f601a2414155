package core

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"testing/synctest"
)

// TestInBubble checks the bubble detection on the running Go: a wrong
// answer outside would stop pooling (or, inside, hand a bubble's Parkers
// to other bubbles, a fatal error).
func TestInBubble(t *testing.T) {
	if inBubble() {
		t.Fatal("inBubble() = true outside any synctest bubble")
	}
	synctest.Test(t, func(t *testing.T) {
		if !inBubble() {
			t.Fatal("inBubble() = false inside a synctest bubble")
		}
		done := make(chan bool)
		go func() { done <- inBubble() }()
		if !<-done {
			t.Fatal("inBubble() = false in a goroutine started inside a bubble")
		}
	})
}

func TestTestFlag(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, ""},
		{[]string{"-test.run=^$"}, "^$"},
		{[]string{"--test.run=^$"}, "^$"},
		{[]string{"-test.run", "^$"}, "^$"},
		{[]string{"-test.run=^$", "-test.run=TestX"}, "TestX"},
		{[]string{"-test.bench=.", "-test.runx=^$"}, ""},
		{[]string{"-test.run"}, ""},
		{[]string{"--", "-test.run=^$"}, ""},
		{[]string{"-test.v", "-test.run=^$", "--", "-test.run=x"}, "^$"},
	} {
		if got := testFlag(c.args, "run"); got != c.want {
			t.Errorf("testFlag(%q, run) = %q, want %q", c.args, got, c.want)
		}
	}
}

// BenchmarkReportRunsNoTests prints what runsNoTests decided, for
// TestRunsNoTestsReadsTheCommandLine.
func BenchmarkReportRunsNoTests(b *testing.B) {
	for b.Loop() {
	}
	fmt.Printf("runs-no-tests=%v\n", runsNoTests(os.Args[1:]))
}

// A test binary run with -test.run=^$ (benchmarks only) skips the bubble
// check; with any other -test.run it keeps it. (-test.fuzz needs a fuzz
// target to run; TestTestFlag covers reading it.)
func TestRunsNoTestsReadsTheCommandLine(t *testing.T) {
	if runsNoTests(os.Args[1:]) {
		t.Fatal("runsNoTests(os.Args[1:]) = true while a test runs")
	}
	for _, c := range []struct {
		args []string
		want bool
	}{
		{[]string{"-test.run=^$"}, true},
		{[]string{"-test.run", "^$"}, true},
		{[]string{"-test.run=^NoSuchTest$"}, false},
	} {
		args := append(c.args, "-test.bench=^BenchmarkReportRunsNoTests$", "-test.benchtime=1x")
		out, err := exec.Command(os.Args[0], args...).CombinedOutput()
		if errors.Is(err, syscall.ENOEXEC) {
			// Under a user-mode emulator (the arm64 run on an amd64 host)
			// the binary cannot start itself.
			t.Skipf("SKIPPED: this host cannot execute the test binary itself: %v", err)
		}
		if err != nil {
			t.Fatalf("%s %q: %v\n%s", os.Args[0], args, err, out)
		}
		if want := fmt.Sprintf("runs-no-tests=%v", c.want); !strings.Contains(string(out), want) {
			t.Errorf("with %q: output lacks %q:\n%s", c.args, want, out)
		}
	}
}
