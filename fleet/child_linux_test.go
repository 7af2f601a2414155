package fleet_test

// Child processes: the test binary re-executes itself with childRoleEnv set
// to a role of childRoles and the role's arguments, as JSON, in
// childArgsEnv; TestMain runs the role instead of the tests. A child
// reports on its stdout, one line per write(2), so the lines of its
// goroutines interleave whole.

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const childArgsEnv = "GOSYNC_FLEET_ARGS"

// childArgs decodes this child's arguments into v.
func childArgs(v any) {
	if err := json.Unmarshal([]byte(os.Getenv(childArgsEnv)), v); err != nil {
		fmt.Fprintf(os.Stderr, "fleet test child: arguments %q: %v\n", os.Getenv(childArgsEnv), err)
		os.Exit(2)
	}
}

// childSay writes one report line to the parent, in one write; a child
// whose parent is gone exits.
func childSay(format string, args ...any) {
	if _, err := os.Stdout.WriteString(fmt.Sprintf(format, args...) + "\n"); err != nil {
		os.Exit(5)
	}
}

// A child is a running child process.
type child struct {
	name   string
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	events chan<- childEvent
	stop   chan struct{} // closed by kill: no more events are sent
	done   chan struct{} // closed once the child is reaped and its stdout read
	once   sync.Once

	mu     sync.Mutex
	stderr []byte // the end of what it wrote to stderr
}

// A childEvent is a line a child wrote, or (exited) its end.
type childEvent struct {
	c      *child
	line   string
	exited bool
	err    error // cmd.Wait's, with exited
}

// startChild runs the test binary as the child name in role with args
// (encoded as JSON), and sends every line the child writes, then its exit,
// to events. The kernel SIGKILLs the child if this process dies
// (Pdeathsig), and the test's cleanup SIGKILLs and reaps it on every path.
func startChild(t testing.TB, name, role string, args any, events chan<- childEvent) *child {
	t.Helper()
	a, err := json.Marshal(args)
	if err != nil {
		t.Fatalf("child %s arguments: %v", name, err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childRoleEnv+"="+role, childArgsEnv+"="+string(a))
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	c := &child{name: name, cmd: cmd, events: events, stop: make(chan struct{}), done: make(chan struct{})}
	if c.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil { // closes the pipes if it fails
		t.Fatalf("start child %s (%s): %v", name, role, err)
	}
	var errDone sync.WaitGroup
	errDone.Go(func() { c.keepStderr(stderr) })
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			c.send(childEvent{c: c, line: sc.Text()})
		}
		errDone.Wait()
		// Wait closes the pipes: only after both were read to EOF.
		err := cmd.Wait()
		c.send(childEvent{c: c, exited: true, err: err})
		close(c.done)
	}()
	t.Cleanup(func() {
		c.kill()
		if bad := c.badStderr(); bad != "" {
			t.Errorf("child %s reported on stderr:\n%s", name, bad)
		}
	})
	return c
}

func (c *child) send(e childEvent) {
	select {
	case c.events <- e:
	case <-c.stop:
	}
}

// keepStderr keeps the last 64 KiB of the child's stderr, for badStderr
// and failure messages.
func (c *child) keepStderr(r io.Reader) {
	buf := make([]byte, 4096)
	for {
		n, err := r.Read(buf)
		c.mu.Lock()
		c.stderr = append(c.stderr, buf[:n]...)
		if len(c.stderr) > 64<<10 {
			c.stderr = c.stderr[len(c.stderr)-64<<10:]
		}
		c.mu.Unlock()
		if err != nil {
			return
		}
	}
}

// badStderr returns the child's stderr if it holds a race report or a
// panic, else "".
func (c *child) badStderr() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := string(c.stderr)
	if strings.Contains(s, "WARNING: DATA RACE") || strings.Contains(s, "panic:") || strings.Contains(s, "fatal error:") {
		return s
	}
	return ""
}

// sigkill sends SIGKILL to the child; its remaining lines and its exit
// still reach events.
func (c *child) sigkill() {
	if err := c.cmd.Process.Signal(syscall.SIGKILL); err != nil && err != os.ErrProcessDone {
		panic(fmt.Sprintf("SIGKILL child %s: %v", c.name, err))
	}
}

// kill SIGKILLs the child, stops its events and waits until it is reaped.
// Idempotent.
func (c *child) kill() {
	c.once.Do(func() {
		c.cmd.Process.Signal(syscall.SIGKILL)
		close(c.stop)
		c.stdin.Close()
		<-c.done
	})
}

// memberArgs are the arguments of an etcd member process.
type memberArgs struct {
	Name, Dir, ClientURL, PeerURL, InitialCluster string
}

func init() { childRoles["etcd-member"] = runMemberProcess }

// runMemberProcess is an etcd member in its own process (the same
// configuration as the embedded members), reporting "ready" once it serves
// and running until it is killed or its parent goes away.
func runMemberProcess() int {
	var a memberArgs
	childArgs(&a)
	cu, err1 := url.Parse(a.ClientURL)
	pu, err2 := url.Parse(a.PeerURL)
	if err1 != nil || err2 != nil {
		childSay("err bad URL: %v %v", err1, err2)
		return 2
	}
	m := &member{name: a.Name, dir: a.Dir, clientURL: *cu, peerURL: *pu, initial: a.InitialCluster}
	if err := m.start(); err != nil {
		childSay("err %v", err)
		return 2
	}
	childSay("ready")
	select {} // until SIGKILL or the parent's end (TestMain's stdin watch)
}

// memberProcs is an etcd cluster whose members are child processes.
type memberProcs struct {
	t         testing.TB
	args      []memberArgs
	procs     []*child
	endpoints []string
}

// startMemberProcesses starts an etcd cluster of size members, each in its
// own process, on loopback ports, and waits until every member serves. It
// retries on other ports if a port was taken meanwhile.
func startMemberProcesses(t testing.TB, size int) *memberProcs {
	t.Helper()
	for attempt := 1; ; attempt++ {
		mp, err := tryMemberProcesses(t, size)
		if err == nil {
			return mp
		}
		if attempt == 3 {
			t.Fatalf("start %d etcd member processes: %v", size, err)
		}
		t.Logf("start etcd member processes (attempt %d): %v; retrying on other ports", attempt, err)
	}
}

func tryMemberProcesses(t testing.TB, size int) (*memberProcs, error) {
	mp := &memberProcs{t: t}
	base := t.TempDir()
	var initial []string
	for i := range size {
		a := memberArgs{
			Name:      fmt.Sprintf("m%d", i),
			Dir:       fmt.Sprintf("%s/m%d", base, i),
			ClientURL: fmt.Sprintf("http://127.0.0.1:%d", freePort(t)),
			PeerURL:   fmt.Sprintf("http://127.0.0.1:%d", freePort(t)),
		}
		initial = append(initial, a.Name+"="+a.PeerURL)
		mp.args = append(mp.args, a)
		mp.endpoints = append(mp.endpoints, a.ClientURL)
	}
	for i := range mp.args {
		mp.args[i].InitialCluster = strings.Join(initial, ",")
	}
	mp.procs = make([]*child, size)
	ready := make(chan childEvent, 16*size)
	for i := range mp.args {
		mp.procs[i] = startChild(t, mp.args[i].Name, "etcd-member", mp.args[i], ready)
	}
	if err := waitReady(ready, mp.procs...); err != nil {
		for _, c := range mp.procs {
			c.kill()
		}
		return nil, err
	}
	return mp, nil
}

// waitReady waits until each of cs said "ready" on events.
func waitReady(events <-chan childEvent, cs ...*child) error {
	waiting := make(map[*child]bool)
	for _, c := range cs {
		waiting[c] = true
	}
	timeout := time.After(60 * time.Second)
	for len(waiting) > 0 {
		select {
		case e := <-events:
			switch {
			case e.line == "ready":
				delete(waiting, e.c)
			case e.exited:
				return fmt.Errorf("member %s exited before it was ready (%v); stderr:\n%s", e.c.name, e.err, e.c.stderrTail())
			default:
				return fmt.Errorf("member %s: %s", e.c.name, e.line)
			}
		case <-timeout:
			var names []string
			for c := range waiting {
				names = append(names, c.name)
			}
			return fmt.Errorf("members %v not ready after 60s", names)
		}
	}
	return nil
}

func (c *child) stderrTail() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := string(c.stderr)
	if len(s) > 2000 {
		s = s[len(s)-2000:]
	}
	return s
}

// crash SIGKILLs member i's process and reaps it.
func (mp *memberProcs) crash(i int) { mp.procs[i].kill() }

// restart starts member i's process again on its data directory and
// ports, and waits until it serves.
func (mp *memberProcs) restart(i int) {
	mp.t.Helper()
	ready := make(chan childEvent, 16)
	mp.procs[i] = startChild(mp.t, mp.args[i].Name, "etcd-member", mp.args[i], ready)
	if err := waitReady(ready, mp.procs[i]); err != nil {
		mp.t.Fatalf("restart member %s: %v", mp.args[i].Name, err)
	}
}
