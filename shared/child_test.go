//go:build linux || windows

package shared_test

// Child processes: the test binary re-executes itself with childRole set
// in the environment, and TestMain runs the role instead of the tests.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/compio-sync/gosync/shared"
)

const (
	childRole = "GOSYNC_SHARED_CHILD" // the role to run
	childName = "GOSYNC_SHARED_NAME"  // the semaphore
	childID   = "GOSYNC_SHARED_ID"    // prefix of every log line
	childArgs = "GOSYNC_SHARED_ARGS"  // role arguments, k=v,k=v
)

// extraRoles are roles registered by other test files (benchmarks); they
// open what they need themselves.
var extraRoles = map[string]func(out logger) int{}

func TestMain(m *testing.M) {
	if role := os.Getenv(childRole); role != "" {
		os.Exit(runChild(role))
	}
	os.Exit(m.Run())
}

// childArg returns the integer argument k of this child, or def.
func childArg(k string, def int) int {
	v := childStr(k)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		panic(fmt.Sprintf("child argument %s=%q: %v", k, v, err))
	}
	return n
}

// childStr returns the argument k of this child, or "".
func childStr(k string) string {
	for _, kv := range strings.Split(os.Getenv(childArgs), ",") {
		if v, ok := strings.CutPrefix(kv, k+"="); ok {
			return v
		}
	}
	return ""
}

// logger writes one line per call with a single write(2) (shorter than
// PIPE_BUF, so atomic): lines of all children sharing one pipe interleave
// whole, in the order the writes happened.
type logger struct {
	f  *os.File
	id string
}

func (l logger) printf(format string, args ...any) {
	line := l.id + " " + fmt.Sprintf(format, args...) + "\n"
	if _, err := l.f.WriteString(line); err != nil {
		os.Exit(5) // the parent is gone
	}
}

func runChild(role string) int {
	// Die with the parent: it holds our stdin open, EOF means it is gone.
	go func() {
		io.Copy(io.Discard, os.Stdin)
		os.Exit(3)
	}()
	out := logger{f: os.Stdout, id: os.Getenv(childID)}
	if run, ok := extraRoles[role]; ok {
		return run(out)
	}
	if childArg("log", 0) == 1 {
		if f := childFile(0); f != nil {
			out.f = f
		}
	}
	opts, closeFn, err := childOptions()
	if err != nil {
		out.printf("waiter %v", err)
		return 2
	}
	defer closeFn()
	if childArg("polls", 1) == 0 {
		shared.DisableWaiterPolls()
	}
	// recovery=1: log this handle's identity ("I id") and each reclaim of
	// a dead handle ("R id monoNow recoverer") to the log pipe.
	// (Only then is there a pipe: childFile would wrap another fd. With
	// log=1, out already writes to it: one *os.File per fd.)
	var rec *logger
	if childArg("recovery", 0) == 1 {
		rec = &logger{f: out.f, id: out.id}
		if childArg("log", 0) != 1 {
			rec.f = childFile(0)
		}
		shared.SetReclaimHook(func(id uint64, by string) {
			rec.printf("R %d %d %s", id, monoNow(), recoverer(by))
		})
	}
	s, err := shared.OpenExisting(os.Getenv(childName), opts...)
	if err == nil && rec != nil {
		rec.printf("I %d", s.Identity())
	}
	if role == "open" {
		if errors.Is(err, fs.ErrPermission) {
			out.printf("permission %v", err)
		} else {
			out.printf("other %v", err)
		}
		return 0
	}
	if err != nil {
		out.printf("openfail %v", err)
		return 2
	}
	ctx := context.Background()
	switch role {
	case "hold":
		if _, err := s.AcquireN(ctx, childArg("n", 1)); err != nil {
			out.printf("err %v", err)
			return 2
		}
		out.printf("held")
		select {}
	case "queue":
		var wg sync.WaitGroup
		for range childArg("g", 1) {
			wg.Go(func() {
				_, err := s.AcquireN(ctx, childArg("n", 1))
				switch {
				case err == nil:
					out.printf("granted")
				case errors.Is(err, shared.ErrClosed):
					out.printf("closed")
				default:
					out.printf("err %v", err)
				}
			})
		}
		wg.Wait()
		out.printf("done")
		select {}
	case "lock":
		s.HangInsideLock(func() { out.printf("locked") })
	case "steal":
		wait := time.Duration(childArg("waitms", 0)) * time.Millisecond
		s.HangInsideSteal(childStr("stage"), wait, func(inside bool) {
			if inside {
				out.printf("stealing")
			} else {
				out.printf("stealing none")
			}
		})
	case "fast":
		fastWorkers(s, out, childArg("g", 1), childArg("maxw", 1))
	case "close":
		s.Close()
		out.printf("closed")
		select {}
	case "workers":
		workers(s, out, childArg("g", 1), childArg("iters", 1), childArg("maxw", 1), childArg("cancel", 0))
		out.printf("done")
		return 0
	}
	out.printf("unknown role %q", role)
	return 2
}

// workers runs g goroutines, each acquiring a random weight in [1, maxw]
// iters times (forever if iters is 0), logging "+ w ticket grant queued
// waitedµs goroutine" after each grant and "- w" before each release.
// cancel is the percentage of acquires given a random deadline of up to
// 2 ms.
func workers(s *shared.Semaphore, out logger, g, iters, maxw, cancel int) {
	var wg sync.WaitGroup
	for gi := range g {
		wg.Go(func() {
			for i := 0; iters == 0 || i < iters; i++ {
				w := 1 + rand.IntN(maxw)
				ctx, stop := context.Background(), func() {}
				if rand.IntN(100) < cancel {
					ctx, stop = context.WithTimeout(ctx, time.Duration(rand.IntN(2000))*time.Microsecond)
				}
				began := time.Now()
				p, err := s.AcquireN(ctx, w)
				waited := time.Since(began)
				stop()
				if err != nil {
					if !errors.Is(err, context.DeadlineExceeded) {
						out.printf("e %v", err)
					}
					continue
				}
				t, gr, q := p.Order()
				out.printf("+ %d %d %d %t %d %d", w, t, gr, q, waited.Microseconds(), gi)
				for range rand.IntN(3) {
					time.Sleep(time.Duration(rand.IntN(50)) * time.Microsecond)
				}
				out.printf("- %d", w)
				p.Release()
			}
		})
	}
	wg.Wait()
}

// fastWorkers runs g goroutines that acquire (a third of the time
// TryAcquire) a weight in [1, maxw] (1 three times out of four) and release
// it at once, forever: most of their time is spent inside the pool fast
// path, where a SIGKILL must lose nothing. Every 10 ms it prints
// "fast F of N": how many of the N acquisitions so far took the fast path.
func fastWorkers(s *shared.Semaphore, out logger, g, maxw int) {
	var fast, all atomic.Int64
	for range g {
		go func() {
			for k := 0; ; k++ {
				w := 1
				if rand.IntN(4) == 0 {
					w = 1 + rand.IntN(maxw)
				}
				var p shared.Permit
				if k%3 == 0 {
					var ok bool
					if p, ok = s.TryAcquireN(w); !ok {
						continue
					}
				} else {
					var err error
					if p, err = s.AcquireN(context.Background(), w); err != nil {
						out.printf("e %v", err)
						continue
					}
				}
				all.Add(1)
				if p.Fast() {
					fast.Add(1)
				}
				p.Release()
			}
		}()
	}
	for {
		time.Sleep(10 * time.Millisecond)
		out.printf("fast %d of %d", fast.Load(), all.Load())
	}
}

// A child is a running child process.
type child struct {
	id    string
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines chan string // its stdout, line by line (closed at EOF)
	done  chan struct{}
	once  sync.Once
}

// startChild runs the test binary as a child in role on the semaphore
// name. args is "k=v,..."; files reach the child as childFile(0), (1), ...
// (a log pipe for log=1 in args is the first). The child dies with this
// process (see passFiles) and is killed when the test ends, on every path.
func startChild(t testing.TB, id, role, name, args string, files ...*os.File) *child {
	t.Helper()
	var cmd *exec.Cmd
	var stdin io.WriteCloser
	var stdout io.ReadCloser
	for attempt := 1; ; attempt++ {
		cmd = exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), childRole+"="+role, childName+"="+name, childID+"="+id, childArgs+"="+args)
		cmd.Stderr = os.Stderr
		passFiles(cmd, files)
		var err error
		if stdin, err = cmd.StdinPipe(); err != nil {
			t.Fatal(err)
		}
		if stdout, err = cmd.StdoutPipe(); err != nil {
			t.Fatal(err)
		}
		err = cmd.Start() // closes both pipes if it fails
		if err == nil {
			break
		}
		if attempt >= startAttempts {
			t.Fatalf("starting child %s (%s): %v", id, role, err)
		}
		t.Logf("starting child %s (%s), attempt %d of %d: %v (%s); trying again", id, role, attempt, startAttempts, err, startRetryReason)
	}
	c := &child{id: id, cmd: cmd, stdin: stdin, lines: make(chan string, 1<<16), done: make(chan struct{})}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			c.lines <- sc.Text()
		}
		close(c.lines)
		// Wait closes the stdout pipe: only after every line was read.
		cmd.Wait()
		close(c.done)
	}()
	t.Cleanup(c.kill)
	return c
}

// kill kills the child (SIGKILL; TerminateProcess on Windows) and waits
// until it is reaped. Idempotent.
func (c *child) kill() {
	c.once.Do(func() {
		c.cmd.Process.Kill()
		c.stdin.Close()
		<-c.done
	})
}

// expect reads the child's stdout until a line equal to want, failing the
// test if the child says something else first, exits, or 10 s pass.
func (c *child) expect(t testing.TB, want string) {
	t.Helper()
	c.await(t, want, false)
}

// await reads the child's stdout until a line equal to want, skipping
// other lines if skip, else failing on them.
func (c *child) await(t testing.TB, want string, skip bool) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case line, ok := <-c.lines:
			if !ok {
				t.Fatalf("child %s exited before saying %q", c.id, want)
			}
			if line == c.id+" "+want {
				return
			}
			if !skip {
				t.Fatalf("child %s said %q, want %q", c.id, line, want)
			}
		case <-timeout:
			t.Fatalf("child %s did not say %q within 10s", c.id, want)
		}
	}
}

// recoverer names, for the reclaim hook, who reclaimed a dead handle:
// "open" (Open took its slot) or, for a sweep, the function that called
// it: "watch" (a handle's watch for deaths), "await" (a waiter that
// collected a grant, or whose own poll fired), "TryAcquireN", ...
func recoverer(by string) string {
	if by != "sweep" {
		return by
	}
	pc := make([]uintptr, 16)
	frames := runtime.CallersFrames(pc[:runtime.Callers(2, pc)])
	for {
		f, more := frames.Next()
		name := f.Function[strings.LastIndex(f.Function, ".")+1:]
		if strings.HasPrefix(f.Function, "github.com/compio-sync/gosync/shared.") && name != "sweep" && name != "sweepNow" {
			return name
		}
		if !more {
			return by
		}
	}
}
