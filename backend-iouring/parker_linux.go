package iouring

import (
	"context"
	"fmt"
	"sync/atomic"
	"unsafe"

	"github.com/compio-sync/gosync/backend-iouring/internal/ring"
	"golang.org/x/sys/unix"
)

// Futex word states.
const (
	wordEmpty     = 0 // no token, no waiter
	wordToken     = 1 // a token is pending
	wordWaiting   = 2 // Park is waiting (or about to) with FUTEX_WAIT(expected 2)
	wordGoWaiting = 3 // Park is waiting in the Go scheduler on goWake (see goWait)
)

// parker is the io_uring Parker. Its futex word lives in this heap object
// (Go's collector does not move heap objects), and while a wait is in
// flight the Backend's inflight map references the parker, so the word the
// kernel watches stays allocated.
type parker struct {
	b    *Backend
	word atomic.Uint32 // wordEmpty, wordToken, wordWaiting or wordGoWaiting
	done chan int32    // result of the in-flight wait; one slot

	// goWake carries Unpark's signal to a Park waiting in the Go scheduler
	// (wordGoWaiting), or the goPhase sweeper's or Close's; one slot. A
	// signal can outlive its wait (Park gave up on the wait just as Unpark
	// swapped the token in): it is only a hint, and Park trusts the word
	// and goPhase's closed and demote fields, never the signal.
	goWake chan struct{}
	gp     gpState // the Go wait's stamp and membership (see goPhase)
}

// Unpark publishes the token and, only if Park announced a wait, wakes it.
//
// The Swap is the linearisation point of the token: it happens before the
// CAS in Park that consumes it, which gives the contract's happens-before
// edge. A wake for a waiter that is announced but not yet armed in the
// kernel finds nobody; the wait then arms with expected 2, finds 1 and
// completes with -EAGAIN at once, so no wakeup is lost.
func (p *parker) Unpark() {
	switch p.word.Swap(wordToken) {
	case wordWaiting:
		p.b.wake(&p.word)
	case wordGoWaiting:
		// After the Swap: Park, woken by the signal, must find the token.
		// A signal pending already (stale, or the sweeper's) wakes Park
		// just as well.
		signal(p.goWake)
	}
}

// Park consumes a pending token and returns nil; otherwise it waits in the
// Go scheduler for the Backend's Go phase (WithGoWait's d to 1.5d when the
// backend is quiet, longer while a queue is being served; see goPhase),
// then submits a FUTEX_WAIT and sleeps, until an Unpark (nil), ctx is done
// (ctx.Err(), leaving any later token pending), or the backend is closed
// (an error wrapping ErrClosed) or fails (an error saying how; a failure
// is noticed once the Go phase has ended).
func (p *parker) Park(ctx context.Context) error {
	// The Load spares a locked CAS when no token is pending (the common
	// case when a queue persists); a token that arrives right after it is
	// found by the announcing CAS below, which fails and takes it.
	if p.word.Load() == wordToken && p.word.CompareAndSwap(wordToken, wordEmpty) {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if p.b.cfg.goWait > 0 {
		if done, err := p.goPark(ctx); done {
			return err
		}
	}
	for {
		switch p.word.Load() {
		case wordToken:
			if p.word.CompareAndSwap(wordToken, wordEmpty) {
				return nil
			}
			continue
		case wordEmpty:
			// Announce the wait before arming it, so Unpark knows to wake.
			if !p.word.CompareAndSwap(wordEmpty, wordWaiting) {
				continue // Unpark got in first: take its token above
			}
		case wordWaiting:
			// Still announced from the previous round (a stale wake or a
			// wait cancelled by a thread exit): re-arm.
		}
		res, err := p.wait(ctx)
		if err != nil {
			p.retract()
			return err
		}
		switch {
		case res == 0, res == -int32(unix.EAGAIN):
			// Woken (maybe by a wake meant for an earlier round) or the
			// word changed before the wait armed: look at the word again.
			// Returning nil requires consuming a token: no spurious return.
		case res == -int32(unix.ECANCELED) && !p.b.closedFlag.Load():
			// Not our cancel and not Close: the kernel cancels requests of
			// a thread that exits (a Go thread locked with
			// runtime.LockOSThread whose goroutine returned). Re-arm.
		case res == -int32(unix.ECANCELED):
			p.retract()
			return fmt.Errorf("iouring: Park: %w", ErrClosed)
		case res == resFailed:
			p.retract()
			return p.failure()
		default:
			p.retract()
			return fmt.Errorf("iouring: Park: IORING_OP_FUTEX_WAIT completed with unexpected result %d (%v)", res, unix.Errno(-res))
		}
	}
}

// goPark waits in the Go scheduler, before Park arms a kernel wait, until
// the Backend's goPhase sweeper demotes the wait (see goPhase for when): a
// handoff meanwhile costs a goroutine wakeup (well under a microsecond)
// instead of a futex wake system call and a completion through the ring
// (several microseconds), which is what kept core+iouring behind x/sync
// whenever a queue formed. It blocks on its own goWake channel only
// (and ctx.Done when ctx can end), as the generic backend's Parker does. It
// reports done with Park's result if the wait ended with a token (nil), ctx
// (ctx.Err()) or Close (ErrClosed); otherwise (demoted) it leaves the word
// wordEmpty and Park goes on to the kernel wait.
func (p *parker) goPark(ctx context.Context) (done bool, err error) {
	g := &p.b.gp
	stamp := g.start(p) // before announcing: see goPhase.start's invariant
	// Announce the Go wait; if Unpark got in first, take its token.
	if !p.word.CompareAndSwap(wordEmpty, wordGoWaiting) {
		if p.word.CompareAndSwap(wordToken, wordEmpty) {
			return true, nil
		}
		return false, nil // stale wordWaiting from an earlier round: kernel path
	}
	// After announcing: see goPhase.enter's invariant.
	closed := !g.enter(p)
	cancel := ctx.Done()
	for !closed {
		if cancel == nil { // context.Background and friends never end
			<-p.goWake
		} else {
			select {
			case <-p.goWake:
			case <-cancel:
				// Withdraw the announcement. If the CAS fails, a token
				// arrived together with the cancellation: either outcome is
				// allowed, and the token stays pending for the next Park.
				p.word.CompareAndSwap(wordGoWaiting, wordEmpty)
				return true, ctx.Err()
			}
		}
		// Unpark swaps the token in before signalling, so a signal from
		// Unpark finds it here: the common path.
		if p.word.CompareAndSwap(wordToken, wordEmpty) {
			return true, nil
		}
		closed = g.closed.Load()
		if !closed && !p.demoted(stamp) {
			// A stale signal (from a wait that gave up after Unpark's
			// Swap): the word is still wordGoWaiting; keep waiting.
			continue
		}
		break
	}
	// Withdraw the announcement: from here an Unpark leaves a token (and no
	// signal) or, once the kernel wait is announced, wakes it. If the CAS
	// fails the token is there already: take it.
	if !p.word.CompareAndSwap(wordGoWaiting, wordEmpty) {
		p.word.CompareAndSwap(wordToken, wordEmpty)
		return true, nil
	}
	if closed {
		return true, fmt.Errorf("iouring: Park: %w", ErrClosed)
	}
	return false, nil
}

// wait arms one FUTEX_WAIT(word == wordWaiting) and returns its result. If
// ctx ends first it cancels the wait, waits for the wait's own completion
// (the word must stay registered until then, and the Parker must have no
// request in flight when Park returns) and returns ctx.Err(): a wake that
// beat the cancel (result 0) left the token in the word, where it stays for
// the next Park, as the contract requires.
func (p *parker) wait(ctx context.Context) (int32, error) {
	sqe := ring.SQE{
		Opcode: ring.OpFutexWait,
		Fd:     int32(p.b.cfg.futexFlags),
		Off:    wordWaiting,
		Addr:   uint64(uintptr(unsafe.Pointer(&p.word))),
		Addr3:  0xffffffff, // bitset: match any wake
	}
	id, err := p.b.submit(&sqe, p)
	if err != nil {
		if err == ErrClosed {
			return 0, fmt.Errorf("iouring: Park: %w", ErrClosed)
		}
		return 0, err
	}
	select {
	case res := <-p.done:
		return res, nil
	case <-ctx.Done():
	}
	cancel := ring.SQE{Opcode: ring.OpAsyncCancel, Fd: -1, Addr: id, UserData: internalTag}
	if _, err := p.b.submit(&cancel, nil); err != nil {
		// Closed: Close cancels every wait. Failed: failLocked delivers
		// resFailed. Either way the result below arrives.
	}
	res := <-p.done
	switch {
	case res == 0, res == -int32(unix.ECANCELED), res == -int32(unix.EAGAIN):
		return 0, ctx.Err()
	case res == resFailed:
		return 0, p.failure()
	default:
		return 0, fmt.Errorf("iouring: Park: IORING_OP_FUTEX_WAIT completed with unexpected result %d (%v)", res, unix.Errno(-res))
	}
}

// retract withdraws the wait announcement. If Unpark replaced it with a
// token meanwhile, the token stays for the next Park.
func (p *parker) retract() { p.word.CompareAndSwap(wordWaiting, wordEmpty) }

func (p *parker) failure() error {
	p.b.mu.Lock()
	defer p.b.mu.Unlock()
	return fmt.Errorf("iouring: Park: backend failed: %w", p.b.failed)
}
