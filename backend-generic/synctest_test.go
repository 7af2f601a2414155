package generic_test

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"testing/synctest"
	"time"

	generic "github.com/compio-sync/gosync/backend-generic"
	"github.com/compio-sync/gosync/backend-generic/semaphore"
	"github.com/compio-sync/gosync/core"
)

// TestSynctestFakeTimeDeadline: inside a synctest bubble a waiter parked on
// core+generic is durably blocked (synctest.Wait returns), and its
// context's deadline fires in fake time.
func TestSynctestFakeTimeDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sem := core.NewSemaphore(1, generic.New())
		held, _ := sem.Acquire(context.Background())
		ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
		defer cancel()
		done := make(chan error, 1)
		go func() {
			_, err := sem.Acquire(ctx)
			done <- err
		}()
		synctest.Wait()
		if sem.Waiting() != 1 {
			t.Fatalf("Waiting() = %d after synctest.Wait, want 1", sem.Waiting())
		}
		time.Sleep(time.Hour)
		if err := <-done; !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Acquire after its deadline: %v, want context.DeadlineExceeded", err)
		}
		held.Release()
		if sem.InUse() != 0 {
			t.Fatalf("InUse() = %d, want 0", sem.InUse())
		}
	})
}

// TestSynctestHandoff: a Release inside a bubble hands the permit to the
// parked waiter, and synctest.Wait sees both settle.
func TestSynctestHandoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sem := semaphore.NewWeighted(2)
		if err := sem.Acquire(context.Background(), 2); err != nil {
			t.Fatal(err)
		}
		got := make(chan struct{})
		go func() {
			if err := sem.Acquire(context.Background(), 1); err != nil {
				panic(err)
			}
			close(got)
		}()
		synctest.Wait()
		select {
		case <-got:
			t.Fatal("the waiter was granted before the Release")
		default:
		}
		sem.Release(1)
		synctest.Wait()
		select {
		case <-got:
		default:
			t.Fatal("the waiter was not granted after the Release and synctest.Wait")
		}
		sem.Release(2)
	})
}

// sharedSem and sharedEvent are created outside any bubble and used in
// several, as package-level ones are by a test suite.
var (
	sharedSem   = core.NewSemaphore(1, generic.New())
	sharedEvent = core.NewEvent(generic.New())
)

// parkOnce parks one waiter on sharedSem and sharedEvent and releases it,
// which leaves their pools holding a Parker made where the caller runs.
func parkOnce(t *testing.T) {
	held, _ := sharedSem.Acquire(context.Background())
	done := make(chan error, 2)
	go func() {
		p, err := sharedSem.Acquire(context.Background())
		p.Release()
		done <- err
	}()
	go func() { done <- sharedEvent.Wait(context.Background()) }()
	for sharedSem.Waiting() != 1 || sharedEvent.Waiting() != 1 {
		runtime.Gosched()
	}
	held.Release()
	sharedEvent.Set()
	for range 2 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	sharedEvent.Clear()
}

// TestSynctestSemaphoreSharedByBubbles: a Semaphore and an Event used
// outside any bubble and then by one bubble after another, each of which
// parks a waiter: a Parker made in one bubble must not be handed to a
// waiter of the next, or to one outside (operating on a channel of another
// bubble is a fatal error), and a Parker made outside must not be handed to
// a waiter inside (it would not be durably blocked: synctest.Wait would
// hang and the fake clock would stop, so the deadline below never fires).
func TestSynctestSemaphoreSharedByBubbles(t *testing.T) {
	parkOnce(t) // outside: the pools now hold Parkers made outside.
	for i := range 3 {
		synctest.Test(t, func(t *testing.T) {
			parkOnce(t)
			held, _ := sharedSem.Acquire(context.Background())
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			done := make(chan error, 2)
			go func() {
				_, err := sharedSem.Acquire(ctx)
				done <- err
			}()
			go func() { done <- sharedEvent.Wait(ctx) }()
			synctest.Wait()
			time.Sleep(time.Minute)
			for range 2 {
				if err := <-done; !errors.Is(err, context.DeadlineExceeded) {
					t.Fatalf("bubble %d: a wait past its fake-time deadline returned %v, want context.DeadlineExceeded", i, err)
				}
			}
			held.Release()
		})
		parkOnce(t) // outside again, after the bubble.
	}
}
