package ring

import (
	"errors"
	"fmt"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Ring is one io_uring instance: its fd and the three shared mappings.
//
// Memory ordering follows the io_uring protocol. Submission: the SQE slot is
// written first, then the SQ tail is stored (atomic store = release), so the
// kernel never sees a tail that covers an unwritten SQE. Completion: the CQ
// tail is loaded (atomic load = acquire) before the CQEs below it are read,
// and the CQ head is stored (release) only after they were copied out, so
// the kernel never overwrites a CQE still being read. Go's sync/atomic is
// sequentially consistent, which is stronger than both.
type Ring struct {
	fd       int
	features uint32

	sqRing, cqRing, sqeMem []byte // cqRing aliases sqRing with SINGLE_MMAP

	// Submission side (caller-serialised).
	sqHead, sqTail, sqFlags *uint32 // kernel-shared
	sqMask, sqEntries       uint32
	sqes                    unsafe.Pointer // [sqEntries]SQE
	tail                    uint32         // our copy of *sqTail

	// Completion side (caller-serialised).
	cqHead, cqTail, cqOverflow *uint32 // kernel-shared
	cqMask, cqEntries          uint32
	cqes                       unsafe.Pointer // [cqEntries]CQE

	closed bool
}

// Config chooses the ring size and setup flags.
type Config struct {
	Entries   uint32 // SQ entries; rounded up to a power of two by the kernel
	CQEntries uint32 // 0: the kernel default (2*Entries); else IORING_SETUP_CQSIZE
	Flags     uint32 // extra IORING_SETUP_* flags
}

// New calls io_uring_setup and maps the rings. On failure it returns the
// errno from io_uring_setup (ENOSYS, EPERM, EINVAL, ...) wrapped with
// context, and holds no resources. The ring fd is close-on-exec: the kernel
// installs it with O_CLOEXEC.
func New(c Config) (*Ring, error) {
	var p params
	p.Flags = c.Flags
	if c.CQEntries != 0 {
		p.Flags |= SetupCQSize
		p.CQEntries = c.CQEntries
	}
	fd, _, errno := unix.Syscall(unix.SYS_IO_URING_SETUP, uintptr(c.Entries), uintptr(unsafe.Pointer(&p)), 0)
	if errno != 0 {
		return nil, fmt.Errorf("ring: io_uring_setup(%d): %w", c.Entries, errno)
	}
	r := &Ring{fd: int(fd), features: p.Features}
	if err := r.mapRings(&p); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

func (r *Ring) mapRings(p *params) error {
	sqSize := int(p.SQOff.Array + p.SQEntries*4)
	cqSize := int(p.CQOff.Cqes + p.CQEntries*cqeSize)
	single := p.Features&featSingleMmap != 0
	if single && cqSize > sqSize {
		sqSize = cqSize
	}
	var err error
	r.sqRing, err = unix.Mmap(r.fd, offSQRing, sqSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		return fmt.Errorf("ring: mmap SQ ring: %w", err)
	}
	if single {
		r.cqRing = r.sqRing
	} else {
		r.cqRing, err = unix.Mmap(r.fd, offCQRing, cqSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
		if err != nil {
			return fmt.Errorf("ring: mmap CQ ring: %w", err)
		}
	}
	r.sqeMem, err = unix.Mmap(r.fd, offSQEs, int(p.SQEntries)*sqeSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		return fmt.Errorf("ring: mmap SQE array: %w", err)
	}
	sq := unsafe.Pointer(&r.sqRing[0])
	r.sqHead = (*uint32)(unsafe.Add(sq, p.SQOff.Head))
	r.sqTail = (*uint32)(unsafe.Add(sq, p.SQOff.Tail))
	r.sqFlags = (*uint32)(unsafe.Add(sq, p.SQOff.Flags))
	r.sqMask = *(*uint32)(unsafe.Add(sq, p.SQOff.RingMask))
	r.sqEntries = *(*uint32)(unsafe.Add(sq, p.SQOff.RingEntries))
	r.sqes = unsafe.Pointer(&r.sqeMem[0])
	r.tail = atomic.LoadUint32(r.sqTail)
	// The SQ index array maps ring slot i to SQE i once and for all, so
	// pushing an SQE only writes the SQE and the tail.
	array := unsafe.Add(sq, p.SQOff.Array)
	for i := uint32(0); i < r.sqEntries; i++ {
		*(*uint32)(unsafe.Add(array, 4*i)) = i
	}
	cq := unsafe.Pointer(&r.cqRing[0])
	r.cqHead = (*uint32)(unsafe.Add(cq, p.CQOff.Head))
	r.cqTail = (*uint32)(unsafe.Add(cq, p.CQOff.Tail))
	r.cqOverflow = (*uint32)(unsafe.Add(cq, p.CQOff.Overflow))
	r.cqMask = *(*uint32)(unsafe.Add(cq, p.CQOff.RingMask))
	r.cqEntries = *(*uint32)(unsafe.Add(cq, p.CQOff.RingEntries))
	r.cqes = unsafe.Add(cq, p.CQOff.Cqes)
	return nil
}

// Fd returns the ring's file descriptor.
func (r *Ring) Fd() int { return r.fd }

// Features returns the IORING_FEAT_* bits the kernel reported.
func (r *Ring) Features() uint32 { return r.features }

// SQEntries and CQEntries return the ring sizes the kernel chose.
func (r *Ring) SQEntries() uint32 { return r.sqEntries }

// CQEntries returns the number of CQ slots.
func (r *Ring) CQEntries() uint32 { return r.cqEntries }

// Unsubmitted returns how many pushed SQEs the kernel has not consumed yet.
// The kernel advances the SQ head when io_uring_enter consumes SQEs.
func (r *Ring) Unsubmitted() uint32 {
	return r.tail - atomic.LoadUint32(r.sqHead) // acquire: pairs with the kernel's head store
}

// Space returns how many SQEs Push can accept before the SQ is full.
func (r *Ring) Space() uint32 { return r.sqEntries - r.Unsubmitted() }

// Push copies sqe into the next free SQ slot and publishes it by advancing
// the tail. It returns false, changing nothing, if the SQ is full; room
// appears when Submit has handed SQEs to the kernel.
func (r *Ring) Push(sqe *SQE) bool {
	if r.Unsubmitted() >= r.sqEntries {
		return false
	}
	slot := (*SQE)(unsafe.Add(r.sqes, uintptr(r.tail&r.sqMask)*sqeSize))
	*slot = *sqe // the whole 64 bytes: stale fields from an earlier use are zeroed
	r.tail++
	atomic.StoreUint32(r.sqTail, r.tail) // release: the SQE is written before the kernel can see it
	return true
}

// Enter calls io_uring_enter(fd, toSubmit, minComplete, flags), retrying on
// EINTR. It returns the number of SQEs the kernel consumed.
func (r *Ring) Enter(toSubmit, minComplete, flags uint32) (int, error) {
	for {
		// unix.Syscall (not RawSyscall): if this blocks, the Go runtime
		// hands this thread's P to another thread.
		n, _, errno := unix.Syscall6(unix.SYS_IO_URING_ENTER, uintptr(r.fd), uintptr(toSubmit), uintptr(minComplete), uintptr(flags), 0, 0)
		if errno == unix.EINTR {
			continue
		}
		if errno != 0 {
			return int(n), errno
		}
		return int(n), nil
	}
}

// Submit hands every unsubmitted SQE to the kernel with one io_uring_enter.
// It returns how many were consumed; with an error (EAGAIN, EBUSY), fewer
// than were pending may have been, and the rest stay queued for a retry.
// When the SQ flags say the CQ overflowed or task work is pending it also
// asks for events, which flushes the overflow list into the CQ.
func (r *Ring) Submit() (int, error) {
	n := r.Unsubmitted()
	if n == 0 {
		return 0, nil
	}
	var flags uint32
	if r.NeedsFlush() {
		flags = enterGetEvents
	}
	return r.Enter(n, 0, flags)
}

// NeedsFlush reports whether the kernel holds overflowed CQEs or task work
// that an io_uring_enter with IORING_ENTER_GETEVENTS would post to the CQ.
func (r *Ring) NeedsFlush() bool {
	return atomic.LoadUint32(r.sqFlags)&(sqCQOverflow|sqTaskrun) != 0
}

// Overflowed returns the kernel's count of CQEs it had to drop (without
// IORING_FEAT_NODROP) or defer to its overflow list.
func (r *Ring) Overflowed() uint32 { return atomic.LoadUint32(r.cqOverflow) }

// WaitCQE blocks in io_uring_enter until at least one CQE is available.
func (r *Ring) WaitCQE() error {
	_, err := r.Enter(0, 1, enterGetEvents)
	return err
}

// Reap passes every CQE now in the CQ to f, in order, and then frees their
// slots. If the kernel parked CQEs on its overflow list (the CQ was full), it
// flushes them into the CQ with io_uring_enter(GETEVENTS) and continues, so
// one call drains both. It returns the number of CQEs passed to f.
func (r *Ring) Reap(f func(CQE)) (int, error) {
	total := 0
	for {
		head := atomic.LoadUint32(r.cqHead)
		tail := atomic.LoadUint32(r.cqTail) // acquire: CQEs below tail are fully written
		for ; head != tail; head++ {
			cqe := *(*CQE)(unsafe.Add(r.cqes, uintptr(head&r.cqMask)*cqeSize))
			// Release the slot before calling f, so a slow f cannot hold
			// the CQ full; cqe is already copied.
			atomic.StoreUint32(r.cqHead, head+1)
			f(cqe)
			total++
		}
		if !r.NeedsFlush() {
			return total, nil
		}
		if _, err := r.Enter(0, 0, enterGetEvents); err != nil {
			return total, fmt.Errorf("ring: flushing CQ overflow: %w", err)
		}
		if atomic.LoadUint32(r.cqTail) == head && r.NeedsFlush() {
			// Nothing came out although the kernel says there is more: do
			// not spin; the caller reaps again on its next wakeup.
			return total, nil
		}
	}
}

// RegisterEventfd asks the kernel to signal efd whenever it posts CQEs.
func (r *Ring) RegisterEventfd(efd int) error {
	fd := int32(efd)
	if err := r.register(registerEventfd, unsafe.Pointer(&fd), 1); err != nil {
		return fmt.Errorf("ring: IORING_REGISTER_EVENTFD: %w", err)
	}
	return nil
}

// Probe returns which opcodes the kernel supports (IORING_REGISTER_PROBE).
func (r *Ring) Probe() (Probe, error) {
	var buf struct {
		h   probeHeader
		ops [probeOps]probeOp
	}
	if err := r.register(registerProbe, unsafe.Pointer(&buf), probeOps); err != nil {
		return Probe{}, fmt.Errorf("ring: IORING_REGISTER_PROBE: %w", err)
	}
	var p Probe
	p.LastOp = buf.h.LastOp
	for i := 0; i < int(buf.h.OpsLen) && i < probeOps; i++ {
		if buf.ops[i].Flags&probeOpSupported != 0 {
			p.supported[buf.ops[i].Op/64] |= 1 << (buf.ops[i].Op % 64)
		}
	}
	return p, nil
}

func (r *Ring) register(op uintptr, arg unsafe.Pointer, n uintptr) error {
	for {
		_, _, errno := unix.Syscall6(unix.SYS_IO_URING_REGISTER, uintptr(r.fd), op, uintptr(arg), n, 0, 0)
		if errno == unix.EINTR {
			continue
		}
		if errno != 0 {
			return errno
		}
		return nil
	}
}

// Probe is the kernel's answer to IORING_REGISTER_PROBE.
type Probe struct {
	LastOp    uint8 // highest opcode the kernel knows
	supported [4]uint64
}

// Supports reports whether the kernel marked op as supported.
func (p Probe) Supports(op uint8) bool { return p.supported[op/64]&(1<<(op%64)) != 0 }

// Close unmaps the rings and closes the fd. It is idempotent. The kernel
// cancels requests still in flight when the last reference to the ring goes.
func (r *Ring) Close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	var errs []error
	if r.sqeMem != nil {
		errs = append(errs, unix.Munmap(r.sqeMem))
	}
	if len(r.cqRing) > 0 && &r.cqRing[0] != &r.sqRing[0] {
		errs = append(errs, unix.Munmap(r.cqRing))
	}
	if r.sqRing != nil {
		errs = append(errs, unix.Munmap(r.sqRing))
	}
	r.sqRing, r.cqRing, r.sqeMem = nil, nil, nil
	errs = append(errs, unix.Close(r.fd))
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("ring: close: %w", err)
	}
	return nil
}
