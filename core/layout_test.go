package core

import (
	"testing"
	"unsafe"
)

// TestSemaphoreLayout checks the cache-line groups the Semaphore's fields
// are declared in: the word and what every fast path reads with it on line
// 0, the queue under mu on line 1, the rest after, in an object of 256
// bytes (a size class whose objects start on 256-byte boundaries, so the
// groups are lines). An edit that moves a field across a line fails here.
func TestSemaphoreLayout(t *testing.T) {
	if unsafe.Sizeof(uintptr(0)) != 8 {
		t.Skip("the line groups are laid out for 8-byte pointers; with 4-byte ones the Semaphore is smaller and its groups share lines")
	}
	var s Semaphore
	if got := unsafe.Sizeof(s); got != semSize {
		t.Fatalf("Semaphore is %d bytes, want %d (pad it back to the size class)", got, semSize)
	}
	lines := []struct {
		name string
		off  uintptr
		size uintptr
		line uintptr
	}{
		{"state", unsafe.Offsetof(s.state), unsafe.Sizeof(s.state), 0},
		{"taker", unsafe.Offsetof(s.taker), unsafe.Sizeof(s.taker), 0},
		{"cfg", unsafe.Offsetof(s.cfg), unsafe.Sizeof(s.cfg), 0},
		{"lanes", unsafe.Offsetof(s.lanes), unsafe.Sizeof(s.lanes), 0},
		{"backend", unsafe.Offsetof(s.backend), unsafe.Sizeof(s.backend), 0},
		{"mu", unsafe.Offsetof(s.mu), unsafe.Sizeof(s.mu), 1},
		{"head", unsafe.Offsetof(s.head), unsafe.Sizeof(s.head), 1},
		{"tail", unsafe.Offsetof(s.tail), unsafe.Sizeof(s.tail), 1},
		{"waiting", unsafe.Offsetof(s.waiting), unsafe.Sizeof(s.waiting), 1},
		{"maxWaiters", unsafe.Offsetof(s.maxWaiters), unsafe.Sizeof(s.maxWaiters), 1},
		{"obs", unsafe.Offsetof(s.obs), unsafe.Sizeof(s.obs), 1},
		{"waiters", unsafe.Offsetof(s.waiters), 8, 2}, // the pool's first word
	}
	for _, f := range lines {
		if first, last := f.off/semLine, (f.off+f.size-1)/semLine; first != f.line || last != f.line {
			t.Errorf("%s spans lines %d to %d, want line %d", f.name, first, last, f.line)
		}
	}
	// The allocator starts a 256-byte object on a 256-byte boundary (heap
	// objects: NewSemaphore returns a pointer, so its Semaphore escapes).
	for range 64 {
		layoutSink = new(Semaphore)
		if p := uintptr(unsafe.Pointer(layoutSink)); p%semLine != 0 {
			t.Fatalf("a new Semaphore starts at %#x, not on a %d-byte line", p, semLine)
		}
	}
}

// layoutSink makes the Semaphores TestSemaphoreLayout allocates escape to
// the heap, as NewSemaphore's do.
var layoutSink *Semaphore
