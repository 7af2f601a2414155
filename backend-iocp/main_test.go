package iocp_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if any test leaves a goroutine behind, such as a
// dispatcher a Close did not stop.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
