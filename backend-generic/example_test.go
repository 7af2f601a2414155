package generic_test

import (
	"context"
	"fmt"
	"sync"

	generic "github.com/compio-sync/gosync/backend-generic"
	"github.com/compio-sync/gosync/core"
)

// Example_quickstart is the README's quickstart: bound concurrent work to 3
// at a time with a strictly FIFO semaphore on the pure-Go backend.
func Example_quickstart() {
	sem := core.NewSemaphore(3, generic.New())
	ctx := context.Background()

	var wg sync.WaitGroup
	for i := range 10 {
		p, err := sem.Acquire(ctx) // blocks while 3 are running
		if err != nil {
			fmt.Println("acquire:", err)
			return
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer p.Release() // exactly once, even if called again
			_ = i             // ... bounded work here ...
		}()
	}
	wg.Wait()
	fmt.Println("in use:", sem.InUse(), "available:", sem.AvailablePermits())

	// Weighted acquire, with a deadline, of a resource such as memory.
	mem := core.NewSemaphore(64<<20, generic.New()) // 64 MiB budget
	p, err := mem.AcquireN(ctx, 48<<20)
	fmt.Println(p.Count()>>20, "MiB", err)
	_, ok := mem.TryAcquireN(32 << 20) // does not fit next to 48 MiB
	fmt.Println("second 32 MiB fits:", ok)
	p.Release()

	// Output:
	// in use: 0 available: 3
	// 48 MiB <nil>
	// second 32 MiB fits: false
}
