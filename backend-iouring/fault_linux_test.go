package iouring_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	iouring "github.com/compio-sync/gosync/backend-iouring"
)

// TestFullSQWithThousandsOfWaitersLosesNothing parks 3000 goroutines
// through a 2-entry SQ and an 8-entry CQ: submitters wait for SQ room and
// the wakes overflow the CQ many times over, yet every Park returns nil.
func TestFullSQWithThousandsOfWaitersLosesNothing(t *testing.T) {
	watchdog(t, 3*time.Minute)
	b := newBackend(t, iouring.WithRingSize(2, 8))
	const n = 3000
	parkers, errc := parkAll(b, n)
	waitFor(func() bool { return iouring.InFlight(b) == n })
	unparkAll(t, parkers, errc)
}

// TestCloseUnderLoadReturnsEveryParkedGoroutine closes the backend while
// goroutines are parked and others are cycling through Park/Unpark: every
// goroutine returns, and every error wraps ErrClosed.
func TestCloseUnderLoadReturnsEveryParkedGoroutine(t *testing.T) {
	watchdog(t, 3*time.Minute)
	b, err := iouring.New(iouring.WithRingSize(8, 16))
	if errors.Is(err, errors.ErrUnsupported) {
		t.Skipf("io_uring futex ops unavailable here: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	const parked, cyclers = 2000, 8
	var wg sync.WaitGroup
	var closedErrs, nils atomic.Int64
	check := func(err error) bool {
		switch {
		case err == nil:
			nils.Add(1)
			return true
		case errors.Is(err, iouring.ErrClosed):
			closedErrs.Add(1)
			return false
		default:
			t.Errorf("Park = %v, want nil or an error wrapping ErrClosed", err)
			return false
		}
	}
	for range parked {
		wg.Add(1)
		go func() {
			defer wg.Done()
			check(b.NewParker().Park(context.Background()))
		}()
	}
	for range cyclers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, c := b.NewParker(), b.NewParker()
			for {
				a.Unpark()
				if !check(a.Park(context.Background())) {
					return
				}
				go c.Unpark()
				if !check(c.Park(context.Background())) {
					return
				}
			}
		}()
	}
	waitFor(func() bool { return iouring.InFlight(b) >= parked })
	if err := b.Close(); err != nil {
		t.Fatalf("Close() = %v", err)
	}
	wg.Wait()
	if got := closedErrs.Load(); got < parked {
		t.Fatalf("%d Parks failed with ErrClosed, want at least the %d parked ones", got, parked)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("second Close() = %v, want nil", err)
	}
}

func TestParkAfterCloseFailsWithErrClosed(t *testing.T) {
	watchdog(t, time.Minute)
	b := newBackend(t)
	p := b.NewParker()
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := p.Park(context.Background()); !errors.Is(err, iouring.ErrClosed) {
		t.Fatalf("Park after Close = %v, want an error wrapping ErrClosed", err)
	}
	if err := b.NewParker().Park(context.Background()); !errors.Is(err, iouring.ErrClosed) {
		t.Fatalf("Park on a Parker made after Close = %v, want ErrClosed", err)
	}
	p.Unpark() // must not panic or block on a closed backend
	if err := b.Close(); err != nil {
		t.Fatalf("second Close() = %v, want nil", err)
	}
}

// TestUnexpectedWaitResultIsAnError submits waits with futex2 flags 0 (an
// 8-bit futex, which the kernel rejects with EINVAL — the original crate's
// bug, which made every wait fail silently and spin). Park must report it.
func TestUnexpectedWaitResultIsAnError(t *testing.T) {
	watchdog(t, time.Minute)
	b := newBackend(t, iouring.WithFutexFlags(0))
	err := b.NewParker().Park(context.Background())
	if err == nil {
		t.Fatal("Park with invalid futex flags = nil, want an error")
	}
	if !errors.Is(err, syscall.EINVAL) && !strings.Contains(err.Error(), "invalid argument") {
		t.Fatalf("Park with invalid futex flags = %v, want it to name EINVAL", err)
	}
}

func TestNewExplainsWhyIoUringIsUnsupported(t *testing.T) {
	dir := t.TempDir()
	sysctl := func(v string) string {
		path := filepath.Join(dir, "io_uring_disabled_"+v)
		if err := os.WriteFile(path, []byte(v+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	for _, tc := range []struct {
		name string
		opts []iouring.Option
		want string
	}{
		{"kernel too old", []iouring.Option{iouring.WithFakeProbeMissingFutex()}, "Linux 6.7"},
		{"disabled by sysctl", []iouring.Option{iouring.WithFakeSetupError(syscall.EPERM), iouring.WithSysctlPath(sysctl("2"))}, "io_uring_disabled=2"},
		{"restricted by sysctl", []iouring.Option{iouring.WithFakeSetupError(syscall.EPERM), iouring.WithSysctlPath(sysctl("1"))}, "io_uring_group"},
		{"sandbox EPERM", []iouring.Option{iouring.WithFakeSetupError(syscall.EPERM), iouring.WithSysctlPath(sysctl("0"))}, "sandbox"},
		{"no io_uring", []iouring.Option{iouring.WithFakeSetupError(syscall.ENOSYS)}, "not implemented"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := iouring.New(tc.opts...)
			if err == nil {
				b.Close()
				t.Fatal("New() = nil error, want ErrUnsupported")
			}
			if !errors.Is(err, errors.ErrUnsupported) {
				t.Fatalf("New() = %v, want an error satisfying errors.Is(err, errors.ErrUnsupported)", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New() = %q, want it to mention %q", err, tc.want)
			}
		})
	}
}

// TestRealNewIsSupportedHere documents the host: on a Linux 6.7+ kernel
// with io_uring enabled New must succeed (the tests above skip otherwise).
func TestRealNewIsSupportedHere(t *testing.T) {
	b := newBackend(t)
	if b == nil {
		t.Fatal("New returned a nil Backend with a nil error")
	}
}
