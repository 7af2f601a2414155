package iocp_test

import (
	"runtime"
	"testing"
	"time"

	iocp "github.com/compio-sync/gosync/backend-iocp"
	"github.com/compio-sync/gosync/core"
)

// Parkers are dropped to the garbage collector without a close call (the
// Semaphore pools them): the Backend's key registry must not keep them.
func TestDroppedParkersLeaveTheRegistry(t *testing.T) {
	b := newBackend(t)
	kept := b.NewParker()
	// Hold every Parker until the count is taken: a GC in the middle of the
	// loop may otherwise collect some of them first.
	live := make([]core.Parker, 0, 1000)
	for i := range 1000 {
		p := b.NewParker()
		if i%2 == 0 {
			p.Unpark() // dropped with its packet in flight or delivered
		}
		live = append(live, p)
	}
	if n := iocp.RegisteredParkers(b); n < 1001 {
		t.Fatalf("RegisteredParkers = %d with 1001 live Parkers, want 1001 (live Parkers must stay registered)", n)
	}
	runtime.KeepAlive(live)
	deadline := time.Now().Add(hangAfter)
	for iocp.RegisteredParkers(b) > 1 {
		if time.Now().After(deadline) {
			t.Fatalf("RegisteredParkers = %d after %v of GCs, want 1: dropped Parkers leak", iocp.RegisteredParkers(b), hangAfter)
		}
		runtime.GC()
		time.Sleep(time.Millisecond)
	}
	// The survivor still works, and still has its key.
	kept.Unpark()
	mustPark(t, kept)
	runtime.KeepAlive(kept)
	if n := iocp.RegisteredParkers(b); n != 1 {
		t.Fatalf("RegisteredParkers = %d, want 1 (the Parker still in use)", n)
	}
}
