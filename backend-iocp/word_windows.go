package iocp

import (
	"context"
	"fmt"
	"strings"
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
// the event. Per word and process there is one watch: the goroutines of
// this process in Wait on the word, in FIFO order, and at most one
// registered thread-pool wait on the event (RegisterWaitForSingleObject,
// WT_EXECUTEONLYONCE) whose callback takes the event's signal and hands it
// to the first of them by posting its Parker's packet to the port (or, if
// none waits any more, sets the event again for other processes). So a
// goroutine that joins or leaves a wait (a ctx that ends, a timeout) makes
// no system call unless it is the first waiter of an idle word, no
// goroutine holds an OS thread while it waits, and the thread pool waits on
// up to 63 events per thread: 10,000 waiters on 10,000 words use about 160
// pool threads. (Wait completion packets, NtAssociateWaitCompletionPacket,
// would need no pool thread at all; Wine 8.0, where this is tested, does
// not export them.)
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

	mu      sync.Mutex
	watches map[uintptr]*watch // by offset; guarded by mu
}

// A watch is this process's interest in one word's event.
//
// Invariants, under mu: every goroutine in Wait on the word is listed
// until it is handed a signal or leaves; while the list is non-empty a
// registered wait is pending (registered) or a goroutine leaving the watch
// is about to arm one (see Wait); a signal the callback took is handed to exactly one
// waiter (woken), and a waiter that leaves without using it hands it on, so
// no signal is lost inside the process.
type watch struct {
	ev windows.Handle // the named auto-reset event
	id uintptr        // the callback's context: its key in the watch table

	mu         sync.Mutex
	head, tail *wordWait      // the waiters, FIFO; guarded by mu
	registered bool           // a registered wait has not fired yet; guarded by mu
	wh         windows.Handle // the last registration; guarded by mu
}

// A wordWait is one goroutine in Wait: a node of its watch's list, so that
// leaving (10,000 lock waiters time out every 20 ms) costs O(1).
type wordWait struct {
	p          *parker
	prev, next *wordWait // guarded by the watch's mu
	listed     bool      // in the list; guarded by the watch's mu
	woken      bool      // handed a signal (its packet posted); guarded by the watch's mu
}

// WordWaiter returns a WordWaiter that parks through b's completion port.
func (b *Backend) WordWaiter() *WordWaiter { return &WordWaiter{b: b} }

// AddRegion announces the mapping mem of the region called key (the same
// key in every process that maps it). The events' names, key#offset, share
// the object namespace with every other named object of the session, so
// the key should be in a namespace of its own: the shared module passes
// the region's path under `Local\gosync-words:`, a prefix none of its file
// mappings has. It fails for an empty mapping or key, a key holding a '\'
// other than its namespace prefix's (Local\, Global\, Session\<n>\), or
// a mapping that overlaps one already added.
func (w *WordWaiter) AddRegion(key string, mem []byte) error {
	if len(mem) == 0 || key == "" {
		return fmt.Errorf("iocp: WordWaiter.AddRegion(%q, %d bytes): need a key and a non-empty mapping", key, len(mem))
	}
	base := uintptr(unsafe.Pointer(unsafe.SliceData(mem)))
	r := &wordRegion{key: key, base: base, end: base + uintptr(len(mem)), watches: map[uintptr]*watch{}}
	if _, err := windows.UTF16PtrFromString(r.eventName(0)); err != nil {
		return fmt.Errorf("iocp: WordWaiter.AddRegion(%q): not a valid object name: %w", key, err)
	}
	if strings.Contains(withoutNamespace(key), `\`) {
		return fmt.Errorf(`iocp: WordWaiter.AddRegion(%q): a '\' past the namespace prefix (Local\, Global\, Session\<n>\): the events' names would be paths into directories that do not exist`, key)
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

// RemoveRegion forgets the mapping mem, cancels the registered waits on
// its words' events (waiting for a callback that is running), sets the
// event of each registered wait whose callback never ran (it may have
// taken a signal meant for another process: a spurious wake at worst) and
// closes the events. Nothing may wait on or wake a word in it any more. A
// mapping never added is ignored.
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
	for off, wa := range r.watches {
		wa.mu.Lock()
		wh := wa.wh
		wa.wh = 0
		wa.mu.Unlock()
		if wh != 0 {
			// INVALID_HANDLE_VALUE: return once a running callback is done.
			// A callback that has not started yet is cancelled, even when
			// its wait has already taken the event's signal (under Wine in
			// 166 of 300 and 181 of 200 rounds of a Wake just before).
			procUnregisterWaitEx.Call(uintptr(wh), uintptr(windows.InvalidHandle))
		}
		// Still registered: the callback never ran fired, so the wait may
		// have taken a signal that nobody will hand on. Put one back: at
		// worst a Wait elsewhere returns spuriously and re-checks, where
		// losing it would leave another process's waiter asleep until its
		// poll (TestRemoveRegionKeepsATakenSignal).
		wa.mu.Lock()
		if wa.registered {
			wa.registered = false
			windows.SetEvent(wa.ev)
		}
		wa.mu.Unlock()
		watches.remove(wa.id)
		windows.CloseHandle(wa.ev)
		delete(r.watches, off)
	}
}

// withoutNamespace returns key without its object namespace prefix
// (Local\, Global\ or Session\<n>\), if it has one.
func withoutNamespace(key string) string {
	for _, p := range []string{`Local\`, `Global\`} {
		if rest, ok := strings.CutPrefix(key, p); ok {
			return rest
		}
	}
	if rest, ok := strings.CutPrefix(key, `Session\`); ok {
		if n, after, ok := strings.Cut(rest, `\`); ok && n != "" && strings.Trim(n, "0123456789") == "" {
			return after
		}
	}
	return key
}

func (r *wordRegion) eventName(off uintptr) string { return fmt.Sprintf("%s#%x", r.key, off) }

// watchOf returns this process's watch of word, creating its named
// auto-reset event (or opening the one another process created) on first
// use.
func (w *WordWaiter) watchOf(word *atomic.Uint32) (*watch, error) {
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
		return nil, fmt.Errorf("iocp: WordWaiter: the word at %#x is in no region added with AddRegion", addr)
	}
	off := addr - r.base
	r.mu.Lock()
	defer r.mu.Unlock()
	if wa, ok := r.watches[off]; ok {
		return wa, nil
	}
	name, err := windows.UTF16PtrFromString(r.eventName(off))
	if err != nil {
		return nil, err
	}
	// Auto-reset, initially clear. ERROR_ALREADY_EXISTS comes with a valid
	// handle to the event another process (or mapping) created.
	h, err := windows.CreateEvent(nil, 0, 0, name)
	if h == 0 {
		return nil, fmt.Errorf("iocp: WordWaiter: CreateEvent(%s): %w", r.eventName(off), err)
	}
	wa := &watch{ev: h}
	wa.id = watches.add(wa)
	r.watches[off] = wa
	return wa, nil
}

// Wait blocks while *word == val. It returns nil when it is handed a
// signal of the word's event (set by a Wake in any process, or left by an
// earlier Wake that found no waiter: a spurious return, after which the
// caller re-checks the word), or at once if the word already differs;
// ctx.Err() once ctx ends; an error wrapping ErrClosed once the Backend is
// closed; or another error if the word is in no added region or the wait
// cannot be registered. Because the event keeps a Wake's signal until a
// registered wait takes it, and Wait holds the event open before its last
// check of the word, a Wake that comes between that check and the
// registration is not lost, even if the waker then closes its handle at
// once (exits or detaches); a signal handed to a Wait whose ctx ends at the
// same moment is handed on (to the next waiter of this process, or back to
// the event).
func (w *WordWaiter) Wait(ctx context.Context, word *atomic.Uint32, val uint32) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if word.Load() != val {
		return nil
	}
	if testHookLooked != nil {
		testHookLooked()
	}
	wa, err := w.watchOf(word)
	if err != nil {
		return err
	}
	// Look again now that this process holds the event open: a Wake after
	// this look sets an event that keeps the signal until a registered wait
	// takes it. Before watchOf the event may have had no handle but the
	// waker's, and a waker that exits (or detaches) at once destroyed it,
	// signal and all, so that watchOf created a fresh, clear one
	// (TestWordWaiterWokenByAProcessThatLeftAtOnce).
	if word.Load() != val {
		return nil
	}
	me := &wordWait{p: w.b.NewParker().(*parker)}
	wa.mu.Lock()
	wa.pushLocked(me)
	if err := wa.armLocked(); err != nil {
		wa.leaveLocked(me)
		wa.mu.Unlock()
		return err
	}
	wa.mu.Unlock()

	err = me.p.Park(ctx)

	wa.mu.Lock()
	wa.leaveLocked(me)
	if err != nil && me.woken {
		wa.handOnLocked() // a signal we will not act on: pass it on
	}
	// The callback does not re-arm (registering from a pool callback is
	// best avoided): whoever leaves the watch arms it for those still
	// waiting.
	var armErr error
	if wa.head != nil {
		armErr = wa.armLocked()
	}
	wa.mu.Unlock()
	if armErr != nil {
		// The others would wait for a registration that cannot be made:
		// wake them all, so they re-check and fail in their own Wait.
		wa.mu.Lock()
		for wa.head != nil {
			wa.handOnLocked()
		}
		wa.mu.Unlock()
	}
	if err == nil {
		return nil
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		return ctxErr
	}
	return fmt.Errorf("iocp: WordWaiter.Wait: %w", err)
}

// armLocked registers a one-shot wait on the event unless one is pending.
// It first releases the previous registration, which has fired (its
// callback may still be finishing: the release does not wait for it).
func (wa *watch) armLocked() error {
	if wa.registered {
		return nil
	}
	if wa.wh != 0 {
		procUnregisterWaitEx.Call(uintptr(wa.wh), 0)
		wa.wh = 0
	}
	var wh windows.Handle
	r, _, errno := procRegisterWaitForSingleObject.Call(uintptr(unsafe.Pointer(&wh)), uintptr(wa.ev), waitCallback, wa.id,
		infinite, wtExecuteOnlyOnce)
	if r == 0 {
		return fmt.Errorf("iocp: WordWaiter.Wait: RegisterWaitForSingleObject: %w", errno)
	}
	wa.wh, wa.registered = wh, true
	return nil
}

// pushLocked appends ww to the waiters.
func (wa *watch) pushLocked(ww *wordWait) {
	ww.prev, ww.next, ww.listed = wa.tail, nil, true
	if wa.tail != nil {
		wa.tail.next = ww
	} else {
		wa.head = ww
	}
	wa.tail = ww
}

// leaveLocked removes ww from the waiters if it is still there.
func (wa *watch) leaveLocked(ww *wordWait) {
	if !ww.listed {
		return
	}
	if ww.prev != nil {
		ww.prev.next = ww.next
	} else {
		wa.head = ww.next
	}
	if ww.next != nil {
		ww.next.prev = ww.prev
	} else {
		wa.tail = ww.prev
	}
	ww.prev, ww.next, ww.listed = nil, nil, false
}

// handOnLocked gives one signal of the event to the first waiter of this
// process (posting its Parker's packet), or, if none waits, sets the event
// again so that a waiter of another process (or a later one) gets it.
func (wa *watch) handOnLocked() {
	ww := wa.head
	if ww == nil {
		windows.SetEvent(wa.ev)
		return
	}
	wa.leaveLocked(ww)
	ww.woken = true
	ww.p.Unpark()
}

// fired runs in the thread-pool callback when the registered wait took the
// event's signal.
func (wa *watch) fired() {
	wa.mu.Lock()
	wa.registered = false
	wa.handOnLocked()
	wa.mu.Unlock()
}

// Wake sets the event of word, in whichever process it was created: if a
// wait is registered on it (at most one per process), exactly one takes
// the signal and hands it to one waiter; if none is, the event keeps the
// signal for the next one (which then returns, maybe spuriously). So it
// wakes one waiter whatever n is (n <= 0 wakes none): an auto-reset event
// holds a single signal. That is all the shared semaphore needs (it wakes
// one at a time: a waiter slot's word has one waiter, and each lock holder
// that took the lock contended wakes the next); a waiter that missed a wake
// to another returns at the next Wake on the word. It fails if the word is
// in no added region or the event cannot be set.
func (w *WordWaiter) Wake(word *atomic.Uint32, n int) error {
	if n <= 0 {
		return nil
	}
	wa, err := w.watchOf(word)
	if err != nil {
		return err
	}
	if err := windows.SetEvent(wa.ev); err != nil {
		return fmt.Errorf("iocp: WordWaiter.Wake: SetEvent: %w", err)
	}
	return nil
}

// watchTable maps the integer context of each watch's registered wait to
// the watch: the kernel is handed the integer, never a Go pointer.
type watchTable struct {
	mu   sync.Mutex
	next uintptr
	m    map[uintptr]*watch
}

var watches = watchTable{m: map[uintptr]*watch{}}

func (t *watchTable) add(wa *watch) uintptr {
	t.mu.Lock()
	defer t.mu.Unlock()
	for {
		t.next++
		if t.next != 0 && t.m[t.next] == nil {
			break
		}
	}
	t.m[t.next] = wa
	return t.next
}

func (t *watchTable) remove(id uintptr) {
	t.mu.Lock()
	delete(t.m, id)
	t.mu.Unlock()
}

func (t *watchTable) get(id uintptr) *watch {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.m[id]
}

// testHookLooked, when set (tests only), runs in Wait after its first look
// at the word found it unchanged and before the word's watch is looked up.
var testHookLooked func()

// wtExecuteOnlyOnce makes a registered wait fire once. The callback runs
// on a pool worker thread, not on the wait thread (no
// WT_EXECUTEINWAITTHREAD): it takes the watch's mutex, and Windows warns
// that a wait-thread callback that waits for a lock held by a thread that
// unregisters a wait can deadlock.
const wtExecuteOnlyOnce = 0x8

var (
	procRegisterWaitForSingleObject = windows.NewLazySystemDLL("kernel32.dll").NewProc("RegisterWaitForSingleObject")
	procUnregisterWaitEx            = windows.NewLazySystemDLL("kernel32.dll").NewProc("UnregisterWaitEx")

	// waitCallback is the one WAITORTIMERCALLBACK of every watch (Go can
	// create only a few thousand callbacks, and never frees them). It runs
	// on a thread-pool worker thread when the event is signalled.
	waitCallback = windows.NewCallback(func(id, timedOut uintptr) uintptr {
		if wa := watches.get(id); wa != nil {
			wa.fired()
		}
		return 0
	})
)
