package iouring_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	iouring "github.com/compio-sync/gosync/backend-iouring"
	"github.com/compio-sync/gosync/core"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// newBackend returns a Backend closed at the end of the test, with no Go
// phase (WithGoWait(0)) unless opts set one: most tests here are about the
// kernel wait, which the default Go phase would put off for a millisecond.
// It skips the test only when New reports ErrUnsupported (with New's
// reason).
func newBackend(t testing.TB, opts ...iouring.Option) *iouring.Backend {
	t.Helper()
	return newBackendWith(t, append([]iouring.Option{iouring.WithGoWait(0)}, opts...)...)
}

// newBackendWith is newBackend with exactly opts (so the defaults apply).
func newBackendWith(t testing.TB, opts ...iouring.Option) *iouring.Backend {
	t.Helper()
	b, err := iouring.New(opts...)
	if errors.Is(err, errors.ErrUnsupported) {
		t.Skipf("io_uring futex ops unavailable here: %v", err)
	}
	if err != nil {
		t.Fatalf("iouring.New() = %v", err)
	}
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Errorf("Close() = %v", err)
		}
	})
	return b
}

// watchdog turns a hang into a failure with every goroutine's stack. Noisy
// shared machines make wall-clock limits meaningless, so the limit is long
// and only catches real deadlocks.
func watchdog(t testing.TB, d time.Duration) {
	timer := time.AfterFunc(d, func() {
		buf := make([]byte, 1<<22)
		n := runtime.Stack(buf, true)
		fmt.Fprintf(os.Stderr, "%s: watchdog: no progress after %v; goroutines:\n%s\n", t.Name(), d, buf[:n])
		panic(t.Name() + ": watchdog fired (hang)")
	})
	t.Cleanup(func() { timer.Stop() })
}

// waitFor polls cond (yielding, then sleeping briefly) until it holds; the
// watchdog bounds it.
func waitFor(cond func() bool) {
	for i := 0; !cond(); i++ {
		if i < 100 {
			runtime.Gosched()
		} else {
			time.Sleep(time.Millisecond)
		}
	}
}

// osThreads returns the Threads: count from /proc/self/status.
func osThreads(t testing.TB) int {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "Threads:"); ok {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatal("no Threads: line in /proc/self/status")
	return 0
}

// parkAll starts n goroutines, each parking a new Parker of b; each Park's
// result arrives on errc.
func parkAll(b *iouring.Backend, n int) (parkers []core.Parker, errc <-chan error) {
	parkers = make([]core.Parker, n)
	c := make(chan error, n)
	for i := range parkers {
		parkers[i] = b.NewParker()
		go func() { c <- parkers[i].Park(context.Background()) }()
	}
	return parkers, c
}

// unparkAll unparks every parker and fails the test unless each of the
// Parks that parkAll started returns nil.
func unparkAll(t testing.TB, parkers []core.Parker, errc <-chan error) {
	t.Helper()
	for _, p := range parkers {
		p.Unpark()
	}
	for i := range parkers {
		if err := <-errc; err != nil {
			t.Fatalf("Park %d = %v, want nil", i, err)
		}
	}
}
