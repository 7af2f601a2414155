package iocp

import (
	"syscall"
	"unsafe"

	"golang.org/x/sys/windows"
)

// golang.org/x/sys/windows does not wrap GetQueuedCompletionStatusEx
// (kernel32, Windows Vista and later), so it is bound here by name.
var procGetQueuedCompletionStatusEx = windows.NewLazySystemDLL("kernel32.dll").NewProc("GetQueuedCompletionStatusEx")

// overlappedEntry is the OVERLAPPED_ENTRY the kernel fills in for each
// dequeued packet. Its Go layout matches the C one on every Windows GOARCH
// (four pointer-sized or smaller fields in declaration order). The packets
// this package posts carry lpOverlapped == nil, so overlapped is kept as a
// plain integer: no Go pointer ever comes back from the kernel.
type overlappedEntry struct {
	key        uintptr // lpCompletionKey: the Parker's key, or breakKey
	overlapped uintptr // lpOverlapped: always 0 for this package's packets
	internal   uintptr
	bytes      uint32 // dwNumberOfBytesTransferred: unused (0)
}

// infinite is the INFINITE timeout of the Win32 wait functions.
const infinite = 0xFFFFFFFF

// getQueuedCompletionStatusEx blocks the calling OS thread until at least
// one packet is queued on port, then removes up to len(entries) packets and
// returns how many it removed. On failure it returns 0 and the Win32 error
// (ERROR_ABANDONED_WAIT_0 when the port was closed during the wait).
func getQueuedCompletionStatusEx(port windows.Handle, entries []overlappedEntry) (int, error) {
	var removed uint32
	// SyscallN keeps the pointers converted in its argument list alive and
	// unmoved for the duration of the call. entries holds no Go pointers.
	r1, _, errno := syscall.SyscallN(procGetQueuedCompletionStatusEx.Addr(),
		uintptr(port),
		uintptr(unsafe.Pointer(&entries[0])),
		uintptr(len(entries)),
		uintptr(unsafe.Pointer(&removed)),
		infinite,
		0, // fAlertable = FALSE: no APCs are delivered to this thread
	)
	if r1 == 0 {
		if errno == 0 {
			return 0, syscall.EINVAL
		}
		return 0, errno
	}
	return int(removed), nil
}
