package generic_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"

	generic "github.com/compio-sync/gosync/backend-generic"
	"github.com/compio-sync/gosync/core"
)

// Example_loadShedding bounds both the work in progress (2 at a time) and
// the queue in front of it (1 waiting): an overloaded service refuses a
// request at once, the way an HTTP handler answers 503, instead of letting
// the queue and its latency grow without bound.
func Example_loadShedding() {
	sem := core.NewSemaphore(2, generic.New(), core.WithMaxWaiters(1))
	ctx := context.Background()

	handle := func(req string) {
		p, err := sem.Acquire(ctx)
		if errors.Is(err, core.ErrQueueFull) {
			fmt.Println(req+": shed (503)", "in use:", sem.InUse(), "queued:", sem.Waiting())
			return
		}
		if err != nil {
			fmt.Println(req+":", err)
			return
		}
		defer p.Release()
		// ... serve the request ...
	}

	// Two requests in progress hold both permits.
	a, _ := sem.Acquire(ctx)
	b, _ := sem.Acquire(ctx)

	// A third queues: the queue has room for one.
	served := make(chan struct{})
	go func() {
		handle("c")
		close(served)
	}()
	for sem.Waiting() == 0 {
		runtime.Gosched()
	}

	// A fourth is shed at once: two in progress, one queued.
	handle("d")

	a.Release() // hands the permit to c
	<-served
	b.Release()
	fmt.Println("in use:", sem.InUse(), "queued:", sem.Waiting())

	// Output:
	// d: shed (503) in use: 2 queued: 1
	// in use: 0 queued: 0
}
