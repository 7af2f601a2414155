package iocp_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	iocp "github.com/compio-sync/gosync/backend-iocp"
	"golang.org/x/sys/windows"
)

var mappingSeq atomic.Int64

// twoViews creates a named file mapping of size bytes and maps it twice,
// at two addresses, as two processes would; both views and the mapping are
// released when t ends. It returns the mapping's name and the views.
func twoViews(t testing.TB, size int) (string, []byte, []byte) {
	t.Helper()
	key := fmt.Sprintf(`Local\gosync-iocp-test-%d-%d`, os.Getpid(), mappingSeq.Add(1))
	name, _ := windows.UTF16PtrFromString(key)
	h, err := windows.CreateFileMapping(windows.InvalidHandle, nil, windows.PAGE_READWRITE, 0, uint32(size), name)
	if err != nil {
		t.Fatalf("CreateFileMapping(%s) = %v", key, err)
	}
	t.Cleanup(func() { windows.CloseHandle(h) })
	view := func() []byte {
		addr, err := windows.MapViewOfFile(h, windows.FILE_MAP_READ|windows.FILE_MAP_WRITE, 0, 0, uintptr(size))
		if err != nil {
			t.Fatalf("MapViewOfFile = %v", err)
		}
		t.Cleanup(func() { windows.UnmapViewOfFile(addr) })
		return unsafe.Slice((*byte)(*(*unsafe.Pointer)(unsafe.Pointer(&addr))), size)
	}
	return key, view(), view()
}

// wordAt returns the 32-bit word at offset off of mem.
func wordAt(mem []byte, off int) *atomic.Uint32 { return (*atomic.Uint32)(unsafe.Pointer(&mem[off])) }

// addRegion adds mem to w under key, removed when t ends.
func addRegion(t testing.TB, w *iocp.WordWaiter, key string, mem []byte) {
	t.Helper()
	if err := w.AddRegion(key, mem); err != nil {
		t.Fatalf("AddRegion(%s) = %v", key, err)
	}
	t.Cleanup(func() { w.RemoveRegion(mem) })
}

// waitAsync starts w.Wait in a goroutine and returns its result channel.
func waitAsync(ctx context.Context, w *iocp.WordWaiter, word *atomic.Uint32, val uint32) <-chan error {
	ch := make(chan error, 1)
	go func() { ch <- w.Wait(ctx, word, val) }()
	return ch
}

// mustStayBlocked requires that nothing arrives on ch for a short while.
func mustStayBlocked(t testing.TB, what string, ch <-chan error) {
	t.Helper()
	select {
	case err := <-ch:
		t.Fatalf("%s returned %v, want it still blocked", what, err)
	case <-time.After(noTokenWait):
	}
}

// A Wait through one mapping and one Backend is woken by a Wake through
// another mapping of the same region and another Backend: the two meet on
// the event named after the region's key and the word's offset, as two
// processes do.
func TestWordWaiterWokenThroughAnotherMapping(t *testing.T) {
	key, a, b := twoViews(t, 4096)
	wa, wb := newBackend(t).WordWaiter(), newBackend(t).WordWaiter()
	addRegion(t, wa, key, a)
	addRegion(t, wb, key, b)
	done := waitAsync(context.Background(), wa, wordAt(a, 64), 0)
	mustStayBlocked(t, "Wait on an unchanged word", done)
	wordAt(b, 64).Store(1)
	if err := wb.Wake(wordAt(b, 64), 1); err != nil {
		t.Fatalf("Wake = %v", err)
	}
	if err := within(t, "Wait after a Wake through the other mapping", done); err != nil {
		t.Fatalf("Wait = %v, want nil", err)
	}
	// Another word of the same region has its own event.
	other := waitAsync(context.Background(), wa, wordAt(a, 128), 0)
	if err := wb.Wake(wordAt(b, 64), 1); err != nil {
		t.Fatalf("Wake = %v", err)
	}
	mustStayBlocked(t, "Wait on a word that was not woken", other)
	wb.Wake(wordAt(b, 128), 1)
	if err := within(t, "Wait on the second word", other); err != nil {
		t.Fatalf("Wait = %v, want nil", err)
	}
}

// A Wake that lands after a waiter looked at the word but before its wait
// was registered is kept by the event (no lost wakeup): the Wait returns.
// The event keeps one signal, not a count: the next Wait blocks.
func TestWordWaiterKeepsAnEarlyWake(t *testing.T) {
	key, a, _ := twoViews(t, 4096)
	w := newBackend(t).WordWaiter()
	addRegion(t, w, key, a)
	word := wordAt(a, 0)
	w.Wake(word, 1)
	w.Wake(word, 1)
	if err := within(t, "Wait after an early Wake", waitAsync(context.Background(), w, word, 0)); err != nil {
		t.Fatalf("Wait = %v, want nil", err)
	}
	mustStayBlocked(t, "a second Wait after two early Wakes", waitAsync(t.Context(), w, word, 0))
}

// A Wait whose ctx ends returns ctx.Err() and leaves no registered wait
// behind to swallow the next Wake: a later Wait receives it.
func TestWordWaiterCancelled(t *testing.T) {
	key, a, _ := twoViews(t, 4096)
	w := newBackend(t).WordWaiter()
	addRegion(t, w, key, a)
	word := wordAt(a, 8)
	ctx, cancel := context.WithTimeout(context.Background(), noTokenWait)
	defer cancel()
	if err := within(t, "Wait with a deadline", waitAsync(ctx, w, word, 0)); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Wait = %v, want context.DeadlineExceeded", err)
	}
	w.Wake(word, 1)
	if err := within(t, "Wait after the cancelled one", waitAsync(context.Background(), w, word, 0)); err != nil {
		t.Fatalf("Wait = %v, want nil: the Wake went to a cancelled wait", err)
	}
	// A word that already differs returns at once, registering nothing.
	word.Store(5)
	if err := w.Wait(context.Background(), word, 0); err != nil {
		t.Fatalf("Wait on a changed word = %v, want nil", err)
	}
}

// Words outside every added region, and Waits after Close, fail by name.
func TestWordWaiterErrors(t *testing.T) {
	b := newBackend(t)
	w := b.WordWaiter()
	var word atomic.Uint32
	if err := w.Wait(context.Background(), &word, 0); err == nil || !strings.Contains(err.Error(), "no region") {
		t.Errorf("Wait on a word in no region = %v, want an error saying so", err)
	}
	if err := w.Wake(&word, 1); err == nil {
		t.Errorf("Wake on a word in no region = nil, want an error")
	}
	key, a, _ := twoViews(t, 4096)
	addRegion(t, w, key, a)
	if err := w.AddRegion(key+"x", a[100:200]); err == nil {
		t.Errorf("AddRegion of an overlapping mapping = nil, want an error")
	}
	if err := w.AddRegion("", a); err == nil {
		t.Errorf("AddRegion with an empty key = nil, want an error")
	}
	// A '\' past the namespace would make every event name a path into a
	// directory that does not exist: refused at once, not at the first Wait.
	for _, bad := range []string{key + `\x`, `dir\` + key, `Session\1\a\b`} {
		if err := w.AddRegion(bad, make([]byte, 64)); err == nil || !strings.Contains(err.Error(), `'\'`) {
			t.Errorf("AddRegion(%q) = %v, want an error naming the '\\'", bad, err)
		}
	}
	for _, good := range []string{`Global\g` + key[len(`Local\`):], `Session\1\s` + key[len(`Local\`):], "plain" + key[len(`Local\`):]} {
		mem := make([]byte, 64)
		if err := w.AddRegion(good, mem); err != nil {
			t.Errorf("AddRegion(%q) = %v, want nil", good, err)
		}
		w.RemoveRegion(mem)
	}
	b.Close()
	if err := within(t, "Wait after Close", waitAsync(context.Background(), w, wordAt(a, 0), 0)); !errors.Is(err, iocp.ErrClosed) {
		t.Errorf("Wait after Close = %v, want ErrClosed", err)
	}
}

// With 4,000 goroutines waiting on 4,000 words, the process does not have a
// thread per waiter: the thread pool waits on up to 63 events per thread
// (about 64 threads), and no goroutine holds an OS thread. (Under Wine each
// registration is a few wineserver round trips: 10,000 took up to a minute
// on a loaded machine.)
func TestThousandsOfWordWaitersNeedNoThreadEach(t *testing.T) {
	const waiters = 4_000
	key, a, _ := twoViews(t, 4*waiters)
	w := newBackend(t).WordWaiter()
	addRegion(t, w, key, a)
	before, err := processThreads()
	if err != nil {
		t.Skipf("toolhelp thread count unavailable: %v", err)
	}
	results := make(chan error, waiters)
	for i := range waiters {
		go func() { results <- w.Wait(context.Background(), wordAt(a, 4*i), 0) }()
	}
	deadline := time.Now().Add(hangAfter)
	for strings.Count(dumpGoroutines(), "backend-iocp.(*parker).Park(") < waiters {
		if time.Now().After(deadline) {
			t.Fatalf("not every waiter reached Park after %v", hangAfter)
		}
		time.Sleep(10 * time.Millisecond)
	}
	during, err := processThreads()
	if err != nil {
		t.Fatalf("second toolhelp thread count: %v", err)
	}
	packetErr := windows.NewLazySystemDLL("ntdll.dll").NewProc("NtAssociateWaitCompletionPacket").Find()
	t.Logf("%d OS threads before, %d with %d word waiters (wait completion packets in this ntdll: %v)", before, during, waiters, packetErr == nil)
	if limit := waiters/32 + maxExtraThreads; during-before > limit {
		t.Errorf("threads went from %d to %d with %d waiters, want at most %d more (a thread per waiter?)", before, during, waiters, limit)
	}
	for i := range waiters {
		wordAt(a, 4*i).Store(1)
		w.Wake(wordAt(a, 4*i), 1)
	}
	for range waiters {
		if err := within(t, "woken word waiters", results); err != nil {
			t.Fatalf("Wait = %v, want nil", err)
		}
	}
}

// Many goroutines of one process waiting on one word share one registered
// wait: each Wake hands one signal to one of them (the first), the
// registration is re-armed for the rest, and every Wake is used.
func TestWordWaiterHandsEachWakeToOneWaiter(t *testing.T) {
	const waiters = 100
	key, a, _ := twoViews(t, 4096)
	w := newBackend(t).WordWaiter()
	addRegion(t, w, key, a)
	word := wordAt(a, 0)
	results := make(chan error, waiters)
	for range waiters {
		go func() { results <- w.Wait(context.Background(), word, 0) }()
	}
	deadline := time.Now().Add(hangAfter)
	for strings.Count(dumpGoroutines(), "backend-iocp.(*parker).Park(") < waiters {
		if time.Now().After(deadline) {
			t.Fatalf("not every waiter reached Park after %v", hangAfter)
		}
		time.Sleep(time.Millisecond)
	}
	for i := range waiters {
		w.Wake(word, 1)
		if err := within(t, fmt.Sprintf("the Wait served by Wake %d", i+1), results); err != nil {
			t.Fatalf("Wait = %v, want nil", err)
		}
		if i < 3 { // a Wake wakes one, not more
			mustStayBlocked(t, "the other Waits after one Wake", results)
		}
	}
}

// A Wait that looked at the word just before another process changed it,
// woke it and exited (closing its handle to the word's event, the only
// one: this process had never waited on the word) still returns. The
// event with the Wake's signal is gone with its last handle, so the Wait
// must hold the event before the look at the word it goes to sleep on.
func TestWordWaiterWokenByAProcessThatLeftAtOnce(t *testing.T) {
	key, a, b := twoViews(t, 4096)
	wa, wb := newBackend(t).WordWaiter(), newBackend(t).WordWaiter()
	addRegion(t, wa, key, a)
	addRegion(t, wb, key, b)
	iocp.SetLookedHook(func() {
		iocp.SetLookedHook(nil)
		// The other process: change the word, wake it, detach.
		wordAt(b, 32).Store(1)
		if err := wb.Wake(wordAt(b, 32), 1); err != nil {
			t.Errorf("Wake = %v", err)
		}
		wb.RemoveRegion(b)
	})
	t.Cleanup(func() { iocp.SetLookedHook(nil) })
	if err := within(t, "Wait on a word changed and woken by a process that left", waitAsync(context.Background(), wa, wordAt(a, 32), 0)); err != nil {
		t.Fatalf("Wait = %v, want nil", err)
	}
}

// A Wait that ends leaves its watch's registered wait armed (leaving makes
// no system call). If a Wake sets the event just before RemoveRegion (the
// process detaches), that registration may take the signal and have its
// callback cancelled before it runs; RemoveRegion puts the signal back, so
// that the other processes' waiters on the word get it. Each round: an
// armed registration nobody waits on, a Wake, RemoveRegion, and the event,
// held open by "another process", must be set.
func TestRemoveRegionKeepsATakenSignal(t *testing.T) {
	const rounds = 200
	key, a, _ := twoViews(t, 4096)
	w := newBackend(t).WordWaiter()
	name, _ := windows.UTF16PtrFromString(key + "#0")
	other, err := windows.CreateEvent(nil, 0, 0, name)
	if other == 0 {
		t.Fatalf("CreateEvent(%s#0) = %v", key, err)
	}
	defer windows.CloseHandle(other)
	lost := 0
	for range rounds {
		if err := w.AddRegion(key, a); err != nil {
			t.Fatalf("AddRegion = %v", err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Millisecond)
		err := within(t, "Wait with a deadline", waitAsync(ctx, w, wordAt(a, 0), 0))
		cancel()
		if err == nil {
			t.Fatalf("Wait on an unchanged word = nil, want an error (a stale signal?)")
		}
		if err := w.Wake(wordAt(a, 0), 1); err != nil {
			t.Fatalf("Wake = %v", err)
		}
		w.RemoveRegion(a)
		if ev, err := windows.WaitForSingleObject(other, 0); err != nil || ev != windows.WAIT_OBJECT_0 {
			lost++
		}
	}
	if lost > 0 {
		t.Errorf("%d of %d Wakes lost: taken by a registration that RemoveRegion cancelled", lost, rounds)
	}
}
