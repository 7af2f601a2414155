package ring

// Kernel ABI from <linux/io_uring.h>; x/sys/unix has the syscall numbers but
// none of these structures or constants.

// Opcodes used by the backend and its tests.
const (
	OpNop         = 0
	OpAsyncCancel = 14
	OpFutexWait   = 51
	OpFutexWake   = 52
)

// Setup flags (io_uring_params.flags).
const (
	SetupCQSize       = 1 << 3
	SetupClamp        = 1 << 4
	SetupSubmitAll    = 1 << 7
	SetupCoopTaskrun  = 1 << 8
	SetupSingleIssuer = 1 << 12
	SetupDeferTaskrun = 1 << 13
	featSingleMmap    = 1 << 0
	FeatNoDrop        = 1 << 1
	enterGetEvents    = 1 << 0
	sqCQOverflow      = 1 << 1
	sqTaskrun         = 1 << 2
	offSQRing         = 0
	offCQRing         = 0x8000000
	offSQEs           = 0x10000000
	registerEventfd   = 4
	unregisterEventfd = 5
	registerProbe     = 8
	probeOpSupported  = 1 << 0
	probeOps          = 256
	sqeSize           = 64
	cqeSize           = 16
	paramsSize        = 120
	AsyncCancelAny    = 1 << 2
	AsyncCancelAll    = 1 << 0
)

// SQE is struct io_uring_sqe (64 bytes). Fields the backend does not use
// keep their kernel names in comments; every one must be zero unless set.
type SQE struct {
	Opcode      uint8  // 0
	Flags       uint8  // 1
	IoPrio      uint16 // 2
	Fd          int32  // 4: futex2 flags for the futex ops
	Off         uint64 // 8: off/addr2; futex expected value or wake count
	Addr        uint64 // 16
	Len         uint32 // 24
	OpFlags     uint32 // 28: rw_flags/futex_flags/cancel_flags union
	UserData    uint64 // 32
	BufIndex    uint16 // 40
	Personality uint16 // 42
	SpliceFdIn  int32  // 44
	Addr3       uint64 // 48: futex bitset mask
	_           uint64 // 56: __pad2
}

// CQE is struct io_uring_cqe without the CQE32 extension (16 bytes).
type CQE struct {
	UserData uint64
	Res      int32
	Flags    uint32
}

type sqringOffsets struct {
	Head, Tail, RingMask, RingEntries, Flags, Dropped, Array, Resv1 uint32
	UserAddr                                                        uint64
}

type cqringOffsets struct {
	Head, Tail, RingMask, RingEntries, Overflow, Cqes, Flags, Resv1 uint32
	UserAddr                                                        uint64
}

// params is struct io_uring_params (120 bytes).
type params struct {
	SQEntries, CQEntries, Flags, SQThreadCPU, SQThreadIdle, Features, WQFd uint32
	Resv                                                                   [3]uint32
	SQOff                                                                  sqringOffsets // byte 40
	CQOff                                                                  cqringOffsets // byte 80
}

type probeHeader struct {
	LastOp uint8
	OpsLen uint8
	Resv   uint16
	Resv2  [3]uint32
}

type probeOp struct {
	Op    uint8
	Resv  uint8
	Flags uint16
	Resv2 uint32
}
