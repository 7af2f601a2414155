package adaptive_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/compio-sync/gosync/adaptive"
	"github.com/compio-sync/gosync/core"
	"github.com/compio-sync/gosync/shared"
)

// These compile only if New infers the semaphore and permit types from the
// semaphore alone, with no adapter. The *fleet.Semaphore check lives in the
// benchmarks module, which may depend on etcd; this module may not.
var (
	_ = func(s *core.Semaphore) *adaptive.Limiter { return adaptive.New(s, adaptive.Vegas()) }
	_ = func(s *shared.Semaphore) *adaptive.Limiter { return adaptive.New(s, adaptive.Vegas()) }
)

// TestNewSteersCoreAndShared acquires and ends a Token through a Limiter
// over each in-process kind of semaphore and checks that the limit is the
// semaphore's maximum and the permits come back.
func TestNewSteersCoreAndShared(t *testing.T) {
	t.Run("core", func(t *testing.T) {
		roundTrip(t, newSem(1))
	})
	t.Run("shared", func(t *testing.T) {
		sem, err := shared.Open("adaptive-test", 1, shared.WithDir(t.TempDir()))
		if errors.Is(err, errors.ErrUnsupported) {
			t.Skipf("shared.Open: %v", err)
		}
		if err != nil {
			t.Fatal(err)
		}
		defer sem.Detach()
		roundTrip(t, sem)
		msg := mustPanic(t, "WithMaxQueue over a shared semaphore", func() {
			adaptive.New(sem, adaptive.Fixed(1), adaptive.WithMaxQueue(1))
		})
		if !strings.Contains(msg, "*shared.Semaphore") {
			t.Errorf("panic %q does not name the semaphore type", msg)
		}
	})
}

func roundTrip[S adaptive.Semaphore[P], P any](t *testing.T, sem S) {
	t.Helper()
	l := adaptive.New(sem, adaptive.Fixed(3))
	if got := sem.MaxPermits(); got != 3 || l.Limit() != 3 {
		t.Fatalf("after New with Fixed(3): MaxPermits %d, Limit %d, want 3 and 3", got, l.Limit())
	}
	tok, err := l.AcquireN(context.Background(), 2)
	if err != nil {
		t.Fatalf("AcquireN(2) = %v", err)
	}
	if got := sem.InUse(); got != 2 {
		t.Fatalf("InUse after AcquireN(2) = %d, want 2", got)
	}
	tok.Success()
	if got := sem.InUse(); got != 0 {
		t.Fatalf("InUse after Success = %d, want 0", got)
	}
}
