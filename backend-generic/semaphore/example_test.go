package semaphore_test

import (
	"context"
	"fmt"

	"github.com/compio-sync/gosync/backend-generic/semaphore"
)

// Example bounds the number of concurrent workers exactly as one would with
// golang.org/x/sync/semaphore: only the import path differs.
func Example() {
	ctx := context.Background()
	const maxWorkers = 4
	sem := semaphore.NewWeighted(maxWorkers)
	results := make([]int, 16)
	for i := range results {
		if err := sem.Acquire(ctx, 1); err != nil {
			panic(err)
		}
		go func() {
			defer sem.Release(1)
			results[i] = i * i
		}()
	}
	// Acquiring the whole weight waits for every worker to finish.
	if err := sem.Acquire(ctx, maxWorkers); err != nil {
		panic(err)
	}
	fmt.Println(results[15])
	// Output: 225
}
