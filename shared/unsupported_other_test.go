//go:build !linux && !windows

package shared_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/compio-sync/gosync/shared"
)

// TestUnsupportedSaysSo: off Linux every entry point fails with an error
// satisfying errors.Is(err, errors.ErrUnsupported), never a hang or crash.
func TestUnsupportedSaysSo(t *testing.T) {
	if _, err := shared.Open("x", 1); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("Open = %v, want ErrUnsupported", err)
	}
	if _, err := shared.OpenExisting("x"); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("OpenExisting = %v, want ErrUnsupported", err)
	}
	var w atomic.Uint32
	if err := (shared.FutexWaiter{}).Wait(context.Background(), &w, 0); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("FutexWaiter.Wait = %v, want ErrUnsupported", err)
	}
}
