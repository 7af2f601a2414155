package iouring

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/compio-sync/gosync/backend-iouring/internal/ring"
	"github.com/compio-sync/gosync/core"
	"golang.org/x/sys/unix"
)

// internalTag marks the user_data of requests whose CQEs nobody waits for
// (cancels, ring wakes). Wait requests use ids below it.
const internalTag = 1 << 63

// resFailed is delivered to a waiting Park instead of a CQE result when the
// backend failed; b.failed holds the error. No kernel result is this value.
const resFailed = -1 << 31

// Backend parks goroutines on io_uring futex waits. It is safe for
// concurrent use. Create it with New and release it with Close.
type Backend struct {
	cfg config
	r   *ring.Ring
	efd *os.File // eventfd registered with the ring, read through the netpoller

	// mu guards the submission side of r and the bookkeeping below.
	mu       sync.Mutex
	room     sync.Cond // submitters asleep until SQ room is theirs (room_linux.go)
	flushed  sync.Cond // broadcast when a flush ends (Close waits for it)
	flushing bool      // a goroutine is submitting the SQ on everyone's behalf
	closed   bool
	failed   error              // first fatal error; every later submit fails with it
	nextID   uint64             // user_data of the next wait
	inflight map[uint64]*parker // waits whose result was not delivered yet

	// Submitters waiting for room (room_linux.go), guarded by mu too:
	// roomWaiting are asleep in room.Wait and not yet woken; roomWoken were
	// woken and have not retaken mu yet, and each is owed one SQ slot.
	// futileWakeups counts woken submitters that found no slot and slept
	// again (read by tests through export_linux_test.go).
	roomWaiting   int
	roomWoken     int
	futileWakeups int

	closedFlag atomic.Bool   // mirrors closed for lock-free checks
	closing    chan struct{} // closed by Close: stops the goPhase sweeper
	gp         goPhase       // bounds the Go phase of every Park

	cqMu  sync.Mutex // guards the completion side of r and batch
	batch []ring.CQE

	reaperDone chan struct{}
	drained    chan struct{} // after Close: signalled when inflight empties
	closeOnce  sync.Once
	closeErr   error
}

// New creates a ring, checks that the kernel supports the futex operations
// and starts the reaper goroutine. It returns an error satisfying
// errors.Is(err, errors.ErrUnsupported) (an *UnsupportedError saying why)
// when io_uring or its futex ops are unavailable, and another error when
// setting up an otherwise supported ring fails (for example on ENOMEM from
// the locked-memory limit).
func New(opts ...Option) (*Backend, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	r, err := openRing(&cfg)
	if err != nil {
		return nil, err
	}
	if err := probe(&cfg, r); err != nil {
		r.Close()
		return nil, err
	}
	efd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		r.Close()
		return nil, fmt.Errorf("iouring: eventfd: %w", err)
	}
	if err := r.RegisterEventfd(efd); err != nil {
		unix.Close(efd)
		r.Close()
		return nil, fmt.Errorf("iouring: %w", err)
	}
	b := &Backend{
		cfg:        cfg,
		r:          r,
		efd:        os.NewFile(uintptr(efd), "iouring-eventfd"), // non-blocking: served by the netpoller
		nextID:     1,
		inflight:   make(map[uint64]*parker),
		reaperDone: make(chan struct{}),
		drained:    make(chan struct{}, 1),
		closing:    make(chan struct{}),
	}
	b.room.L = &b.mu
	b.flushed.L = &b.mu
	b.gp.tick = cfg.goWait / 2
	b.gp.closing = b.closing
	go b.reaper()
	return b, nil
}

// Name returns "iouring".
func (*Backend) Name() string { return "iouring" }

// NewParker returns a Parker with no token pending. It holds no kernel
// resource while not parked, so it may be dropped without a call. Parkers
// of a closed Backend fail every Park that finds no token.
func (b *Backend) NewParker() core.Parker {
	return &parker{b: b, done: make(chan int32, 1), goWake: make(chan struct{}, 1)}
}

// Close cancels every in-flight wait (each such Park returns an error
// wrapping ErrClosed), stops the reaper goroutine, unmaps the ring and
// closes its descriptors. Later Parks fail with ErrClosed unless a token is
// already pending; Unpark keeps working (it only publishes the token). Close
// is idempotent: every call returns the first call's result.
func (b *Backend) Close() error {
	b.closeOnce.Do(func() { b.closeErr = b.close() })
	return b.closeErr
}

func (b *Backend) close() error {
	b.mu.Lock()
	b.closed = true
	b.closedFlag.Store(true)
	close(b.closing)
	// Every submitter asleep for room returns ErrClosed; after closed is set
	// nobody pushes or starts a flush. Wait out the flush in progress so the
	// SQ is ours.
	b.broadcastRoomLocked()
	for b.flushing {
		b.flushed.Wait()
	}
	for len(b.inflight) > 0 && b.failed == nil {
		// Cancel every request in the ring. The waits complete with
		// -ECANCELED (or 0 if a wake won) and the reaper delivers them;
		// repeat in case a wait was armed after the cancel ran.
		b.r.Push(&ring.SQE{Opcode: ring.OpAsyncCancel, Fd: -1, OpFlags: ring.AsyncCancelAny, UserData: internalTag})
		if _, err := b.r.Enter(b.r.Unsubmitted(), 0, 0); err != nil {
			b.failLocked(fmt.Errorf("iouring: cancelling waits on Close: %w", err))
			break
		}
		b.mu.Unlock()
		select {
		case <-b.drained:
		case <-time.After(100 * time.Millisecond):
		}
		b.mu.Lock()
	}
	b.mu.Unlock()
	// Every Park in its Go phase returns ErrClosed (unless its token came);
	// the sweeper exits.
	b.gp.close()
	// Closing the eventfd wakes the reaper's Read with os.ErrClosed; the
	// ring is unmapped only after the reaper stopped touching it.
	errEfd := b.efd.Close()
	<-b.reaperDone
	// A tryReap that checked closedFlag before Close set it may still hold
	// cqMu and be reading the CQ: take cqMu so the unmap waits for it (later
	// tryReaps see closedFlag and leave the ring alone).
	b.cqMu.Lock()
	errRing := b.r.Close()
	b.cqMu.Unlock()
	if err := errors.Join(errEfd, errRing); err != nil {
		return fmt.Errorf("iouring: Close: %w", err)
	}
	return nil
}

// submit pushes sqe and makes sure it reaches the kernel. If p is not nil,
// the SQE is p's wait: it is given a fresh user_data and p is registered in
// inflight, which keeps p (and so its futex word) reachable until the
// result is delivered. It returns the wait's id, or an error (ErrClosed or
// the failure) with nothing pushed or registered.
//
// Batching (flat combining): the first goroutine to find no flush running
// becomes the flusher and calls io_uring_enter for everything pushed until
// the SQ is drained; goroutines that push meanwhile return at once, their
// SQEs submitted by the flusher's next io_uring_enter. A goroutine that
// finds no free slot (none, or all owed to woken submitters) sleeps until
// the flusher gives it one (room_linux.go), or until Close or a failure.
func (b *Backend) submit(sqe *ring.SQE, p *parker) (uint64, error) {
	b.mu.Lock()
	woke := false
	for {
		// Every way out of this loop but the push is closed or failed,
		// after which every sleeper has been woken: a woken submitter never
		// leaves a slot it was owed unused while another sleeps.
		if b.closed {
			b.mu.Unlock()
			return 0, ErrClosed
		}
		if b.failed != nil {
			err := b.failed
			b.mu.Unlock()
			return 0, err
		}
		// Only room beyond the slots owed to woken submitters is free; a
		// woken submitter has given its own back (waitRoomLocked), so it
		// finds its slot here.
		if b.r.Space() > uint32(b.roomWoken) {
			break
		}
		if b.r.Space() == 0 && !b.flushing {
			// Full with nobody flushing: only a failure ends a flush with
			// SQEs unsubmitted, but if one did, the SQ would stay full and
			// the sleepers unwoken: become the flusher.
			b.flushLocked()
			continue
		}
		if woke {
			b.futileWakeups++
		}
		b.waitRoomLocked()
		woke = true
	}
	var id uint64
	if p != nil {
		id = b.nextID
		b.nextID++
		sqe.UserData = id
		b.inflight[id] = p
	}
	b.r.Push(sqe) // cannot fail: Space() > roomWoken >= 0 under mu
	if !b.flushing {
		b.flushLocked()
	}
	b.mu.Unlock()
	return id, nil
}

// flushLocked submits the SQ until it is empty. Called with mu held and
// returns with it held; it drops mu around io_uring_enter so others can push
// (and so join this flush) meanwhile. After every io_uring_enter, and when it ends,
// it wakes one submitter asleep for room per slot nobody is owed yet.
func (b *Backend) flushLocked() {
	b.flushing = true
	busy := 0
	for n := b.r.Unsubmitted(); n > 0 && b.failed == nil; n = b.r.Unsubmitted() {
		flags := uint32(0)
		b.mu.Unlock()
		// Enter consumes SQEs in SQ order from the kernel's head; n was
		// read under mu so it never counts a half-pushed SQE.
		_, err := b.r.Enter(n, 0, flags)
		if err == nil {
			b.tryReap() // waits that completed inline (-EAGAIN) are ready now
		}
		if errors.Is(err, unix.EBUSY) || errors.Is(err, unix.EAGAIN) {
			// The kernel refuses new work until completions are drained
			// (CQ overflow) or memory frees up: drain and retry.
			busy++
			b.reap()
			if busy > 100 {
				time.Sleep(time.Millisecond)
			} else {
				runtime.Gosched()
			}
			err = nil
		}
		if testHookFlush != nil {
			testHookFlush()
		}
		b.mu.Lock()
		b.wakeRoomLocked() // one sleeper per slot the enter freed
		if err != nil {
			b.failLocked(fmt.Errorf("iouring: io_uring_enter: %w", err))
		}
	}
	b.flushing = false
	b.wakeRoomLocked() // after flushing is false: see wakeRoomLocked
	b.flushed.Broadcast()
}

// testHookFlush, set only by tests (export_linux_test.go), runs in the
// flusher after each io_uring_enter, before it retakes mu: blocking in it
// holds a flush open (and its wakeups back) while submitters fill the SQ
// and wait for room.
var testHookFlush func()

// failLocked records a fatal error and delivers it to every waiting Park.
// Called with mu held.
func (b *Backend) failLocked(err error) {
	if b.failed == nil {
		b.failed = err
	}
	for id, p := range b.inflight {
		delete(b.inflight, id)
		p.done <- resFailed // buffered and empty: one delivery per registration
	}
	b.broadcastRoomLocked()
	b.signalDrainedLocked()
}

func (b *Backend) signalDrainedLocked() {
	if b.closed && len(b.inflight) == 0 {
		select {
		case b.drained <- struct{}{}:
		default:
		}
	}
}

// reaper sleeps on the eventfd in Go's netpoller (parking only this
// goroutine, not a thread) and drains the CQ whenever the kernel signals it.
// It exits when Close closes the eventfd.
func (b *Backend) reaper() {
	defer close(b.reaperDone)
	var buf [8]byte
	for {
		// Reading resets the eventfd counter before the CQ is read: a CQE
		// posted after this read signals again, so none is missed.
		if _, err := b.efd.Read(buf[:]); err != nil {
			if !errors.Is(err, os.ErrClosed) {
				b.mu.Lock()
				b.failLocked(fmt.Errorf("iouring: reading eventfd: %w", err))
				b.mu.Unlock()
			}
			return
		}
		b.reap()
	}
}

// reap drains the CQ (and the kernel's overflow list) and delivers each
// wait's result to its Parker.
func (b *Backend) reap() {
	b.cqMu.Lock()
	defer b.cqMu.Unlock()
	b.reapLocked()
}

// tryReap reaps unless another goroutine is reaping already (which then
// sees the same CQEs). A futex wake or a submission often posts its CQE
// before its system call returns — the kernel runs the completion's task
// work on the thread that submitted the wait, which in a Go program is
// often the very thread that is waking it — so reaping right there delivers
// the result on this P without a trip through the eventfd and the
// netpoller. The reaper goroutine stays the guarantee of progress.
func (b *Backend) tryReap() {
	if b.closedFlag.Load() || !b.cqMu.TryLock() {
		return
	}
	defer b.cqMu.Unlock()
	if b.closedFlag.Load() {
		return // Close may be unmapping the ring once the reaper stopped
	}
	b.reapLocked()
}

func (b *Backend) reapLocked() {
	b.batch = b.batch[:0]
	_, err := b.r.Reap(func(c ring.CQE) { b.batch = append(b.batch, c) })
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, c := range b.batch {
		if c.UserData&internalTag != 0 {
			continue // cancel or wake: its effect shows in the wait's own CQE
		}
		p, ok := b.inflight[c.UserData]
		if !ok {
			continue // already failed over by failLocked
		}
		delete(b.inflight, c.UserData)
		p.done <- c.Res // buffered and empty: one delivery per registration
	}
	if err != nil {
		b.failLocked(fmt.Errorf("iouring: %w", err))
	}
	b.signalDrainedLocked()
}

// wake wakes the waiter (if any) sleeping on word.
func (b *Backend) wake(word *atomic.Uint32) {
	addr := uint64(uintptr(unsafe.Pointer(word)))
	if b.cfg.ringWake && !b.closedFlag.Load() {
		sqe := ring.SQE{Opcode: ring.OpFutexWake, Fd: int32(b.cfg.futexFlags), Off: 1, Addr: addr, Addr3: 0xffffffff, UserData: internalTag}
		if _, err := b.submit(&sqe, nil); err == nil {
			return
		}
		// Closed or failed meanwhile: the system call below still works.
	}
	// FUTEX_WAKE_PRIVATE wakes io_uring FUTEX_WAIT requests on the same
	// word: both key the futex by (mm, address), and the wait's mask
	// 0xffffffff matches FUTEX_BITSET_MATCH_ANY. The result is ignored: 0
	// woken means the wait was not armed yet, and it will then see the
	// token in the word and complete with -EAGAIN.
	unix.Syscall6(unix.SYS_FUTEX, uintptr(addr), futexWakePrivate, 1, 0, 0, 0)
	b.tryReap()
}

var _ core.Backend = (*Backend)(nil)

// futex(2) operation FUTEX_WAKE|FUTEX_PRIVATE_FLAG (x/sys/unix has no
// constant for it).
const futexWakePrivate = 1 | 128
