package conformance

import (
	"context"
	"errors"
	"time"

	"github.com/compio-sync/gosync/core"
)

// blockWindow is how long a Park that must block is watched for a spurious
// return. A correct backend never returns in it, so its length cannot cause
// a false failure; it only bounds how long a broken one gets to show itself.
const blockWindow = 20 * time.Millisecond

// promptBound is how long a Park gets to return after its context ends. It
// is generous: only a Park that ignores its context takes this long.
const promptBound = 5 * time.Second

// parkerTokenTests check tokens, blocking, coalescing and cancellation.
func (s *suite) parkerTokenTests(e0 *env) {
	t := e0.t
	s.run(t, "TokenBeforePark", func(e *env) {
		p := e.parker()
		p.Unpark()
		if err := e.parkWithToken(p); err != nil {
			e.t.Fatalf("Unpark(); Park() = %v, want nil (the token left by Unpark)", err)
		}
	})

	s.run(t, "ParkBlocksWithoutToken", func(e *env) {
		p := e.parker()
		returned := make(chan error, 1)
		go func() { returned <- p.Park(e.ctx) }()
		select {
		case err := <-returned:
			e.t.Fatalf("Park() with no token returned %v within %v, want it to block until Unpark", err, blockWindow)
		case <-time.After(blockWindow):
		}
		p.Unpark()
		if err, ok := recv(e, returned, "Park() after Unpark()"); ok && err != nil {
			e.t.Fatalf("Park() woken by Unpark = %v, want nil", err)
		}
	})

	s.run(t, "CancelReturnsPromptly", func(e *env) {
		p := e.parker()
		ctx, cancel := context.WithCancel(e.ctx)
		returned := make(chan error, 1)
		go func() { returned <- p.Park(ctx) }()
		time.Sleep(blockWindow)
		cancel()
		select {
		case err := <-returned:
			if !errors.Is(err, context.Canceled) {
				e.t.Fatalf("Park(ctx) after cancel() = %v, want %v", err, context.Canceled)
			}
		case <-time.After(promptBound):
			p.Unpark() // let the goroutine go.
			<-returned
			e.t.Fatalf("Park(ctx) still blocked %v after cancel(), want it to return ctx.Err() promptly", promptBound)
		}
	})

	s.run(t, "NoSpuriousReturn", func(e *env) {
		p := e.parker()
		for i := range s.size(200, 50) {
			ctx, cancel := context.WithTimeout(e.ctx, time.Millisecond)
			err := p.Park(ctx)
			cancel()
			if e.ctx.Err() != nil {
				return // the watchdog fired; it reports.
			}
			if !errors.Is(err, context.DeadlineExceeded) {
				e.t.Fatalf("Park(ctx) with no token, iteration %d = %v, want %v (Park returns nil only by consuming a token)", i, err, context.DeadlineExceeded)
			}
		}
	})

	s.run(t, "UnparksCoalesce", func(e *env) {
		p := e.parker()
		for range 3 {
			p.Unpark()
		}
		if err := e.parkWithToken(p); err != nil {
			e.t.Fatalf("Unpark() x3; Park() = %v, want nil", err)
		}
		ctx, cancel := context.WithTimeout(e.ctx, blockWindow)
		defer cancel()
		if err := p.Park(ctx); !errors.Is(err, context.DeadlineExceeded) {
			e.t.Fatalf("Unpark() x3; Park(); Park() = %v, want %v (three Unparks before a Park coalesce into one token)", err, context.DeadlineExceeded)
		}
	})

	s.run(t, "AlreadyDoneContext", func(e *env) {
		p := e.parker()
		ctx, cancel := context.WithCancel(e.ctx)
		cancel()
		if err := p.Park(ctx); !errors.Is(err, context.Canceled) {
			e.t.Fatalf("Park(done ctx) with no token = %v, want %v", err, context.Canceled)
		}
	})

	s.run(t, "CancelLeavesLaterToken", func(e *env) {
		p := e.parker()
		for i := range s.size(100, 30) {
			ctx, cancel := context.WithTimeout(e.ctx, time.Millisecond)
			err := p.Park(ctx)
			cancel()
			if e.ctx.Err() != nil {
				return
			}
			if !errors.Is(err, context.DeadlineExceeded) {
				e.t.Fatalf("iteration %d: Park(ctx) with no token = %v, want %v", i, err, context.DeadlineExceeded)
			}
			p.Unpark()
			if err := e.parkWithToken(p); err != nil {
				e.t.Fatalf("iteration %d: Park(ctx) timed out; Unpark(); Park() = %v, want nil (a token that arrives after a cancelled Park stays for the next one)", i, err)
			}
		}
	})

	s.run(t, "DoneContextWithTokenIsOneOutcome", func(e *env) {
		p := e.parker()
		done, cancel := context.WithCancel(e.ctx)
		cancel()
		for i := range s.size(100, 30) {
			p.Unpark()
			err := p.Park(done)
			switch {
			case err == nil:
				// The token was consumed: the next Park must block.
				ctx, cancel := context.WithTimeout(e.ctx, time.Millisecond)
				err2 := p.Park(ctx)
				cancel()
				if e.ctx.Err() != nil {
					return
				}
				if !errors.Is(err2, context.DeadlineExceeded) {
					e.t.Fatalf("iteration %d: Unpark(); Park(done ctx) = nil; Park(ctx) = %v, want %v (nil consumed the only token)", i, err2, context.DeadlineExceeded)
				}
			case errors.Is(err, context.Canceled):
				// The token was left: the next Park must consume it.
				if err2 := e.parkWithToken(p); err2 != nil {
					e.t.Fatalf("iteration %d: Unpark(); Park(done ctx) = %v; Park() = %v, want nil (ctx.Err() leaves the token)", i, err, err2)
				}
			default:
				e.t.Fatalf("iteration %d: Unpark(); Park(done ctx) = %v, want nil or %v", i, err, context.Canceled)
			}
		}
	})
}

// parkWithToken parks on p, which has a token pending (or is about to get
// one), so a correct backend returns nil at once. It gives up after the
// bound (a lost token) and returns the context's error instead of hanging
// until the watchdog.
func (e *env) parkWithToken(p core.Parker) error {
	ctx, cancel := context.WithTimeout(e.ctx, e.bound())
	defer cancel()
	return p.Park(ctx)
}
