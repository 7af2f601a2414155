package iocp_test

import (
	"context"
	"fmt"
	"runtime/pprof"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"
)

// processThreads counts the OS threads of this process with a toolhelp
// snapshot, the count Task Manager shows.
func processThreads() (int, error) {
	snap, err := windows.CreateToolhelp32Snapshot(windows.TH32CS_SNAPTHREAD, 0)
	if err != nil {
		return 0, fmt.Errorf("CreateToolhelp32Snapshot: %w", err)
	}
	defer windows.CloseHandle(snap)
	pid := windows.GetCurrentProcessId()
	te := windows.ThreadEntry32{Size: uint32(unsafe.Sizeof(windows.ThreadEntry32{}))}
	n := 0
	for err = windows.Thread32First(snap, &te); err == nil; err = windows.Thread32Next(snap, &te) {
		if te.OwnerProcessID == pid {
			n++
		}
	}
	if err != windows.ERROR_NO_MORE_FILES {
		return 0, fmt.Errorf("Thread32First/Next: %w", err)
	}
	return n, nil
}

// maxExtraThreads bounds the OS threads that parking 10,000 goroutines may
// add. A design with one kernel waiter per parked goroutine would add about
// 10,000; the Go runtime itself may add a few (GC workers, sysmon hand-offs).
const maxExtraThreads = 32

// With 10,000 goroutines parked, the OS threads do not grow with the number
// of waiters, and exactly one goroutine (hence one thread) waits on the
// port: the dispatcher.
func TestTenThousandParkedUseOneThreadOnThePort(t *testing.T) {
	const parked = 10_000
	b := newBackend(t)
	warm := b.NewParker() // make sure the dispatcher is already in its wait
	warm.Unpark()
	mustPark(t, warm)

	threadsBefore, snapErr := processThreads()
	if snapErr != nil {
		t.Logf("toolhelp thread count unavailable (%v); using the Go runtime's threadcreate count only", snapErr)
	}
	createdBefore := pprof.Lookup("threadcreate").Count()

	parkers := make([]interface{ Unpark() }, parked)
	results := make(chan error, parked)
	var ready sync.WaitGroup
	ready.Add(parked)
	for i := range parked {
		p := b.NewParker()
		parkers[i] = p
		go func() {
			ready.Done()
			results <- p.Park(context.Background())
		}()
	}
	ready.Wait()

	// Wait until every one of them is inside Park, blocked.
	var stacks string
	deadline := time.Now().Add(hangAfter)
	for {
		stacks = dumpGoroutines()
		if n := strings.Count(stacks, "backend-iocp.(*parker).Park("); n >= parked {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("only %d of %d goroutines reached Park after %v", n, parked, hangAfter)
		}
		time.Sleep(10 * time.Millisecond)
	}

	if n := strings.Count(stacks, "backend-iocp.getQueuedCompletionStatusEx("); n != 1 {
		t.Errorf("%d goroutines wait in GetQueuedCompletionStatusEx with %d parked, want 1 (the dispatcher)", n, parked)
	}
	created := pprof.Lookup("threadcreate").Count() - createdBefore
	t.Logf("with %d goroutines parked: the Go runtime created %d more OS threads", parked, created)
	if created > maxExtraThreads {
		t.Errorf("the Go runtime created %d OS threads while %d goroutines parked, want at most %d", created, parked, maxExtraThreads)
	}
	if snapErr == nil {
		threadsDuring, err := processThreads()
		if err != nil {
			t.Fatalf("second toolhelp thread count: %v", err)
		}
		t.Logf("toolhelp: %d OS threads in the process before parking, %d with %d goroutines parked", threadsBefore, threadsDuring, parked)
		if threadsDuring-threadsBefore > maxExtraThreads {
			t.Errorf("process threads went from %d to %d with %d goroutines parked, want at most %d more", threadsBefore, threadsDuring, parked, maxExtraThreads)
		}
	}

	for _, p := range parkers {
		p.Unpark()
	}
	done := make(chan struct{})
	go func() {
		for range parked {
			if err := <-results; err != nil {
				t.Errorf("Park() = %v, want nil", err)
			}
		}
		close(done)
	}()
	within(t, "10,000 Parks returning after Unpark", done)
}
