package shared_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/compio-sync/gosync/shared"
)

func TestOpenRejectsNamesThatEscape(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"", ".", "..", "a/b", "../x", "x\x00y", strings.Repeat("n", 256)} {
		if s, err := shared.Open(name, 1, shared.WithDir(dir)); err == nil {
			s.Detach()
			t.Errorf("Open(%q) succeeded, want an error", name)
		} else if !strings.HasPrefix(err.Error(), "shared:") {
			t.Errorf("Open(%q) = %v, want an error naming the package", name, err)
		}
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("rejected names created %d files", len(ents))
	}
}

func TestOpenExistingKeepsItsMaximum(t *testing.T) {
	_, name := create(t, 3)
	s, err := shared.Open(name, 10)
	if err != nil {
		t.Fatalf("Open of an existing semaphore = %v", err)
	}
	defer s.Detach()
	if got := s.MaxPermits(); got != 3 {
		t.Errorf("MaxPermits after Open(%q, 10) of an existing 3 = %d, want 3", name, got)
	}
	if _, err := shared.OpenExisting(name + "-missing"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("OpenExisting of a missing name = %v, want fs.ErrNotExist", err)
	}
}

func TestOpenModes(t *testing.T) {
	_, name := create(t, 1)
	if got := mode(t, filepath.Join(shared.DefaultDir, name)); got != 0o600 {
		t.Errorf("default mode %#o, want 0600", got)
	}
	const nogroup = 65534
	_, gname := create(t, 1, shared.WithGroup(nogroup))
	path := filepath.Join(shared.DefaultDir, gname)
	if got := mode(t, path); got != 0o660 {
		t.Errorf("WithGroup mode %#o, want 0660", got)
	}
	if st, _ := os.Stat(path); st.Sys().(*syscall.Stat_t).Gid != nogroup {
		t.Errorf("WithGroup(%d) gid = %d", nogroup, st.Sys().(*syscall.Stat_t).Gid)
	}
}

func mode(t *testing.T, path string) fs.FileMode {
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Mode().Perm()
}

// validRegion returns the bytes of a freshly created region.
func validRegion(t *testing.T) []byte {
	dir := t.TempDir()
	s, err := shared.Open("valid", 2, shared.WithDir(dir), shared.WithWaiterSlots(4), shared.WithProcessSlots(2))
	if err != nil {
		t.Fatal(err)
	}
	s.Detach()
	b, err := os.ReadFile(filepath.Join(dir, "valid"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestOpenRejectsInvalidFiles: each bad file is a clear error wrapping
// ErrInvalid, and is left exactly as it was. (A file with no region in it
// at all, empty or without its magic number, is an abandoned creation and
// is replaced instead: TestOpenHealsAbandonedFiles.)
func TestOpenRejectsInvalidFiles(t *testing.T) {
	valid := validRegion(t)
	patched := func(off int, v uint32) []byte {
		b := bytes.Clone(valid)
		binary.NativeEndian.PutUint32(b[off:], v)
		return b
	}
	cases := []struct {
		name, want string
		data       []byte
	}{
		{"truncated-header", "shorter than the", valid[:100]},
		{"truncated-body", "truncated or corrupt", valid[:len(valid)-48]},
		{"foreign", "another kind of file", bytes.Repeat([]byte("not a semaphore "), 64)},
		{"wrong-version", "layout version 9", patched(8, 9)},
		// Version 1 had no pool words: a handle of this version must not
		// attach to it (nor one of version 1 to ours, which it rejects).
		{"previous-version", "layout version 1, this package reads version 3", patched(8, 1)},
		// Version 2 identified a process by PID and start time, read from
		// /proc; version 3 identifies a handle by its slot and an OFD lock:
		// handles of the two would each read the other's identities as
		// dead and take their permits.
		{"process-identity-version", "layout version 2, this package reads version 3", patched(8, 2)},
		{"wrong-layout", "journal capacity", patched(24, 1)},
	}
	dir := t.TempDir()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(dir, c.name)
			if err := os.WriteFile(path, c.data, 0o600); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			s, err := shared.Open(c.name, 5, shared.WithDir(dir))
			if err == nil {
				s.Detach()
				t.Fatalf("Open of a %s file succeeded", c.name)
			}
			if !errors.Is(err, shared.ErrInvalid) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Open of a %s file = %v, want ErrInvalid saying %q", c.name, err, c.want)
			}
			if got, _ := os.ReadFile(path); !bytes.Equal(got, c.data) {
				t.Errorf("Open of a %s file modified it", c.name)
			}
			t.Logf("%v after %v", err, time.Since(start).Round(time.Millisecond))
		})
	}
}

// TestOpenRefusesAFileOwnedBySomeoneElse: a squatter's file is not used,
// unless it is in the group the caller opted into.
func TestOpenRefusesAFileOwnedBySomeoneElse(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to give a file to another user")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "squatted")
	if err := os.WriteFile(path, validRegion(t), 0o660); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(path, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	if _, err := shared.Open("squatted", 1, shared.WithDir(dir)); !errors.Is(err, shared.ErrInvalid) || !strings.Contains(err.Error(), "owned by uid 65534") {
		t.Errorf("Open of another user's file = %v, want ErrInvalid naming the owner", err)
	}
	s, err := shared.Open("squatted", 1, shared.WithDir(dir), shared.WithGroup(65534))
	if err != nil {
		t.Fatalf("Open with WithGroup of the file's group = %v", err)
	}
	s.Detach()
}

// TestOpenPermissionDenied: another user opening a 0600 semaphore gets an
// error satisfying errors.Is(err, fs.ErrPermission). The test binary runs
// as user nobody for this.
func TestOpenPermissionDenied(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to run a child as another user")
	}
	_, name := create(t, 1)
	// The child must be able to execute the binary: copy it where nobody can.
	dir, err := os.MkdirTemp("", "gosync-shared-perm")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	bin := filepath.Join(dir, "test.bin")
	src, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, src, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-test.run=^$")
	cmd.Env = append(os.Environ(), childRole+"=open", childName+"="+name, childID+"=perm")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}, Pdeathsig: syscall.SIGKILL}
	stdin, err := cmd.StdinPipe() // open until the child exits: EOF would make it quit early
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	out, _ := cmd.CombinedOutput()
	if got := strings.TrimSpace(string(out)); !strings.HasPrefix(got, "perm permission ") {
		t.Errorf("child as nobody said %q, want a permission error", got)
	} else {
		t.Log(got)
	}
}

// TestOpenRefusesAnotherPIDNamespace: a process in another PID namespace
// cannot check the liveness of this one's processes, so Open refuses the
// region rather than robbing them.
func TestOpenRefusesAnotherPIDNamespace(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to create a PID namespace")
	}
	_, name := create(t, 1)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childRole+"=open", childName+"="+name, childID+"=ns")
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWPID, Pdeathsig: syscall.SIGKILL}
	stdin, err := cmd.StdinPipe() // open until the child exits: EOF would make it quit early
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	out, err := cmd.CombinedOutput()
	if err != nil && len(out) == 0 {
		t.Skipf("cannot start a child in a new PID namespace here: %v", err)
	}
	if got := strings.TrimSpace(string(out)); !strings.Contains(got, "another PID namespace") {
		t.Errorf("child in a new PID namespace said %q, want a refusal naming the PID namespace", got)
	} else {
		t.Log(got)
	}
}
