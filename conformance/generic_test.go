package conformance_test

import (
	"testing"

	generic "github.com/compio-sync/gosync/backend-generic"
	"github.com/compio-sync/gosync/conformance"
	"github.com/compio-sync/gosync/core"
)

// TestGeneric runs the suite against the pure-Go backend.
func TestGeneric(t *testing.T) {
	conformance.Run(t, func(*testing.T) core.Backend { return generic.New() })
}
