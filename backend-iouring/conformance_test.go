//go:build linux

package iouring_test

import (
	"errors"
	"testing"

	iouring "github.com/compio-sync/gosync/backend-iouring"
	"github.com/compio-sync/gosync/conformance"
	"github.com/compio-sync/gosync/core"
)

// TestConformance runs the shared backend suite unchanged against iouring.
// It skips only when New reports that this host cannot run the backend.
func TestConformance(t *testing.T) {
	conformance.Run(t, func(t *testing.T) core.Backend {
		b, err := iouring.New()
		if errors.Is(err, errors.ErrUnsupported) {
			t.Skipf("io_uring futex ops unavailable here: %v", err)
		}
		if err != nil {
			t.Fatalf("iouring.New() = %v", err)
		}
		t.Cleanup(func() { b.Close() })
		return b
	})
}
