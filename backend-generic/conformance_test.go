package generic_test

import (
	"testing"

	generic "github.com/compio-sync/gosync/backend-generic"
	"github.com/compio-sync/gosync/conformance"
	"github.com/compio-sync/gosync/core"
)

// TestConformance is all the testing a backend needs for the semantics:
// conformance.Run checks the Parker contract and every Semaphore behaviour
// over this backend.
func TestConformance(t *testing.T) {
	conformance.Run(t, func(t *testing.T) core.Backend { return generic.New() })
}
