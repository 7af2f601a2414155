package shared

import (
	"io"
	"os"
	"os/exec"
	"testing"
	"time"

	"golang.org/x/sys/windows"
)

// sleeperEnv makes the test binary, started as a child, wait for EOF on its
// stdin and exit: a process that stays alive until killed.
const sleeperEnv = "GOSYNC_SHARED_SLEEPER"

func init() {
	if os.Getenv(sleeperEnv) == "1" {
		io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	}
}

// The liveness oracle on Windows: this process is alive; an identity with
// its PID but another creation time (a reused PID) is dead; a child is
// alive until TerminateProcess, dead right after it while its handle is
// still open (the process object lingers, signalled), and still dead once
// the handle is closed and the PID is unknown.
func TestLivenessOracle(t *testing.T) {
	self, err := selfIdentity()
	if err != nil {
		t.Fatalf("selfIdentity() = %v", err)
	}
	if !alive(self) {
		t.Fatalf("alive(self %#x) = false", self)
	}
	if alive(self ^ 1) {
		t.Errorf("alive(%#x) = true for this PID with another creation time: PID reuse would fool it", self^1)
	}

	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), sleeperEnv+"=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { stdin.Close(); cmd.Process.Kill(); cmd.Wait() }()
	h, err := windows.OpenProcess(windows.PROCESS_QUERY_LIMITED_INFORMATION, false, uint32(cmd.Process.Pid))
	if err != nil {
		t.Fatalf("OpenProcess(child %d) = %v", cmd.Process.Pid, err)
	}
	created, err := creationMillis(h)
	windows.CloseHandle(h)
	if err != nil {
		t.Skipf("GetProcessTimes on another process fails here (%v): liveness cannot tell a reused PID", err)
	}
	if d := time.Since(time.UnixMilli(int64(created))); d < -time.Minute || d > time.Minute {
		t.Skipf("GetProcessTimes reports the child created %v ago: this system does not keep creation times, so a reused PID could pass for its predecessor", d)
	}
	child := uint64(cmd.Process.Pid)<<32 | created&0xffffffff
	if !alive(child) {
		t.Fatalf("alive(child %#x) = false while it runs", child)
	}
	if err := cmd.Process.Kill(); err != nil { // TerminateProcess
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for alive(child) {
		if time.Now().After(deadline) {
			t.Fatalf("alive(child) still true 10s after TerminateProcess, with its handle open")
		}
		time.Sleep(time.Millisecond)
	}
	cmd.Wait() // closes the last handle: the PID is unknown from here on
	if alive(child) {
		t.Errorf("alive(child) = true after it was reaped")
	}
}
