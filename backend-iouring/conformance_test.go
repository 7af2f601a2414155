//go:build linux

package iouring_test

import (
	"testing"
	"time"

	iouring "github.com/compio-sync/gosync/backend-iouring"
	"github.com/compio-sync/gosync/conformance"
	"github.com/compio-sync/gosync/core"
)

// TestConformance runs the shared backend suite unchanged against iouring
// as users get it (the default Go phase before the kernel wait), against a
// Go phase so short that most waits move to the kernel mid-wait, and with no
// Go phase at all. The constructors skip only when New reports that this
// host cannot run the backend, and check that Close succeeds.
func TestConformance(t *testing.T) {
	conformance.Run(t, func(t *testing.T) core.Backend { return newBackendWith(t) })
}

func TestConformanceShortGoWait(t *testing.T) {
	conformance.Run(t, func(t *testing.T) core.Backend { return newBackendWith(t, iouring.WithGoWait(20*time.Microsecond)) })
}

func TestConformanceKernelOnly(t *testing.T) {
	conformance.Run(t, func(t *testing.T) core.Backend { return newBackend(t) })
}
