package generic_test

import (
	"context"
	"testing"

	generic "github.com/compio-sync/gosync/backend-generic"
)

// TestParkUnparkCycleAllocatesNothing guards the backend's speed claim: once
// a Parker exists, a token round trip allocates nothing, with a context that
// can never end and with a cancellable one.
func TestParkUnparkCycleAllocatesNothing(t *testing.T) {
	p := generic.New().NewParker()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ctx.Done() // the context allocates its channel once, on first use
	for _, c := range []struct {
		name string
		ctx  context.Context
	}{{"Background", context.Background()}, {"WithCancel", ctx}} {
		allocs := testing.AllocsPerRun(1000, func() {
			p.Unpark()
			if err := p.Park(c.ctx); err != nil {
				t.Fatalf("Park(%s) after Unpark = %v, want nil", c.name, err)
			}
		})
		if allocs != 0 {
			t.Errorf("Unpark+Park(%s) allocations = %v, want 0", c.name, allocs)
		}
	}
}
