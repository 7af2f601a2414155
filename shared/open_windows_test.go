package shared_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"runtime"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/compio-sync/gosync/shared"
	"golang.org/x/sys/windows"
)

// plantMapping creates the named file mapping a semaphore called name would
// use (`Local\gosync:/dev/shm/<name>`), holding content, and keeps it open
// until the test ends. It returns a view of it.
func plantMapping(t *testing.T, name string, content []byte) []byte {
	t.Helper()
	key, _ := windows.UTF16PtrFromString(`Local\gosync:/dev/shm/` + name)
	h, err := windows.CreateFileMapping(windows.InvalidHandle, nil, windows.PAGE_READWRITE, 0, uint32(len(content)), key)
	if err != nil {
		t.Fatalf("CreateFileMapping = %v", err)
	}
	addr, err := windows.MapViewOfFile(h, windows.FILE_MAP_READ|windows.FILE_MAP_WRITE, 0, 0, uintptr(len(content)))
	if err != nil {
		t.Fatalf("MapViewOfFile = %v", err)
	}
	t.Cleanup(func() { windows.UnmapViewOfFile(addr); windows.CloseHandle(h) })
	view := unsafe.Slice((*byte)(*(*unsafe.Pointer)(unsafe.Pointer(&addr))), len(content))
	copy(view, content)
	return view
}

// Bad input on Windows: a name with '\', a foreign mapping, a region of
// another layout version and WithGroup each fail with a clear error, and
// Open overwrites nothing.
func TestOpenRejectsBadInputOnWindows(t *testing.T) {
	opts := platformOpts(t)
	if _, err := shared.Open(`a\b`, 1, opts...); err == nil || errors.Is(err, errors.ErrUnsupported) {
		t.Errorf(`Open("a\b") = %v, want a name error`, err)
	}
	if _, err := shared.Open(uniqueName(t), 1, append(opts, shared.WithGroup(0))...); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("Open with WithGroup = %v, want ErrUnsupported", err)
	}

	foreign := bytes.Repeat([]byte{0xab}, 8192)
	wrongVersion := make([]byte, 8192)
	copy(wrongVersion, "GOSYNCSM")
	binary.LittleEndian.PutUint32(wrongVersion[8:], 99)
	for _, c := range []struct {
		what, want string
		content    []byte
	}{
		{"foreign", "another kind of file", foreign},
		{"wrong version", "layout version 99", wrongVersion},
	} {
		name := uniqueName(t)
		view := plantMapping(t, name, c.content)
		for _, open := range []func() (*shared.Semaphore, error){
			func() (*shared.Semaphore, error) { return shared.Open(name, 3, opts...) },
			func() (*shared.Semaphore, error) { return shared.OpenExisting(name, opts...) },
		} {
			if s, err := open(); !errors.Is(err, shared.ErrInvalid) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("%s mapping: open = %v, %v; want ErrInvalid saying %q", c.what, s, err, c.want)
			}
		}
		if !bytes.Equal(view, c.content) {
			t.Errorf("%s mapping was written by a failed open", c.what)
		}
	}
}

// Without a Waiter, Open on Windows fails saying what to pass.
func TestOpenNeedsAWaiterOnWindows(t *testing.T) {
	_, err := shared.Open(uniqueName(t), 1)
	if !errors.Is(err, errors.ErrUnsupported) || !strings.Contains(err.Error(), "WithWaiter") {
		t.Errorf("Open without WithWaiter = %v, want ErrUnsupported naming WithWaiter", err)
	}
}

// A named file mapping lives as long as a handle: Remove cannot delete an
// open one (ErrUnsupported); once every handle is detached and collected
// (Detach keeps the mapping until the handle is unreachable) the name is
// gone, Remove reports it as not existing, and the next Open creates a new
// semaphore.
func TestRegionGoesWithItsLastHandle(t *testing.T) {
	watchdog(t, 30*time.Second)
	opts := platformOpts(t)
	name := uniqueName(t)
	func() {
		s, err := shared.Open(name, 2, opts...)
		if err != nil {
			t.Fatal(err)
		}
		other, err := shared.OpenExisting(name, opts...)
		if err != nil {
			t.Fatal(err)
		}
		if err := shared.Remove(name, opts...); !errors.Is(err, errors.ErrUnsupported) {
			t.Errorf("Remove of an open region = %v, want ErrUnsupported", err)
		}
		s.Detach()
		if m := other.MaxPermits(); m != 2 {
			t.Errorf("MaxPermits through the other handle = %d, want 2", m)
		}
		other.Detach()
	}()
	// The handles are unreachable now: collections run their cleanups,
	// which unmap the region and close its handles.
	waitFor(t, func() bool {
		runtime.GC()
		return errors.Is(shared.Remove(name, opts...), fs.ErrNotExist)
	})
	if _, err := shared.OpenExisting(name, opts...); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("OpenExisting after the last handle went = %v, want fs.ErrNotExist", err)
	}
	again, err := shared.Open(name, 7, opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Detach()
	if m := again.MaxPermits(); m != 7 {
		t.Errorf("MaxPermits of the re-created region = %d, want 7 (a new semaphore)", m)
	}
}

// The events the WordWaiter names after a region's words share the object
// namespace with the file mappings of other regions: a semaphore called
// after another one plus '#' and the offset of one of its words (the
// WordWaiter's event name for that word) must not take the name of that
// word's event, or the other semaphore's queued requests fail (their
// event cannot be created) instead of waiting.
func TestWordEventsAndMappingsDoNotShareNames(t *testing.T) {
	watchdog(t, 60*time.Second)
	s, name := create(t, 1, shared.WithWaiterSlots(1))
	clash := fmt.Sprintf("%s#%x", name, s.SlotStateOffset(0))
	other, err := shared.Open(clash, 1, platformOpts(t)...)
	if err != nil {
		t.Fatalf("Open(%q) = %v", clash, err)
	}
	defer other.Detach()
	held, err := s.Acquire(context.Background())
	if err != nil {
		t.Fatalf("Acquire = %v", err)
	}
	defer held.Release()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := s.Acquire(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Acquire queued in slot 0 (its event named like the mapping of %q) = %v, want context.DeadlineExceeded", clash, err)
	}
}
