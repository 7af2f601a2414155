package generic_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	generic "github.com/compio-sync/gosync/backend-generic"
	"github.com/compio-sync/gosync/core"
)

// Example_startGate holds a fleet of workers at a start gate until the
// shared setup is done, then releases them all at once with Event.Set. A
// worker whose ctx ends while it waits gives up instead of hanging, and
// workers that arrive after the gate opened go straight through.
func Example_startGate() {
	gate := core.NewEvent(generic.New())
	ctx := context.Background()

	var config string // written before Set, read after Wait: Set orders them
	var mu sync.Mutex
	var started []int
	var wg sync.WaitGroup
	for id := range 4 {
		wg.Go(func() {
			if err := gate.Wait(ctx); err != nil {
				fmt.Println("worker", id, "gave up:", err)
				return
			}
			mu.Lock()
			started = append(started, id)
			mu.Unlock()
			_ = config // ... work with the shared setup ...
		})
	}
	for gate.Waiting() < 4 { // only so the output is deterministic
		time.Sleep(time.Millisecond)
	}
	fmt.Println("waiting at the gate:", gate.Waiting())

	config = "loaded"
	gate.Set() // opens the gate for everyone, now and later
	wg.Wait()
	slices.Sort(started)
	fmt.Println("started:", started)
	fmt.Println("late arrival:", gate.Wait(ctx))

	// Output:
	// waiting at the gate: 4
	// started: [0 1 2 3]
	// late arrival: <nil>
}

// Example_waitForStateChange waits for a job to reach a state with a Cond:
// the state lives under a mutex, the worker changes it and broadcasts, and
// the waiters recheck it in a loop. Unlike sync.Cond, Wait takes a ctx, so a
// waiter with a deadline gives up (holding the mutex again, as in every
// outcome) instead of waiting forever.
func Example_waitForStateChange() {
	var mu sync.Mutex
	state := "queued"
	changed := core.NewCond(&mu, generic.New())

	waitFor := func(ctx context.Context, want string) error {
		mu.Lock()
		defer mu.Unlock()
		for state != want {
			if err := changed.Wait(ctx); err != nil {
				return fmt.Errorf("waiting for %q in state %q: %w", want, state, err)
			}
		}
		return nil
	}

	done := make(chan error, 1)
	go func() { done <- waitFor(context.Background(), "done") }()

	for _, s := range []string{"running", "done"} {
		mu.Lock()
		state = s
		mu.Unlock()
		changed.Broadcast()
	}
	fmt.Println("job finished:", <-done)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	fmt.Println(waitFor(ctx, "archived"))

	// Output:
	// job finished: <nil>
	// waiting for "archived" in state "done": context deadline exceeded
}
