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

// Example_memoryBudget takes a memory budget for a whole batch at once and
// returns it in parts with Permit.Split as each item is written, so that
// other work can start before the batch ends. TryAcquireUpTo takes what is
// free without blocking, for work that can run smaller.
func Example_memoryBudget() {
	const MiB = 1 << 20
	mem := core.NewSemaphore(64*MiB, generic.New())
	ctx := context.Background()

	items := []int{16 * MiB, 8 * MiB, 24 * MiB} // sizes of a batch
	batch, err := mem.AcquireN(ctx, 48*MiB)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, size := range items {
		part := batch.Split(size) // this item's share of the budget
		// ... write the item ...
		part.Release() // its memory is free for others at once
		fmt.Println("wrote", size/MiB, "MiB; in use:", mem.InUse()/MiB, "MiB")
	}
	batch.Release() // nothing left: Split moved every permit out

	// A background compaction takes whatever is free, up to 32 MiB.
	big, _ := mem.AcquireN(ctx, 40*MiB)
	scratch := mem.TryAcquireUpTo(32 * MiB)
	fmt.Println("compaction got", scratch.Count()/MiB, "MiB")
	scratch.Release()
	big.Release()

	// Output:
	// wrote 16 MiB; in use: 32 MiB
	// wrote 8 MiB; in use: 24 MiB
	// wrote 24 MiB; in use: 0 MiB
	// compaction got 24 MiB
}
