package iocp

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/windows"
)

// A WordWaiter waits on 32-bit words in memory shared with other processes
// (a named file mapping) through the Backend's completion port. Windows
// cannot wait on an address across processes (WaitOnAddress is
// process-local), so every word that is waited on gets a named auto-reset
// event, called after its region's key and the word's offset in the
// region: the same event in every process that maps the region. Wake sets
// the event; Wait registers a one-shot wait on it with
// RegisterWaitForSingleObject (WT_EXECUTEONLYONCE|WT_EXECUTEINWAITTHREAD)
// whose callback posts a packet to the port, and parks on that packet like
// a Parker. The thread pool waits on up to 63 objects per thread, so
// waiters need no thread each: 10,000 waiters use about 160 pool threads,
// and no goroutine holds an OS thread while it waits. (Wait completion
// packets, NtAssociateWaitCompletionPacket, would need no pool thread at
// all; Wine 8.0, where this is tested, does not export them.)
//
// It has the method set of the shared module's RegionWaiter contract
// (github.com/compio-sync/gosync/shared), which it satisfies without
// either module importing the other: the shared semaphore calls AddRegion
// with each mapping before it waits on a word inside it. It is safe for
// concurrent use, and valid until the Backend is closed.
type WordWaiter struct {
	b *Backend

	mu      sync.RWMutex
	regions []*wordRegion // guarded by mu
}

// wordRegion is one mapping added with AddRegion and the events opened for
// its words.
type wordRegion struct {
	key       string
	base, end uintptr

	mu     sync.Mutex
	events map[uintptr]windows.Handle // by offset; guarded by mu
}

// WordWaiter returns a WordWaiter that parks through b's completion port.
func (b *Backend) WordWaiter() *WordWaiter { return &WordWaiter{b: b} }

// AddRegion announces the mapping mem of the region called key (the same
// key in every process that maps it; the shared module passes the name of
// its file mapping, `Local\...`). It fails for an empty mapping or key, a
// key holding a '\' other than a namespace prefix's, or a mapping that
// overlaps one already added.
func (w *WordWaiter) AddRegion(key string, mem []byte) error {
	if len(mem) == 0 || key == "" {
		return fmt.Errorf("iocp: WordWaiter.AddRegion(%q, %d bytes): need a key and a non-empty mapping", key, len(mem))
	}
	base := uintptr(unsafe.Pointer(unsafe.SliceData(mem)))
	r := &wordRegion{key: key, base: base, end: base + uintptr(len(mem)), events: map[uintptr]windows.Handle{}}
	if _, err := windows.UTF16PtrFromString(r.eventName(0)); err != nil {
		return fmt.Errorf("iocp: WordWaiter.AddRegion(%q): not a valid object name: %w", key, err)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, o := range w.regions {
		if r.base < o.end && o.base < r.end {
			return fmt.Errorf("iocp: WordWaiter.AddRegion(%q): the mapping overlaps region %q, added before", key, o.key)
		}
	}
	w.regions = append(w.regions, r)
	return nil
}

// RemoveRegion forgets the mapping mem and closes the events opened for
// its words. Nothing may wait on or wake a word in it any more. A mapping
// never added is ignored.
func (w *WordWaiter) RemoveRegion(mem []byte) {
	base := uintptr(unsafe.Pointer(unsafe.SliceData(mem)))
	w.mu.Lock()
	var r *wordRegion
	for i, o := range w.regions {
		if o.base == base {
			r = o
			w.regions = append(w.regions[:i], w.regions[i+1:]...)
			break
		}
	}
	w.mu.Unlock()
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for off, h := range r.events {
		windows.CloseHandle(h)
		delete(r.events, off)
	}
}

func (r *wordRegion) eventName(off uintptr) string { return fmt.Sprintf("%s#%x", r.key, off) }

// event returns the named auto-reset event of word, creating it (or opening
// the one another process created) on first use.
func (w *WordWaiter) event(word *atomic.Uint32) (windows.Handle, error) {
	addr := uintptr(unsafe.Pointer(word))
	w.mu.RLock()
	var r *wordRegion
	for _, o := range w.regions {
		if o.base <= addr && addr < o.end {
			r = o
			break
		}
	}
	w.mu.RUnlock()
	if r == nil {
		return 0, fmt.Errorf("iocp: WordWaiter: the word at %#x is in no region added with AddRegion", addr)
	}
	off := addr - r.base
	r.mu.Lock()
	defer r.mu.Unlock()
	if h, ok := r.events[off]; ok {
		return h, nil
	}
	name, err := windows.UTF16PtrFromString(r.eventName(off))
	if err != nil {
		return 0, err
	}
	// Auto-reset, initially clear. ERROR_ALREADY_EXISTS comes with a valid
	// handle to the event another process (or mapping) created.
	h, err := windows.CreateEvent(nil, 0, 0, name)
	if h == 0 {
		return 0, fmt.Errorf("iocp: WordWaiter: CreateEvent(%s): %w", r.eventName(off), err)
	}
	r.events[off] = h
	return h, nil
}

// Wait blocks while *word == val. It returns nil when the word's event is
// signalled (by a Wake in any process, or a signal left by an earlier Wake
// that found no waiter: a spurious return, after which the caller re-checks
// the word), or at once if the word already differs; ctx.Err() once ctx
// ends; an error wrapping ErrClosed once the Backend is closed; or another
// error if the word is in no added region or the wait cannot be
// registered. Because the event keeps a Wake's signal until a wait takes
// it, a Wake that comes between the check of the word and the registration
// of the wait is not lost. A wait that took the event's signal just as ctx
// ended sets the event again before Wait returns ctx.Err(), so that the
// signal reaches another waiter. When Wait returns, the registered wait is
// gone.
func (w *WordWaiter) Wait(ctx context.Context, word *atomic.Uint32, val uint32) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if word.Load() != val {
		return nil
	}
	ev, err := w.event(word)
	if err != nil {
		return err
	}
	p := w.b.NewParker().(*parker)
	rw := &registeredWait{p: p}
	id := waits.add(rw)
	defer waits.remove(id)
	var wh windows.Handle
	r, _, errno := procRegisterWaitForSingleObject.Call(uintptr(unsafe.Pointer(&wh)), uintptr(ev), waitCallback, id,
		infinite, wtExecuteOnlyOnce|wtExecuteInWaitThread)
	if r == 0 {
		return fmt.Errorf("iocp: WordWaiter.Wait: RegisterWaitForSingleObject: %w", errno)
	}
	err = p.Park(ctx)
	// INVALID_HANDLE_VALUE: return only once a running callback is done, so
	// that fired below is final.
	procUnregisterWaitEx.Call(uintptr(wh), uintptr(windows.InvalidHandle))
	if err == nil {
		return nil
	}
	if rw.fired.Load() {
		windows.SetEvent(ev) // pass on the signal this wait took but will not act on
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		return ctxErr
	}
	return fmt.Errorf("iocp: WordWaiter.Wait: %w", err)
}

// Wake sets the event of word, in whichever process it was created: if a
// wait is registered on it, exactly one is released; if none is, the event
// keeps the signal for the next one (which then returns, maybe spuriously).
// So it wakes one waiter whatever n is (n <= 0 wakes none): an auto-reset
// event holds a single signal. That is all the shared semaphore needs (it
// wakes one at a time: a waiter slot's word has one waiter, and each
// lock holder that took the lock contended wakes the next); a waiter that
// missed a wake to another returns at the next Wake on the word. It fails
// if the word is in no added region or the event cannot be set.
func (w *WordWaiter) Wake(word *atomic.Uint32, n int) error {
	if n <= 0 {
		return nil
	}
	ev, err := w.event(word)
	if err != nil {
		return err
	}
	if err := windows.SetEvent(ev); err != nil {
		return fmt.Errorf("iocp: WordWaiter.Wake: SetEvent: %w", err)
	}
	return nil
}

// A registeredWait is what the thread-pool callback of one Wait reaches:
// its Parker, and whether the wait fired (took the event's signal).
type registeredWait struct {
	p     *parker
	fired atomic.Bool
}

// waitTable maps the integer context of each registered wait to its
// registeredWait: the kernel is handed the integer, never a Go pointer.
type waitTable struct {
	mu   sync.Mutex
	next uintptr
	m    map[uintptr]*registeredWait
}

var waits = waitTable{m: map[uintptr]*registeredWait{}}

func (t *waitTable) add(rw *registeredWait) uintptr {
	t.mu.Lock()
	defer t.mu.Unlock()
	for {
		t.next++
		if t.next != 0 && t.m[t.next] == nil {
			break
		}
	}
	t.m[t.next] = rw
	return t.next
}

func (t *waitTable) remove(id uintptr) {
	t.mu.Lock()
	delete(t.m, id)
	t.mu.Unlock()
}

func (t *waitTable) get(id uintptr) *registeredWait {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.m[id]
}

// Flags of RegisterWaitForSingleObject: fire once, and run the callback on
// the pool's wait thread itself (it only posts a packet).
const (
	wtExecuteInWaitThread = 0x4
	wtExecuteOnlyOnce     = 0x8
)

var (
	procRegisterWaitForSingleObject = windows.NewLazySystemDLL("kernel32.dll").NewProc("RegisterWaitForSingleObject")
	procUnregisterWaitEx            = windows.NewLazySystemDLL("kernel32.dll").NewProc("UnregisterWaitEx")

	// waitCallback is the one WAITORTIMERCALLBACK of every Wait (Go can
	// create only a few thousand callbacks, and never frees them). It runs
	// on a thread-pool thread when the event is signalled: it marks the
	// wait fired and posts its Parker's packet to the port.
	waitCallback = windows.NewCallback(func(id, timedOut uintptr) uintptr {
		if rw := waits.get(id); rw != nil {
			rw.fired.Store(true)
			rw.p.Unpark()
		}
		return 0
	})
)
