// Package iocp is gosync's Windows backend: it parks the goroutines waiting
// on a [core.Semaphore] on a private I/O completion port, the kernel's
// completion-based event loop, instead of on Go channels.
//
// A Backend owns one completion port and one dispatcher goroutine. Each
// Parker is known to the port by an integer completion key; Unpark posts a
// packet carrying that key (PostQueuedCompletionStatus, no Go pointer handed
// to the kernel), the dispatcher dequeues packets in batches
// (GetQueuedCompletionStatusEx) and hands each token to its Parker, and Park
// returns once its token has arrived. However many goroutines are parked,
// one OS thread waits on the port: parked goroutines sleep in the Go
// scheduler, not in the kernel.
//
// # Use on Windows 10 or later
//
// Import core and this package, create the Backend once, pass it to
// core.NewSemaphore, and Close it after the last Semaphore using it is done:
//
//	import (
//		"github.com/compio-sync/gosync/backend-iocp"
//		"github.com/compio-sync/gosync/core"
//	)
//
//	b, err := iocp.New()
//	if err != nil {
//		return err
//	}
//	defer b.Close()
//	sem := core.NewSemaphore(10, b)
//
// To fall back to the pure-Go backend when the port is unavailable (any
// other GOOS, where New fails with an error satisfying
// errors.Is(err, errors.ErrUnsupported)), two lines do it:
//
//	var backend core.Backend = generic.New() // github.com/compio-sync/gosync/backend-generic
//	if b, err := iocp.New(); err == nil { backend = b; defer b.Close() }
//
// After Close, every Park fails with an error wrapping [ErrClosed], so the
// Acquire calls of Semaphores still using the Backend fail rather than hang.
//
// # Across processes
//
// [Backend.WordWaiter] waits on 32-bit words in memory shared between
// processes (a named file mapping) for the shared module's cross-process
// semaphore (github.com/compio-sync/gosync/shared), without either module
// importing the other: each word gets a named auto-reset event, and a wait
// on it registered with the thread pool posts a packet to the Backend's
// port when the event is set, so no goroutine holds an OS thread while it
// waits:
//
//	b, err := iocp.New()
//	...
//	sem, err := shared.Open("jobs", 4, shared.WithWaiter(b.WordWaiter()))
//
// The package compiles on every GOOS; only Windows has a working New. Its
// tests run on Linux under Wine (see docs/iocp.md in the repository and
// scripts/wine/test-windows.sh); on Windows, run them natively with
// `go test ./...` in the backend-iocp directory.
package iocp
