package core

import (
	"testing"
	"unsafe"
)

// TestWaiterFitsIn48Bytes guards the memory per parked waiter: a waiter is
// allocated from the 48-byte size class (x/sync spends about 160 bytes in
// three objects per blocked Acquire).
func TestWaiterFitsIn48Bytes(t *testing.T) {
	if got := unsafe.Sizeof(waiter{}); got > 48 {
		t.Errorf("unsafe.Sizeof(waiter{}) = %d, want <= 48", got)
	}
}
