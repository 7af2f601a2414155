package shared_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/compio-sync/gosync/shared"
	"golang.org/x/sys/unix"
)

// The geometry of the populated region the corruption tests start from:
// small, so that a corrupted index often lands in range.
const (
	corruptProcs = 6
	corruptSlots = 8
)

func init() { extraRoles["survive"] = survive }

// survive is the role of a process that opens a region someone may have
// corrupted and uses it: every operation must return (an error is fine),
// and the process must not crash. It logs "survived", whether Detach
// reported the region corrupt, and its error; or "open", whether Open
// reported it corrupt, and its error.
func survive(out logger) int {
	s, err := shared.OpenExisting(os.Getenv(childName), shared.WithDir(childStr("dir")))
	if err != nil {
		out.printf("open corrupt=%t %v", errors.Is(err, shared.ErrCorrupt), err)
		return 0
	}
	out.printf("step open")
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	for _, step := range []struct {
		name string
		f    func()
	}{
		{"TryAcquire", func() {
			if p, ok := s.TryAcquire(); ok {
				p.Release()
			}
		}},
		{"AcquireN(1)", func() {
			if p, err := s.AcquireN(ctx, 1); err == nil {
				p.Release()
			}
		}},
		{"sweep", func() { s.SweepNow() }},
		{"AcquireN(2)", func() {
			if p, err := s.AcquireN(ctx, 2); err == nil {
				p.Release()
			}
		}},
		{"snapshots", func() { s.InUse(); s.AvailablePermits(); s.Waiting(); s.Held() }},
		{"SetMaxPermits", func() { s.SetMaxPermits(3) }},
		{"Close", s.Close},
	} {
		step.f()
		out.printf("step %s", step.name)
	}
	err = s.Detach()
	out.printf("survived corrupt=%t %v", errors.Is(err, shared.ErrCorrupt), err)
	return 0
}

// populatedRegion builds a region in use the way a busy semaphore is and
// returns its bytes: two processes holding a permit each (in their pools),
// one holding two and queueing two more requests, and one that died
// inside the lock, halfway through a transaction (so the journal is not
// empty and the lock owner is dead). Every process but this one is dead.
func populatedRegion(t testing.TB) []byte {
	t.Helper()
	s, name := create(t, 4, shared.WithProcessSlots(corruptProcs), shared.WithWaiterSlots(corruptSlots))
	path := filepath.Join(shared.DefaultDir, name)
	h1 := startChild(t, "h1", "hold", name, "n=1")
	h1.expect(t, "held")
	h2 := startChild(t, "h2", "hold", name, "n=1")
	h2.expect(t, "held")
	q := startChild(t, "q", "queue", name, "g=3,n=2")
	q.expect(t, "granted")
	waitFor(t, func() bool { return s.Waiting() == 2 })
	l := startChild(t, "l", "lock", name, "")
	l.expect(t, "locked")
	for _, c := range []*child{h1, h2, q, l} {
		c.kill()
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// The cleanup's Detach of s takes the dead child's lock over; the
	// bytes above are what a fresh process would find.
	fields := fieldMap()
	if n := binary.NativeEndian.Uint32(b[fields["journal length"].Off:]); n == 0 {
		t.Fatalf("populated region has an empty journal: the lock child committed")
	}
	return b
}

func fieldMap() map[string]shared.RegionField {
	m := map[string]shared.RegionField{}
	for _, f := range shared.RegionFields(corruptProcs, corruptSlots) {
		m[f.Name] = f
	}
	return m
}

// corruptRegion overwrites one to three words of b chosen by rng (queue
// links, slot numbers, counts, journal entries) with values chosen to hit
// both out-of-range and plausible-but-wrong cases, and describes what it
// did.
func corruptRegion(b []byte, rng *rand.Rand) string {
	fields := shared.RegionFields(corruptProcs, corruptSlots)
	var did []string
	for range 1 + rng.IntN(3) {
		f := fields[rng.IntN(len(fields))]
		var old uint64
		if f.Width == 4 {
			old = uint64(binary.NativeEndian.Uint32(b[f.Off:]))
		} else {
			old = binary.NativeEndian.Uint64(b[f.Off:])
		}
		var v uint64
		switch rng.IntN(4) {
		case 0:
			v = rng.Uint64()
		case 1:
			v = uint64(rng.IntN(corruptSlots + 4))
		case 2:
			v = old + uint64(rng.IntN(3)) - 1
		default:
			v = old ^ 1<<rng.IntN(8*f.Width)
		}
		if f.Width == 4 {
			v = uint64(uint32(v))
			binary.NativeEndian.PutUint32(b[f.Off:], uint32(v))
		} else {
			binary.NativeEndian.PutUint64(b[f.Off:], v)
		}
		did = append(did, fmt.Sprintf("%s %#x -> %#x", f.Name, old, v))
	}
	return strings.Join(did, "; ")
}

// survival is what became of a process that opened a corrupted region.
type survival struct {
	said    string // its last line
	exit    int    // exit code, -1 if killed by a signal
	hung    bool   // still running after the deadline (then killed)
	stderr  string
	corrupt string // what was corrupted
}

func (s survival) crashed() bool {
	return s.hung || s.exit != 0 || !strings.HasPrefix(s.said, "survived") && !strings.HasPrefix(s.said, "open ")
}

// survivorStall is how long a process that opened a corrupted region may
// go without finishing a step (it logs one after Open and after each
// operation, every one of which has a deadline of 50 ms or needs none):
// only a hang takes this long, whatever the load.
const survivorStall = 10 * time.Second

// runSurvivor writes region to dir/name, runs a fresh process that opens
// and uses it (the survive role), and reports how it ended. A process that
// goes survivorStall without a step is sent SIGQUIT (its goroutine dump
// is in stderr), then killed, and reported hung.
func runSurvivor(t testing.TB, dir, name string, region []byte) survival {
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, region, 0o600); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(path)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childRole+"=survive", childName+"="+name, childID+"=s", childArgs+"=dir="+dir)
	passFiles(cmd, nil)
	stdout := &progressWriter{step: make(chan struct{}, 1)}
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = stdout, &stderr
	stdin, err := cmd.StdinPipe() // the child exits at EOF on its stdin
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	var out survival
	stall := time.NewTimer(survivorStall)
	defer stall.Stop()
wait:
	for {
		select {
		case <-done:
			break wait
		case <-stdout.step:
			stall.Reset(survivorStall)
		case <-stall.C:
			// SIGQUIT first: the Go runtime dumps every goroutine to
			// stderr, which says where it hung.
			out.hung = true
			cmd.Process.Signal(syscall.SIGQUIT)
			select {
			case <-done:
			case <-time.After(2 * time.Second):
				cmd.Process.Kill()
				<-done
			}
			break wait
		}
	}
	out.exit = cmd.ProcessState.ExitCode()
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	out.said = strings.TrimPrefix(lines[len(lines)-1], "s ")
	out.stderr = stderr.String()
	return out
}

// progressWriter keeps what a child writes and signals step on every write.
type progressWriter struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	step chan struct{}
}

func (w *progressWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	select {
	case w.step <- struct{}{}:
	default:
	}
	return w.buf.Write(b)
}

func (w *progressWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// TestCorruptRegionsNeverCrashAProcess: 200 (50 with -short) copies of a
// region in use
// (queued requests, holders in pools, a dead lock owner with an open
// transaction), each with one to three words overwritten at random (queue
// links, slot and process numbers, counts, journal length and entries),
// are each opened and used by a fresh process. None may crash (a Go panic,
// SIGSEGV, an exit other than 0) or hang; an error is the right outcome.
func TestCorruptRegionsNeverCrashAProcess(t *testing.T) {
	watchdog(t, 200*survivorStall)
	region := populatedRegion(t)
	dir := t.TempDir()
	runs := 200
	if testing.Short() {
		runs = 50
	}
	results := make([]survival, runs)
	var wg sync.WaitGroup
	gate := make(chan struct{}, 4)
	for seed := range runs {
		gate <- struct{}{}
		wg.Go(func() {
			defer func() { <-gate }()
			b := bytes.Clone(region)
			what := corruptRegion(b, rand.New(rand.NewPCG(uint64(seed), 0x5eed)))
			r := runSurvivor(t, dir, fmt.Sprintf("corrupt-%d", seed), b)
			r.corrupt = what
			results[seed] = r
		})
	}
	wg.Wait()
	var crashed, refused, found, unnoticed int
	for seed, r := range results {
		switch {
		case r.crashed():
			crashed++
			if crashed <= 10 {
				msg := r.stderr
				if i := strings.Index(msg, "\n\ngoroutine "); i >= 0 {
					msg = msg[:i]
				}
				t.Errorf("seed %d (%s): hung %t, exit %d, said %q:\n%s", seed, r.corrupt, r.hung, r.exit, r.said, msg)
			}
		case strings.HasPrefix(r.said, "open corrupt=true"):
			refused++
		case strings.HasPrefix(r.said, "open "):
			t.Errorf("seed %d (%s): Open failed with an error that is not ErrCorrupt: %s", seed, r.corrupt, r.said)
		case strings.HasPrefix(r.said, "survived corrupt=true"):
			found++
		default:
			unnoticed++ // a plausible value: nothing the checks can tell
		}
	}
	t.Logf("%d corrupted regions: %d refused by Open (ErrCorrupt), %d found corrupt by a later operation, %d used to the end without noticing, %d crashed or hung", runs, refused, found, unnoticed, crashed)
	if crashed > 0 {
		t.Errorf("%d of %d processes that opened a corrupted region crashed or hung", crashed, runs)
	}
}

// fuzzHeader is the size of the header a fuzzed region keeps: Open
// validates the header itself (TestOpenRejectsInvalidFiles), and a fuzzed
// one would only be refused.
const fuzzHeader = 64

// FuzzRegion: whatever the bytes of a region past its header (the lock
// word, the state, the journal, the process and waiter slots), a process
// that opens the region and uses it (the survive role: TryAcquire,
// AcquireN with a 50 ms deadline, a sweep, snapshots, SetMaxPermits,
// Close, Detach) neither crashes nor hangs. Each input runs in a fresh
// child process, so that a crash is seen and reported instead of ending
// the fuzzer, and a child that goes survivorStall without finishing a step
// is killed and reported as hung. The input is the region from offset 64 on, cut or
// padded with zeros to its size (a region of corruptProcs process slots
// and corruptSlots waiter slots); the seed corpus in
// testdata/fuzz/FuzzRegion, which plain go test runs, is a region in use
// (see populatedRegion) and copies of it with corruptions that crashed a
// process before every word was checked (written by
// GOSYNC_WRITE_FUZZ_SEEDS=1 go test -run FuzzRegion).
func FuzzRegion(f *testing.F) {
	dir := f.TempDir()
	s, err := shared.Open("template", 1, shared.WithDir(dir), shared.WithProcessSlots(corruptProcs), shared.WithWaiterSlots(corruptSlots))
	if err != nil {
		f.Fatal(err)
	}
	s.Detach()
	template, err := os.ReadFile(filepath.Join(dir, "template"))
	if err != nil {
		f.Fatal(err)
	}
	if os.Getenv("GOSYNC_WRITE_FUZZ_SEEDS") == "1" {
		writeFuzzSeeds(f)
	}
	var runs atomic.Int64
	f.Fuzz(func(t *testing.T, state []byte) {
		b := bytes.Clone(template)
		clear(b[fuzzHeader:])
		copy(b[fuzzHeader:], state)
		r := runSurvivor(t, dir, fmt.Sprintf("fuzz-%d", runs.Add(1)), b)
		switch {
		case r.hung:
			last := r.said
			if last == "" {
				last = "none (it hung in Open)"
			}
			t.Fatalf("the process that opened the region hung: no step for %v, last step %s (killed); its goroutines:\n%s", survivorStall, last, r.stderr)
		case r.crashed():
			t.Fatalf("the process that opened the region crashed: exit %d, said %q:\n%s", r.exit, r.said, r.stderr)
		}
		t.Logf("it said %q", r.said)
	})
}

// writeFuzzSeeds writes FuzzRegion's seed corpus: a region in use and six
// corruptions of it that crashed a process before the checks (seeds of
// TestCorruptRegionsNeverCrashAProcess: queue links, slot process numbers,
// journal entries out of range).
func writeFuzzSeeds(f *testing.F) {
	region := populatedRegion(f)
	dir := filepath.Join("testdata", "fuzz", "FuzzRegion")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		f.Fatal(err)
	}
	write := func(name string, b []byte) {
		data := "go test fuzz v1\n[]byte(" + strconv.Quote(string(b[fuzzHeader:])) + ")\n"
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			f.Fatal(err)
		}
	}
	write("in-use", region)
	for _, seed := range []uint64{4, 6, 9, 16, 38, 53} {
		b := bytes.Clone(region)
		what := corruptRegion(b, rand.New(rand.NewPCG(seed, 0x5eed)))
		f.Logf("seed %d: %s", seed, what)
		write(fmt.Sprintf("corrupt-%d", seed), b)
	}
}

// TestLockOwnerNoProcessCanBeIsTakenOver: a lock owner word that no live
// handle can have names no live owner: the lock is taken over as from a
// dead one, instead of every process waiting for it forever. An identity
// is (process slot + 1) << 32 | nonce; these name slot -1 (upper half 0,
// the fuzzer's find), slots far past the region's, and, with the contended
// bit, slot -1 again. Each names a liveness byte that a live description
// (opened here) does lock: only the check that the slot exists tells the
// owner is dead.
func TestLockOwnerNoProcessCanBeIsTakenOver(t *testing.T) {
	for _, owner := range []uint64{0x1234, 0xffffffff_00000001, 0x80000000_00000001, 1<<22<<32 | 1} {
		t.Run(fmt.Sprintf("%#x", owner), func(t *testing.T) {
			watchdog(t, 20*time.Second)
			s, name := create(t, 1)
			lockLivenessByte(t, filepath.Join(shared.DefaultDir, name), uint32(owner&^(1<<63)>>32)-1)
			poke(t, s, shared.LockOwnerField.Name, owner)
			done := make(chan bool, 1)
			go func() { _, ok := s.TryAcquire(); done <- ok }() // the lock path: the pool is drained
			select {
			case ok := <-done:
				if !ok {
					t.Errorf("TryAcquire on an idle semaphore after the lock was taken over = false")
				}
			case <-time.After(5 * time.Second):
				poke(t, s, shared.LockOwnerField.Name, 0) // let it and the cleanup's Detach go
				<-done
				t.Fatalf("TryAcquire still waiting 5s for a lock owned by %#x (process slot %d), which no handle can be", owner, int64(uint32(owner&^(1<<63)>>32))-1)
			}
			if locks, _, _ := s.RecoveryCounts(); locks != 1 {
				t.Errorf("locks taken over = %d, want 1", locks)
			}
		})
	}
}

// lockLivenessByte takes, through a description of its own on the region
// file at path, the OFD lock a handle in process slot p would hold (see
// identity_linux.go), until the test ends.
func lockLivenessByte(t *testing.T, path string, p uint32) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	lk := unix.Flock_t{Type: unix.F_WRLCK, Start: 1<<40 + int64(p), Len: 1}
	if err := unix.FcntlFlock(f.Fd(), unix.F_OFD_SETLK, &lk); err != nil {
		t.Fatalf("F_OFD_SETLK on the liveness byte of slot %d: %v", p, err)
	}
}
