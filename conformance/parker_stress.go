package conformance

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/compio-sync/gosync/core"
)

// parkerStressTests check Parkers under concurrency and reuse.
func (s *suite) parkerStressTests(e0 *env) {
	t := e0.t
	s.run(t, "UnparkStormNeverOverReturns", func(e *env) {
		// Unparkers and the parking loop run concurrently; every return of
		// Park must be paired with a distinct Unpark, so the returns never
		// outnumber the Unparks issued before them.
		p := e.parker()
		const unparkers = 8
		per := s.size(2000, 300)
		var issued atomic.Int64
		var wg sync.WaitGroup
		stop := make(chan struct{})
		for range unparkers {
			wg.Go(func() {
				for range per {
					issued.Add(1) // counted before Unpark: returns <= issued always.
					p.Unpark()
				}
			})
		}
		go func() { wg.Wait(); close(stop) }()
		var returns int64
		for {
			ctx, cancel := context.WithTimeout(e.ctx, 5*time.Millisecond)
			err := p.Park(ctx)
			cancel()
			if err == nil {
				returns++
				if n := issued.Load(); returns > n {
					e.t.Fatalf("Park returned nil %d times after %d Unparks, want at most one return per Unpark", returns, n)
				}
				continue
			}
			if e.ctx.Err() != nil {
				<-stop
				return
			}
			if !errors.Is(err, context.DeadlineExceeded) {
				e.t.Fatalf("Park(ctx) = %v, want nil or %v", err, context.DeadlineExceeded)
			}
			select {
			case <-stop:
				// All Unparks are in; the last one's token has been
				// consumed or is drained by one more Park.
				ctx, cancel := context.WithTimeout(e.ctx, 5*time.Millisecond)
				if p.Park(ctx) == nil {
					returns++
				}
				cancel()
				if n := issued.Load(); returns > n || returns == 0 {
					e.t.Fatalf("Park returned nil %d times for %d Unparks, want between 1 and %d", returns, n, n)
				}
				return
			default:
			}
		}
	})

	s.run(t, "ReuseManyCycles", func(e *env) {
		// Two goroutines ping-pong through two Parkers: each cycle is one
		// Unpark paired with one Park on each side. A dropped or lost wakeup
		// stops the game (the watchdog ends it).
		ping, pong := e.parker(), e.parker()
		cycles := s.size(100_000, 10_000)
		errc := make(chan error, 1)
		go func() {
			for range cycles {
				if err := ping.Park(e.ctx); err != nil {
					errc <- err
					return
				}
				pong.Unpark()
			}
			errc <- nil
		}()
		tick, stop := e.guard(fmt.Sprintf("a ping-pong of %d Unpark/Park cycles", cycles))
		for i := range cycles {
			ping.Unpark()
			if err := pong.Park(e.ctx); err != nil {
				if e.ctx.Err() == nil {
					e.t.Errorf("cycle %d of %d: Park() = %v, want nil", i, cycles, err)
				}
				break
			}
			tick()
		}
		stop()
		if err := <-errc; err != nil && e.ctx.Err() == nil {
			e.t.Errorf("ping-pong partner: Park() = %v, want nil", err)
		}
	})

	s.run(t, "ManyParkersAllWake", func(e *env) {
		n := s.size(10_000, 1000)
		parkers := make([]core.Parker, n)
		for i := range parkers {
			parkers[i] = e.parker()
		}
		var started, woken sync.WaitGroup
		started.Add(n)
		woken.Add(n)
		var failures, returned atomic.Int64
		for _, p := range parkers {
			go func() {
				defer woken.Done()
				started.Done()
				if err := p.Park(e.ctx); err != nil {
					failures.Add(1)
				} else {
					returned.Add(1)
				}
			}()
		}
		started.Wait()
		time.Sleep(blockWindow) // let most of them reach Park.
		for _, p := range parkers {
			p.Unpark()
		}
		tick, stop := e.guard(fmt.Sprintf("%d Parks returning after their Unparks", n))
		for seen := int64(0); returned.Load()+failures.Load() < int64(n) && e.ctx.Err() == nil; {
			if r := returned.Load(); r != seen {
				seen = r
				tick()
			}
			time.Sleep(e.scaled(pollInterval))
		}
		stop()
		woken.Wait()
		if e.ctx.Err() != nil {
			return
		}
		if f := failures.Load(); f != 0 {
			e.t.Fatalf("%d of %d parked goroutines: Park() != nil after Unpark, want all nil", f, n)
		}
	})

	s.run(t, "UnparkFromAnotherGoroutine", func(e *env) {
		// The Unpark comes from a goroutine that is neither the parker nor
		// its creator, before and after the Park.
		for i := range s.size(1000, 200) {
			p := e.parker()
			unparked := make(chan struct{})
			go func() { p.Unpark(); close(unparked) }()
			if i%2 == 0 {
				<-unparked // token before Park
			}
			errc := make(chan error, 1)
			go func() { errc <- e.parkWithToken(p) }()
			if err := <-errc; err != nil {
				e.t.Fatalf("iteration %d: Park() after Unpark from another goroutine = %v, want nil", i, err)
			}
			<-unparked
		}
	})

	s.run(t, "UnparkWakesOnlyItsParker", func(e *env) {
		// Parkers are independent: an Unpark of one never makes another
		// return.
		const n = 8
		parkers := make([]core.Parker, n)
		for i := range parkers {
			parkers[i] = e.parker()
		}
		returned := make(chan int, n)
		var wg sync.WaitGroup
		for i, p := range parkers {
			wg.Go(func() {
				if err := p.Park(e.ctx); err == nil {
					returned <- i
				}
			})
		}
		defer func() {
			for _, p := range parkers {
				p.Unpark() // release the ones still parked after a failure.
			}
			wg.Wait()
		}()
		time.Sleep(blockWindow)
		for i, p := range parkers {
			p.Unpark()
			got, ok := recv(e, returned, fmt.Sprintf("Park() of parker %d after its Unpark()", i))
			if !ok {
				return
			}
			if got != i {
				e.t.Errorf("Unpark() of parker %d: parker %d returned, want %d", i, got, i)
				return
			}
			select {
			case got := <-returned:
				e.t.Errorf("one Unpark() of parker %d: parker %d also returned, want only parker %d", i, got, i)
				return
			case <-time.After(blockWindow):
			}
		}
	})

	s.run(t, "UnparkHappensBeforePark", func(e *env) {
		// Plain (non-atomic) writes before Unpark must be visible after the
		// Park that consumes its token. The race detector checks this: a
		// backend without the happens-before edge is reported as a race.
		p := e.parker()
		var data [4]int
		done := make(chan struct{})
		rounds := s.size(1000, 200)
		ack := e.parker()
		go func() {
			defer close(done)
			for i := range rounds {
				if err := p.Park(e.ctx); err != nil {
					return
				}
				if data[0] != i || data[3] != i {
					e.t.Errorf("round %d: after Park, data = %v, want all %d (writes before Unpark must be visible)", i, data, i)
					return
				}
				ack.Unpark()
			}
		}()
		tick, stop := e.guard(fmt.Sprintf("a ping-pong of %d Unpark/Park rounds", rounds))
		for i := range rounds {
			for j := range data {
				data[j] = i
			}
			p.Unpark()
			if err := ack.Park(e.ctx); err != nil {
				break
			}
			tick()
		}
		stop()
		e.unwind() // a partner that failed its check is still parked.
		<-done
	})
}
