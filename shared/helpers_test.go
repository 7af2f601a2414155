//go:build linux || windows

package shared_test

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/compio-sync/gosync/shared"
)

var nameSeq atomic.Int64

// uniqueName returns a semaphore name no other test (or test process) uses.
func uniqueName(t testing.TB) string {
	n := strings.NewReplacer("/", "_", " ", "_").Replace(t.Name())
	return fmt.Sprintf("gosync-test-%d-%d-%s", os.Getpid(), nameSeq.Add(1), n)
}

// create makes a fresh semaphore with permits permits (with platformOpts
// before opts); it is detached and its file removed when the test ends.
func create(t testing.TB, permits int, opts ...shared.Option) (*shared.Semaphore, string) {
	t.Helper()
	name := uniqueName(t)
	opts = append(platformOpts(t), opts...)
	s, err := shared.Open(name, permits, opts...)
	if err != nil {
		t.Fatalf("Open(%q, %d) = %v", name, permits, err)
	}
	t.Cleanup(func() {
		s.Detach()
		shared.Remove(name, opts...)
	})
	return s, name
}

// attachTo opens another handle on the semaphore called name, detached
// when the test ends.
func attachTo(t testing.TB, name string, opts ...shared.Option) *shared.Semaphore {
	t.Helper()
	opts = append(platformOpts(t), opts...)
	s, err := shared.OpenExisting(name, opts...)
	if err != nil {
		t.Fatalf("OpenExisting(%q) = %v", name, err)
	}
	t.Cleanup(func() { s.Detach() })
	return s
}

// watchdog fails the test with a goroutine dump if it runs longer than d.
func watchdog(t testing.TB, d time.Duration) {
	t.Helper()
	timer := time.AfterFunc(d, func() {
		buf := make([]byte, 1<<20)
		buf = buf[:runtimeStack(buf)]
		panic(fmt.Sprintf("%s: watchdog: still running after %v\n%s", t.Name(), d, buf))
	})
	t.Cleanup(func() { timer.Stop() })
}

func runtimeStack(buf []byte) int { return runtime.Stack(buf, true) }

// waitFor polls cond until it holds, failing the test after 10 s.
func waitFor(t testing.TB, cond func() bool) {
	t.Helper()
	waitForWithin(t, 10*time.Second, cond)
}

// waitForWithin polls cond until it holds, failing the test after d.
func waitForWithin(t testing.TB, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not reached within %v", d)
		}
		time.Sleep(time.Millisecond)
	}
}
