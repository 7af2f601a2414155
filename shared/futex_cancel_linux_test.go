package shared_test

import (
	"context"
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/compio-sync/gosync/shared"
)

// TestFutexWaiterCancelWakesNobodyElse: ending the ctx of one FutexWaiter
// Wait wakes that Wait only, not every goroutine (in any process)
// sleeping on the same word, such as every waiter for the region lock.
func TestFutexWaiterCancelWakesNobodyElse(t *testing.T) {
	watchdog(t, 30*time.Second)
	var w shared.FutexWaiter
	word := new(atomic.Uint32)
	const sleepers = 8
	var woke atomic.Int64
	var wg sync.WaitGroup
	for range sleepers {
		wg.Go(func() {
			for word.Load() == 0 {
				if err := w.Wait(context.Background(), word, 0); err != nil {
					t.Errorf("Wait = %v", err)
					return
				}
				if word.Load() == 0 {
					woke.Add(1) // woken while the word did not change
				}
			}
		})
	}
	time.Sleep(100 * time.Millisecond) // let them fall asleep
	for range 5 {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Millisecond)
		if err := w.Wait(ctx, word, 0); err != context.DeadlineExceeded {
			t.Errorf("Wait with a 5ms deadline = %v, want DeadlineExceeded", err)
		}
		cancel()
	}
	time.Sleep(20 * time.Millisecond)
	got := woke.Load()
	word.Store(1)
	w.Wake(word, math.MaxInt32)
	wg.Wait()
	if got != 0 {
		t.Errorf("%d wakeups of %d other sleepers on the word while 5 Waits with deadlines ended: a cancellation woke everyone (a herd)", got, sleepers)
	}
}
