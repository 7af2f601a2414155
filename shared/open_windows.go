package shared

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/windows"
)

// A region on Windows is a named file mapping backed by the paging file
// (CreateFileMapping with INVALID_HANDLE_VALUE), in the logon session's
// Local\ namespace. Its name is derived from the path Open computes (the
// directory of WithDir, DefaultDir by default, joined with the name): the
// directory acts as a namespace, and processes that pass the same
// directory and name share one region. A named mapping exists while some
// process holds a handle to it: when the last handle is closed (every
// process detached or died) it is gone, so no stale region outlives its
// users and there is nothing to validate against another owner. Objects in
// Local\ are visible only to processes of the same logon session, and the
// default security descriptor grants access to the creating user (and
// SYSTEM and administrators), so no other user can plant a region there.

// osNameSeparators: '\' separates paths (and object namespaces) on Windows.
const osNameSeparators = `\`

// mappingName is the name of the file mapping of the region at path:
// `Local\gosync:` and the path with '\' turned into '/' (a kernel object
// name may hold no '\' after its namespace).
func mappingName(path string) string {
	return `Local\gosync:` + filepath.ToSlash(path)
}

// regionKey is the key a RegionWaiter gets for the region at path:
// `Local\gosync-words:` and the path as in mappingName. backend-iocp names
// each word's event after the key, '#' and the word's offset in hex, and
// events share one namespace with file mappings: keyed by the mapping's own
// name, the semaphore "a#55c0" took the name of the event of a word of "a",
// and either its Open or the waits on that word failed
// (TestWordEventsAndMappingsDoNotShareNames). No mapping name starts with
// this prefix, and no two (path, offset) pairs make one event name (the
// last '#' splits them, as hex holds none).
func regionKey(path string) string {
	return `Local\gosync-words:` + filepath.ToSlash(path)
}

// x/sys/windows does not wrap OpenFileMappingW.
var procOpenFileMappingW = windows.NewLazySystemDLL("kernel32.dll").NewProc("OpenFileMappingW")

// createFile creates the named file mapping of path with size bytes, all
// committed (zero-filled) at once, maps it and fills it with init. The
// name is visible from CreateFileMapping on; openers wait for the magic
// number init stores last, and a creator that dies first takes the mapping
// with it once their waits end (see healFile). An existing mapping fails
// with an error satisfying errors.Is(err, fs.ErrExist) and is left alone.
// WithGroup is not supported on Windows.
func createFile(path string, size uintptr, c *config, init func([]byte)) ([]byte, func() error, error) {
	if c.group >= 0 {
		return nil, nil, fmt.Errorf("shared: WithGroup: %w on Windows (a region is shared within the logon session)", errors.ErrUnsupported)
	}
	name, err := windows.UTF16PtrFromString(mappingName(path))
	if err != nil {
		return nil, nil, &os.PathError{Op: "shared: create", Path: path, Err: err}
	}
	h, err := windows.CreateFileMapping(windows.InvalidHandle, nil, windows.PAGE_READWRITE, uint32(uint64(size)>>32), uint32(size), name)
	if h != 0 && err == windows.ERROR_ALREADY_EXISTS {
		// Someone else's: this handle maps it with its own size, so drop it
		// and let mapExisting validate it.
		windows.CloseHandle(h)
		return nil, nil, &os.PathError{Op: "shared: create", Path: path, Err: fs.ErrExist}
	}
	if h == 0 {
		return nil, nil, &os.PathError{Op: "shared: CreateFileMapping", Path: path, Err: err}
	}
	mem, unmap, err := mapView(h, path)
	if err != nil {
		return nil, nil, err
	}
	init(mem[:size])
	return mem[:size], unmap, nil
}

// healFile does nothing on Windows: a named file mapping exists only while
// a process holds a handle to it, so one whose creator died before
// initializing it goes away once the openers waiting for it (which hold
// handles only between looks) give up their handles, and the next Open
// creates a new one.
func healFile(string) error { return nil }

// mapExisting opens the named file mapping of path and maps all of it; the
// slice is as long as the size its header records when that fits in the
// mapping (the mapping itself is rounded up to whole pages), else as long
// as the mapping, so that readLayout reports the mismatch. It writes
// nothing. A missing mapping fails with an error satisfying
// errors.Is(err, fs.ErrNotExist); denied access with fs.ErrPermission.
func mapExisting(path string, _ *config) ([]byte, func() error, error) {
	name, err := windows.UTF16PtrFromString(mappingName(path))
	if err != nil {
		return nil, nil, &os.PathError{Op: "shared: open", Path: path, Err: err}
	}
	r, _, errno := procOpenFileMappingW.Call(windows.FILE_MAP_READ|windows.FILE_MAP_WRITE, 0, uintptr(unsafe.Pointer(name)))
	if r == 0 {
		return nil, nil, &os.PathError{Op: "shared: open", Path: path, Err: errno}
	}
	mem, unmap, err := mapView(windows.Handle(r), path)
	if err != nil {
		return nil, nil, err
	}
	if len(mem) < headerSize {
		unmap()
		return nil, nil, fmt.Errorf("shared: open %s: %w", path, errShort{int64(len(mem))})
	}
	base := unsafe.Pointer(unsafe.SliceData(mem))
	if (*atomic.Uint64)(unsafe.Add(base, offMagic)).Load() != 0 {
		if s := (*atomic.Uint64)(unsafe.Add(base, offSize)).Load(); s >= headerSize && s <= uint64(len(mem)) {
			mem = mem[:s]
		}
	}
	return mem, unmap, nil
}

// mapView maps all of the file mapping h (which it then owns: the handle
// keeps the mapping's name alive and is closed by unmap) and returns the
// view, as long as the whole pages VirtualQuery reports.
func mapView(h windows.Handle, path string) ([]byte, func() error, error) {
	addr, err := windows.MapViewOfFile(h, windows.FILE_MAP_READ|windows.FILE_MAP_WRITE, 0, 0, 0)
	if err != nil {
		windows.CloseHandle(h)
		return nil, nil, &os.PathError{Op: "shared: MapViewOfFile", Path: path, Err: err}
	}
	var mbi windows.MemoryBasicInformation
	if err := windows.VirtualQuery(addr, &mbi, unsafe.Sizeof(mbi)); err != nil {
		windows.UnmapViewOfFile(addr)
		windows.CloseHandle(h)
		return nil, nil, &os.PathError{Op: "shared: VirtualQuery", Path: path, Err: err}
	}
	// addr is the address of memory outside the Go heap; reading it through
	// a pointer to the variable keeps vet's unsafeptr check quiet.
	mem := unsafe.Slice((*byte)(*(*unsafe.Pointer)(unsafe.Pointer(&addr))), mbi.RegionSize)
	unmap := func() error {
		return errors.Join(windows.UnmapViewOfFile(addr), windows.CloseHandle(h))
	}
	return mem, unmap, nil
}

// removeFile cannot delete a named file mapping: it goes away with its last
// handle. It fails with an error satisfying errors.Is(err, fs.ErrNotExist)
// when the mapping is already gone, and errors.Is(err,
// errors.ErrUnsupported) while some process still has it open.
func removeFile(path string) error {
	name, err := windows.UTF16PtrFromString(mappingName(path))
	if err != nil {
		return &os.PathError{Op: "shared: remove", Path: path, Err: err}
	}
	r, _, errno := procOpenFileMappingW.Call(windows.FILE_MAP_READ, 0, uintptr(unsafe.Pointer(name)))
	if r == 0 {
		return &os.PathError{Op: "shared: remove", Path: path, Err: errno}
	}
	windows.CloseHandle(windows.Handle(r))
	return &os.PathError{Op: "shared: remove", Path: path, Err: fmt.Errorf("%w on Windows: a named file mapping cannot be deleted; it is gone when the last process detaches or exits", errors.ErrUnsupported)}
}
