package iocp

import (
	"context"
	"sync/atomic"
)

// The states of a slot. A token is pending in posted and delivered.
const (
	idle      uint32 = iota // no token
	posted                  // a token's packet is in the port, not yet dequeued
	delivered               // the dispatcher has dequeued the packet: Park may consume it
)

// slot is the part of a Parker the dispatcher reaches through the registry.
// Its state moves only idle -> posted (Unpark, then one packet is posted),
// posted -> delivered (the dispatcher, or Unpark itself when the port is
// closed or refuses the packet) and delivered -> idle (Park). So at most one
// packet per slot is ever in the port, and Unparks coalesce for free.
type slot struct {
	key   uintptr
	state atomic.Uint32
	// bell holds at most one "state may have changed" signal. It is rung
	// after every posted -> delivered step, and may hold a stale ring after
	// a Park consumed a token without needing it; Park re-checks state after
	// every ring, so a stale ring costs a loop, never a spurious return.
	bell chan struct{}
}

// deliver makes the token of a posted slot consumable and wakes its Park.
// Its CAS reads the value written by the Unpark's idle -> posted CAS, so
// that Unpark happens before this step; the Park whose CAS reads delivered
// happens after it. That chain is the contract's memory guarantee.
func (s *slot) deliver() {
	if !s.state.CompareAndSwap(posted, delivered) {
		return // unreachable: one packet per posted state
	}
	// Ring after the state change: a Park that saw the old state is about to
	// select on bell (or already does), and the ring (or the stale one that
	// filled the buffer) wakes it. A full buffer already holds a ring.
	select {
	case s.bell <- struct{}{}:
	default:
	}
}

// parker is the Parker a Backend hands out. The cleanup registered in
// NewParker is attached to it, not to its slot.
type parker struct {
	b *Backend
	s *slot
}

// Park returns nil after consuming a delivered token; ctx.Err() if ctx is
// done first, consuming nothing (a token that arrives later stays pending);
// and the backend's error (wrapping ErrClosed after Close) once the Backend
// is closed or failed, even when a token is pending. A token already
// delivered is consumed even if ctx is already done; a token whose packet
// is still in the port may lose that race to ctx. Park allocates nothing.
func (p *parker) Park(ctx context.Context) error {
	s, b := p.s, p.b
	done := ctx.Done()
	for {
		select {
		case <-b.dead:
			return b.deadErr
		default:
		}
		// delivered -> idle consumes the token. It must be the only way to
		// consume: an Unpark that finds posted or delivered coalesces, which
		// is right only while this CAS has not happened yet.
		if s.state.CompareAndSwap(delivered, idle) {
			return nil
		}
		select {
		case <-s.bell: // maybe delivered: check again
		case <-done:
			return ctx.Err()
		case <-b.dead:
			return b.deadErr
		}
	}
}

// Unpark leaves a token: the first Unpark since the last consumed token
// posts one packet carrying the Parker's key; Unparks while a token is
// pending do nothing. It makes at most one system call and never blocks
// for long. After Close it hands the token over without the port.
func (p *parker) Unpark() {
	s := p.s
	// idle -> posted makes this call the owner of the token's one packet.
	if !s.state.CompareAndSwap(idle, posted) {
		return // a token is pending: coalesce
	}
	if !p.b.post(s.key) {
		// Closed, or the kernel refused the packet (out of memory): no
		// packet will come, so deliver here rather than lose the token.
		s.deliver()
	}
}
