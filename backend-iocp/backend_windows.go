package iocp

import (
	"errors"
	"fmt"
	"runtime"
	"sync"

	"golang.org/x/sys/windows"

	"github.com/compio-sync/gosync/core"
)

// breakKey is the completion key of the packet Close posts to stop the
// dispatcher. No Parker is ever given this key.
const breakKey uintptr = 0

// Backend parks goroutines on a private I/O completion port. It is safe for
// concurrent use. Create it with [New] and release its port and goroutine
// with [Backend.Close].
type Backend struct {
	port      windows.Handle
	batchSize int

	// portMu guards the port handle's lifetime. post holds it for reading
	// while it posts; Close takes it for writing to set closing. So no
	// packet is ever posted to a handle value that Close has released and
	// Windows may have handed to another object.
	portMu  sync.RWMutex
	closing bool // guarded by portMu

	// registry maps the completion key of every Parker not yet collected to
	// its slot. The map holds slots, never Parkers, so it keeps no Parker
	// alive; a cleanup attached to each Parker deletes its entry.
	regMu    sync.Mutex
	registry map[uintptr]*slot // guarded by regMu
	lastKey  uintptr           // guarded by regMu; the last key handed out

	// dead is closed exactly once, when the backend is closed or its
	// dispatcher failed; deadErr, written before the close, says which.
	// Every Park selects on dead, so closing it fails parked and later
	// Parks at once.
	dead     chan struct{}
	deadErr  error
	deadOnce sync.Once

	closeOnce      sync.Once
	closeErr       error
	dispatcherDone chan struct{} // closed when the dispatcher goroutine returns
}

// New creates a private completion port and starts the dispatcher goroutine
// that serves it. On success it returns the Backend, which must be closed
// with Close to release both. It fails with the first invalid option's
// error; with an error wrapping errors.ErrUnsupported if kernel32.dll lacks
// GetQueuedCompletionStatusEx (Windows older than Vista); or with the error
// of CreateIoCompletionPort.
func New(opts ...Option) (*Backend, error) {
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	if err := procGetQueuedCompletionStatusEx.Find(); err != nil {
		return nil, fmt.Errorf("iocp: New: kernel32.dll has no GetQueuedCompletionStatusEx (Windows Vista or later is needed): %v: %w",
			err, errors.ErrUnsupported)
	}
	// A port not associated with any file: only this package posts to it.
	// Concurrency 1, because one thread (the dispatcher's) dequeues.
	port, err := windows.CreateIoCompletionPort(windows.InvalidHandle, 0, 0, 1)
	if err != nil {
		return nil, fmt.Errorf("iocp: New: CreateIoCompletionPort: %w", err)
	}
	b := &Backend{
		port:           port,
		batchSize:      cfg.batchSize,
		registry:       make(map[uintptr]*slot),
		dead:           make(chan struct{}),
		dispatcherDone: make(chan struct{}),
	}
	go b.dispatch()
	return b, nil
}

// Name returns "iocp".
func (*Backend) Name() string { return "iocp" }

// NewParker returns a Parker with no token pending, registered under a
// fresh completion key. It never returns nil and never fails; a Parker
// created after Close fails every Park with ErrClosed. The Parker needs no
// close call: when the garbage collector frees it, a cleanup removes its
// key from the Backend's registry.
func (b *Backend) NewParker() core.Parker {
	s := &slot{bell: make(chan struct{}, 1)}
	b.regMu.Lock()
	// Skip breakKey and, after the counter wraps (possible only where
	// uintptr is 32 bits wide), keys still in use.
	for {
		b.lastKey++
		if b.lastKey != breakKey && b.registry[b.lastKey] == nil {
			break
		}
	}
	s.key = b.lastKey
	b.registry[s.key] = s
	b.regMu.Unlock()

	p := &parker{b: b, s: s}
	// The cleanup and its argument reference b and the key, not p, so they
	// do not keep p reachable.
	runtime.AddCleanup(p, b.forget, s.key)
	return p
}

// forget removes key from the registry. It runs as the cleanup of a
// collected Parker; a packet for key still in the port is dropped by the
// dispatcher, since nothing can Park on that Parker any more.
func (b *Backend) forget(key uintptr) {
	b.regMu.Lock()
	delete(b.registry, key)
	b.regMu.Unlock()
}

// post queues a packet carrying key on the port. It reports false, posting
// nothing, once Close has begun, and false if the kernel refused the packet;
// the caller then delivers the token itself.
func (b *Backend) post(key uintptr) bool {
	b.portMu.RLock()
	defer b.portMu.RUnlock()
	if b.closing {
		return false
	}
	// lpOverlapped is nil and the key an integer: no Go pointer reaches the
	// kernel, so nothing has to be pinned while the packet is queued.
	return windows.PostQueuedCompletionStatus(b.port, 0, key, nil) == nil
}

// dispatch is the one goroutine that waits on the port. It dequeues up to
// batchSize packets per system call and delivers each one's token to the
// Parker its key names. It returns after a batch that held the break
// packet, or when the wait itself fails, which kills the backend.
func (b *Backend) dispatch() {
	defer close(b.dispatcherDone)
	entries := make([]overlappedEntry, b.batchSize)
	slots := make([]*slot, 0, b.batchSize)
	for {
		n, err := getQueuedCompletionStatusEx(b.port, entries)
		if err != nil {
			// After Close has killed the backend this is the port being
			// closed under us (the fallback when the break packet could not
			// be posted) and die does nothing.
			b.die(fmt.Errorf("iocp: waiting on the completion port failed, the backend is unusable: %w", err))
			return
		}
		stop := false
		b.regMu.Lock() // one lock per batch, not per packet
		for _, e := range entries[:n] {
			if e.key == breakKey {
				stop = true
				continue
			}
			// A missing key is a Parker collected with its token in flight.
			if s := b.registry[e.key]; s != nil {
				slots = append(slots, s)
			}
		}
		b.regMu.Unlock()
		for i, s := range slots {
			s.deliver()
			slots[i] = nil // do not keep slots reachable between batches
		}
		slots = slots[:0]
		if stop {
			return
		}
	}
}

// die fails parked and later Parks with err. Only its first call counts.
func (b *Backend) die(err error) {
	b.deadOnce.Do(func() {
		b.deadErr = err // written before close(dead); read only after <-dead
		close(b.dead)
	})
}

// Close stops the backend: it fails parked and later Parks with an error
// wrapping ErrClosed, wakes the dispatcher with a break packet, waits for
// the dispatcher goroutine to return and closes the port. When Close
// returns, the Backend has no goroutine left. Unparks after Close are
// harmless and do nothing visible. Close is idempotent: later calls do
// nothing and return what the first returned, which is nil unless posting
// the break packet or closing the port failed.
func (b *Backend) Close() error {
	b.closeOnce.Do(func() { b.closeErr = b.close() })
	return b.closeErr
}

func (b *Backend) close() error {
	// From here on no Unpark posts (it delivers directly instead), and once
	// Lock returns no post is in progress: the handle can be closed below.
	b.portMu.Lock()
	b.closing = true
	b.portMu.Unlock()

	b.die(ErrClosed)

	var errs []error
	if err := windows.PostQueuedCompletionStatus(b.port, 0, breakKey, nil); err != nil {
		// The dispatcher cannot be woken by a packet. Closing the port ends
		// its wait with ERROR_ABANDONED_WAIT_0 instead (Windows Vista and
		// later), and it returns because the backend is already dead.
		errs = append(errs, fmt.Errorf("iocp: Close: posting the break packet: %w", err))
		if err := windows.CloseHandle(b.port); err != nil {
			errs = append(errs, fmt.Errorf("iocp: Close: CloseHandle: %w", err))
		}
		<-b.dispatcherDone
		return errors.Join(errs...)
	}
	<-b.dispatcherDone
	if err := windows.CloseHandle(b.port); err != nil {
		return fmt.Errorf("iocp: Close: CloseHandle: %w", err)
	}
	return nil
}

var _ core.Backend = (*Backend)(nil)
