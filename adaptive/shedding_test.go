package adaptive_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/compio-sync/gosync/adaptive"
	"github.com/compio-sync/gosync/core"
)

// enteringSem is a core.Semaphore whose first pause callers of AcquireN
// stop on their way in, before core sees them, until released: goroutines
// that a scheduler preempted inside the Limiter's Acquire, between the
// Limiter counting them as asking and the semaphore granting them.
type enteringSem struct {
	*core.Semaphore
	mu      sync.Mutex
	pause   int
	inside  chan struct{}
	release chan struct{}
}

func (s *enteringSem) AcquireN(ctx context.Context, n int) (core.Permit, error) {
	s.mu.Lock()
	stop := s.pause > 0
	if stop {
		s.pause--
	}
	s.mu.Unlock()
	if stop {
		s.inside <- struct{}{}
		<-s.release
	}
	return s.Semaphore.AcquireN(ctx, n)
}

// TestDeadlineSheddingCountsOnlyWhatExceedsTheLimit: callers on their way
// into the semaphore are not a queue while the limit has room for them and
// for the new one, so an Acquire with a near deadline is granted, not
// shed (counted as queued ahead, with 64 permits free and 8 callers
// entering, an Acquire due within the service time would be refused).
// When they do exceed the limit, the excess is what must drain first.
func TestDeadlineSheddingCountsOnlyWhatExceedsTheLimit(t *testing.T) {
	const entering = 8
	sem := &enteringSem{Semaphore: newSem(64), inside: make(chan struct{}), release: make(chan struct{})}
	var releaseOnce sync.Once
	letIn := func() { releaseOnce.Do(func() { close(sem.release) }) }
	t.Cleanup(letIn) // a failed check must not strand the entering callers
	clock := newFakeClock()
	l := adaptive.New(sem, adaptive.Fixed(64), adaptive.WithDeadlineShedding(), adaptive.WithClock(clock.Now))
	bg := context.Background()

	setServiceTime(t, l, clock, 6400) // 64 permits come back per 6400, 1 per 100

	sem.mu.Lock()
	sem.pause = entering
	sem.mu.Unlock()
	wg := acquireAndIgnore(t, l, entering, "entering")
	within(t, 10*time.Second, "the callers to enter", func() {
		for range entering {
			<-sem.inside
		}
	})
	if q := l.Queued(); q != entering {
		t.Fatalf("Queued with %d callers entering = %d, want %d", entering, q, entering)
	}
	// 64 free, 8 entering, 1 more: room for all. Due in 10, far inside the
	// service time: it must not wait, so it must not be shed. (Counting
	// the 8 as queued ahead, the estimate was 9 × 6400 / 64 = 900.)
	ctx, cancel := context.WithDeadline(bg, clock.Now().Add(10))
	defer cancel()
	tok, err := l.Acquire(ctx)
	if err != nil {
		t.Fatalf("Acquire due in 10 with the limit's room for it and the %d entering = %v, want success", entering, err)
	}
	tok.Ignore()

	// Now fill the limit: 56 held and 8 entering leave no room, so a new
	// Acquire waits for 1 permit to come back: 100, and one due in 50 is
	// shed.
	var held []adaptive.Token
	for range 64 - entering {
		tok, err := l.Acquire(bg)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, tok)
	}
	short, cancel2 := context.WithDeadline(bg, clock.Now().Add(50))
	defer cancel2()
	if tok, err := l.Acquire(short); !errors.Is(err, adaptive.ErrWouldMissDeadline) {
		t.Errorf("Acquire due in 50 with the limit full (56 held, %d entering) = %v, want ErrWouldMissDeadline", entering, err)
		if err == nil {
			tok.Ignore()
		}
	}
	// Due in 150, after the estimate of 100: not shed. (It is granted at
	// once: core has the 8 permits the entering callers have not taken.)
	long, cancel3 := context.WithDeadline(bg, clock.Now().Add(150))
	defer cancel3()
	if tok, err := l.Acquire(long); err != nil {
		t.Errorf("Acquire due in 150 with an estimated wait of 100 = %v, want success", err)
	} else {
		tok.Ignore()
	}
	letIn()
	wg.Wait()
	for _, tok := range held {
		tok.Ignore()
	}
	if in, w := sem.InUse(), sem.Waiting(); in != 0 || w != 0 {
		t.Errorf("at the end: InUse %d, Waiting %d, want 0 and 0", in, w)
	}
}

// TestDeadlineSheddingSeesPermitsHeldOutside: over a core.Semaphore the
// estimate counts every permit held, not only the Limiter's Tokens, so a
// limit held by another user of the semaphore with this Limiter's callers
// queued behind it sheds an Acquire that cannot wait that long, as
// WithDeadlineShedding documents.
func TestDeadlineSheddingSeesPermitsHeldOutside(t *testing.T) {
	sem := newSem(10)
	clock := newFakeClock()
	l := adaptive.New(sem, adaptive.Fixed(10), adaptive.WithDeadlineShedding(), adaptive.WithClock(clock.Now))
	bg := context.Background()
	setServiceTime(t, l, clock, 1000)

	outside, err := sem.AcquireN(bg, 10) // another user of the semaphore holds the limit
	if err != nil {
		t.Fatal(err)
	}
	wg := acquireAndIgnore(t, l, 5, "queued")
	within(t, 10*time.Second, "5 callers to queue", func() {
		for sem.Waiting() != 5 {
			time.Sleep(time.Millisecond)
		}
	})
	// 10 held, 5 asked ahead, 1 more: 6 must come back, at 10 per 1000.
	// (The deadline is on the fake clock, an hour ahead of the real one:
	// an Acquire that is not shed queues, and within names the hang.)
	ctx, cancel := context.WithDeadline(bg, clock.Now().Add(1))
	defer cancel()
	t.Cleanup(func() { outside.Release() })
	within(t, 10*time.Second, "the Acquire due in 1 behind a full limit held outside the Limiter (shed at once, or queued)", func() {
		if tok, err := l.Acquire(ctx); !errors.Is(err, adaptive.ErrWouldMissDeadline) {
			t.Errorf("Acquire due in 1 behind a full limit held outside the Limiter and 5 queued = %v, want ErrWouldMissDeadline", err)
			if err == nil {
				tok.Ignore()
			}
		}
	})
	outside.Release()
	wg.Wait()
	if in, w := sem.InUse(), sem.Waiting(); in != 0 || w != 0 {
		t.Errorf("at the end: InUse %d, Waiting %d, want 0 and 0", in, w)
	}
}

// setServiceTime gives l a service time of d: one Token, held for d on
// clock, ended with Success (the first sample sets the smoothed RTT).
func setServiceTime(t *testing.T, l *adaptive.Limiter, clock *fakeClock, d time.Duration) {
	t.Helper()
	tok, err := l.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(d)
	tok.Success()
}

// acquireAndIgnore starts k goroutines that each Acquire from l with no
// deadline and end the Token with Ignore, reporting a failed Acquire as
// what ("entering", "queued"); Wait on the result for them.
func acquireAndIgnore(t *testing.T, l *adaptive.Limiter, k int, what string) *sync.WaitGroup {
	var wg sync.WaitGroup
	for range k {
		wg.Go(func() {
			tok, err := l.Acquire(context.Background())
			if err != nil {
				t.Errorf("%s Acquire = %v", what, err)
				return
			}
			tok.Ignore()
		})
	}
	return &wg
}
