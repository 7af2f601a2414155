//go:build linux

package iouring_test

import (
	"testing"

	"github.com/compio-sync/gosync/conformance"
	"github.com/compio-sync/gosync/core"
)

// TestConformance runs the shared backend suite unchanged against iouring.
// newBackend skips only when New reports that this host cannot run the
// backend, and checks that Close succeeds.
func TestConformance(t *testing.T) {
	conformance.Run(t, func(t *testing.T) core.Backend { return newBackend(t) })
}
