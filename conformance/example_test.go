package conformance_test

import (
	"context"
	"fmt"
	"runtime"
	"testing"

	"github.com/compio-sync/gosync/conformance"
	"github.com/compio-sync/gosync/core"
)

// onechan is a third party's backend, complete: a Parker whose token is the
// one element of a buffered channel.
type onechan struct{}

func (onechan) Name() string           { return "onechan" }
func (onechan) NewParker() core.Parker { return &onechanParker{make(chan struct{}, 1)} }

type onechanParker struct{ token chan struct{} }

// Park consumes the token, or returns ctx.Err() and leaves a later token.
func (p *onechanParker) Park(ctx context.Context) error {
	select {
	case <-p.token:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Unpark leaves the token; a second one while it is pending coalesces.
func (p *onechanParker) Unpark() {
	select {
	case p.token <- struct{}{}:
	default:
	}
}

// TestOnechanConformance is the whole of the backend's conformance test: in
// the backend's own repository it is its _test.go file.
func TestOnechanConformance(t *testing.T) {
	conformance.Run(t, func(t *testing.T) core.Backend { return onechan{} })
}

// Example shows the backend above in use; TestOnechanConformance, next to
// it, is the test that certifies it with conformance.Run.
func Example() {
	sem := core.NewSemaphore(1, onechan{})
	p, _ := sem.Acquire(context.Background())
	waiter := make(chan error)
	go func() {
		q, err := sem.Acquire(context.Background()) // parks on an onechan Parker
		q.Release()
		waiter <- err
	}()
	for sem.Waiting() == 0 { // wait until it has queued
		runtime.Gosched()
	}
	p.Release() // hands the permit to the waiter and Unparks it
	fmt.Println("waiter:", <-waiter, "in use:", sem.InUse())
	// Output: waiter: <nil> in use: 0
}
