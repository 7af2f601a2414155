//go:build windows

package iocp_test

import (
	"testing"

	iocp "github.com/compio-sync/gosync/backend-iocp"
	"github.com/compio-sync/gosync/conformance"
	"github.com/compio-sync/gosync/core"
)

// TestConformance runs the shared backend suite against a real completion
// port, one fresh Backend per subtest, closed when the subtest ends.
func TestConformance(t *testing.T) {
	conformance.Run(t, func(t *testing.T) core.Backend {
		b, err := iocp.New()
		if err != nil {
			t.Fatalf("iocp.New() = %v", err)
		}
		t.Cleanup(func() {
			if err := b.Close(); err != nil {
				t.Errorf("Close() = %v, want nil", err)
			}
		})
		return b
	})
}
