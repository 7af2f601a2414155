//go:build windows

package iocp_test

import (
	"testing"

	"github.com/compio-sync/gosync/conformance"
	"github.com/compio-sync/gosync/core"
)

// TestConformance runs the shared backend suite against a real completion
// port, one fresh Backend per subtest, closed when the subtest ends.
func TestConformance(t *testing.T) {
	conformance.Run(t, func(t *testing.T) core.Backend { return newBackend(t) })
}
