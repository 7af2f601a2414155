package shared_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/compio-sync/gosync/shared"
	"golang.org/x/sys/unix"
)

func init() {
	if os.Getenv(childRole) == "zombieleader" {
		// Keep the main goroutine on the main thread (the thread group
		// leader), which it runs on during init, so that the role can end
		// that thread alone.
		runtime.LockOSThread()
	}
	// sleeper: what a child execs into; it says so and lives on.
	extraRoles["sleeper"] = func(out logger) int {
		out.printf("sleeping")
		select {}
	}
	// holdexec: acquire a permit, then exec (same PID, same start time)
	// into a sleeper that knows nothing of the semaphore.
	extraRoles["holdexec"] = func(out logger) int {
		s := openForRole(out)
		if _, err := s.AcquireN(context.Background(), 1); err != nil {
			out.printf("err %v", err)
			return 2
		}
		out.printf("held")
		return execSleeper(out)
	}
	// lockexec: take the region lock, leave a transaction half done, then
	// exec into a sleeper.
	extraRoles["lockexec"] = func(out logger) int {
		s := openForRole(out)
		s.HangInsideLock(func() {
			out.printf("locked")
			os.Exit(execSleeper(out))
		})
		return 2
	}
	// zombieleader: acquire a permit, then end the main thread alone
	// (the thread group leader becomes a zombie) while another thread
	// keeps printing "tick".
	extraRoles["zombieleader"] = func(out logger) int {
		s := openForRole(out)
		if _, err := s.AcquireN(context.Background(), 1); err != nil {
			out.printf("err %v", err)
			return 2
		}
		out.printf("held")
		go func() {
			for {
				out.printf("tick")
				time.Sleep(20 * time.Millisecond)
			}
		}()
		unix.RawSyscall(unix.SYS_EXIT, 0, 0, 0) // this thread only
		return 2
	}
}

// openForRole opens the child's semaphore, exiting if it cannot.
func openForRole(out logger) *shared.Semaphore {
	s, err := shared.OpenExisting(os.Getenv(childName))
	if err != nil {
		out.printf("openfail %v", err)
		os.Exit(2)
	}
	return s
}

// execSleeper replaces this child's program by the sleeper role, keeping
// its PID, its start time and its stdin and stdout.
func execSleeper(out logger) int {
	env := []string{childRole + "=sleeper"}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, childRole+"=") {
			env = append(env, kv)
		}
	}
	err := syscall.Exec(os.Args[0], []string{os.Args[0], "-test.run=^$"}, env)
	out.printf("exec %v", err)
	return 2
}

// expectLine is expect for a child that says other things meanwhile: it
// skips every other line.
func (c *child) expectLine(t testing.TB, want string) {
	t.Helper()
	c.await(t, want, true)
}

// TestExecEndsTheProcessForTheSemaphore: a process that execs a new
// program keeps its PID and start time but not its handle (the new
// program knows nothing of it): what it held, permits or the region lock
// halfway through a transaction, comes back while the new program runs.
func TestExecEndsTheProcessForTheSemaphore(t *testing.T) {
	for _, role := range []string{"holdexec", "lockexec"} {
		t.Run(role, func(t *testing.T) {
			watchdog(t, 30*time.Second)
			s, name := create(t, 1)
			c := startChild(t, "execer", role, name, "")
			c.expectLine(t, "sleeping")
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			p, err := s.AcquireN(ctx, 1)
			if err != nil {
				t.Fatalf("AcquireN(1) while the process that held the %s runs another program = %v (InUse %d): its exec was not seen as the end of its handle", map[string]string{"holdexec": "permit", "lockexec": "region lock"}[role], err, s.InUse())
			}
			p.Release()
			select {
			case <-c.done:
				t.Fatalf("the exec'd child exited: the test proves nothing")
			default:
			}
			if err := s.CheckInvariants(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestZombieLeaderWithLiveThreadsKeepsItsPermits: a process whose main
// thread (the thread group leader) exited while its other threads run is
// alive: /proc shows its leader as a zombie, but its permits stay its own.
func TestZombieLeaderWithLiveThreadsKeepsItsPermits(t *testing.T) {
	watchdog(t, 30*time.Second)
	s, name := create(t, 2)
	c := startChild(t, "zombie", "zombieleader", name, "")
	c.expectLine(t, "held")
	stat := fmt.Sprintf("/proc/%d/stat", c.cmd.Process.Pid)
	waitFor(t, func() bool {
		b, err := os.ReadFile(stat)
		if err != nil {
			return false
		}
		f := bytes.Fields(b[bytes.LastIndexByte(b, ')')+1:])
		return len(f) > 0 && string(f[0]) == "Z"
	})
	if s.SweepNow() {
		t.Errorf("SweepNow reclaimed something: the permit of a process whose leader thread exited while its other threads run")
	}
	c.expectLine(t, "tick") // still running
	if got := s.InUse(); got != 1 {
		t.Errorf("InUse = %d, want 1 (the live child's permit)", got)
	}
}

// TestProcessSlotNamingAnotherSlotIsReclaimed: a handle publishes its
// identity only in its own process slot, so a slot whose identity names
// another slot (here slot 1 naming slot 0, whose handle lives) was not
// written by a live handle and is dead: a process that finds every other
// slot taken reclaims it and attaches, instead of counting the stray word
// alive for as long as slot 0's handle lives and failing with ErrNoSlots.
func TestProcessSlotNamingAnotherSlotIsReclaimed(t *testing.T) {
	watchdog(t, 30*time.Second)
	s, name := create(t, 1, shared.WithProcessSlots(2))
	for _, f := range shared.RegionFields(2, shared.DefaultWaiterSlots) {
		if f.Name == "process 1 identity" {
			s.Poke(f, 1<<32|0xdead) // slot 0's byte, another nonce
		}
	}
	c := startChild(t, "c", "hold", name, "")
	c.expect(t, "held")
}

// TestNonceCounterCannotReviveADeadIdentity: the nonce counter is a word
// any process can write. Here it is set so that the next handle to claim
// process slot 1 would get exactly the identity of slot 1's dead holder,
// which died holding the region lock. The new handle must not take that
// identity (it would read the lock word as its own, alive, and wait for
// itself forever): it takes another, takes the lock over and attaches.
func TestNonceCounterCannotReviveADeadIdentity(t *testing.T) {
	watchdog(t, 30*time.Second)
	s, name := create(t, 1, shared.WithProcessSlots(2))
	const dead = 2<<32 | 5 // slot 1, nonce 5: its byte is free
	for _, f := range append(shared.RegionFields(2, shared.DefaultWaiterSlots), shared.LockOwnerField) {
		switch f.Name {
		case "process 1 identity", shared.LockOwnerField.Name:
			s.Poke(f, dead)
		case "identity nonce":
			s.Poke(f, 4) // the next nonce given is 5
		}
	}
	type result struct {
		h   *shared.Semaphore
		err error
	}
	done := make(chan result, 1)
	go func() {
		h, err := shared.OpenExisting(name)
		done <- result{h, err}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			t.Fatalf("OpenExisting with slot 1's holder dead = %v", r.err)
		}
		r.h.Detach()
	case <-time.After(5 * time.Second):
		poke(t, s, shared.LockOwnerField.Name, 0) // let it go
		if r := <-done; r.err == nil {
			r.h.Detach()
		}
		t.Fatalf("OpenExisting still waiting 5s for a region lock owned by %#x, the dead identity it was about to take as its own", uint64(dead))
	}
}
