package iouring

import "time"

// defaultGoWait is the Go phase of Park unless WithGoWait says otherwise; see
// docs/iouring.md for the measurements behind it.
const defaultGoWait = 1 * time.Millisecond

func defaultConfig() config {
	return config{
		entries:    256,
		cqEntries:  4096,
		sysctlPath: "/proc/sys/kernel/io_uring_disabled",
		futexFlags: futex2SizeU32 | futex2Private,
		goWait:     defaultGoWait,
	}
}

// futex2 flags for the io_uring futex ops: a 32-bit, process-private word.
// Flags 0 would mean an 8-bit futex, which the kernel rejects with EINVAL.
const (
	futex2SizeU32 = 0x02
	futex2Private = 0x80
)
