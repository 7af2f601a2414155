package adaptive_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/compio-sync/gosync/adaptive"
	generic "github.com/compio-sync/gosync/backend-generic"
	"github.com/compio-sync/gosync/core"
)

// Example puts an AIMD limiter in front of a downstream call: each call
// holds a Token, and how it ends tells the limiter about the downstream.
func Example() {
	sem := core.NewSemaphore(1, generic.New())
	l := adaptive.New(sem, adaptive.AIMD(), adaptive.WithLimits(1, 50, 10),
		adaptive.WithOnLimitChange(func(old, new int) { fmt.Printf("limit %d -> %d\n", old, new) }))
	fmt.Println("semaphore maximum:", sem.MaxPermits())

	call := func(ctx context.Context, overloaded bool) error {
		tok, err := l.Acquire(ctx)
		if err != nil {
			return err // holds nothing
		}
		if overloaded { // say, a timeout or a 503 from downstream
			tok.Drop()
			return errors.New("downstream overloaded")
		}
		tok.Success()
		return nil
	}
	ctx := context.Background()
	_ = call(ctx, false) // 1 in flight of 10: not using the limit, no change
	fmt.Println(call(ctx, true))
	fmt.Println("limit:", l.Limit(), "semaphore maximum:", sem.MaxPermits(), "in flight:", l.Inflight())
	st := l.Stats()
	fmt.Println("succeeded:", st.Count(adaptive.Succeeded), "dropped:", st.Count(adaptive.Dropped))
	// Output:
	// semaphore maximum: 10
	// limit 10 -> 9
	// downstream overloaded
	// limit: 9 semaphore maximum: 9 in flight: 0
	// succeeded: 1 dropped: 1
}

// ExampleGroup runs weighted jobs on 3 permits; the first failure cancels
// the jobs still running or queued, and Wait returns it.
func ExampleGroup() {
	sem := core.NewSemaphore(3, generic.New())
	g, ctx := adaptive.NewGroup(context.Background(), sem)
	g.Go(2, func(ctx context.Context) error {
		<-ctx.Done() // a long job, stopped by the failure
		return ctx.Err()
	})
	g.Go(1, func(context.Context) error { return errors.New("job 2 failed") })
	g.Go(3, func(context.Context) error { // queued behind the first: never runs
		fmt.Println("job 3 ran")
		return nil
	})
	fmt.Println("Wait:", g.Wait())
	fmt.Println("group context:", ctx.Err(), "in use:", sem.InUse())
	// Output:
	// Wait: job 2 failed
	// group context: context canceled in use: 0
}
