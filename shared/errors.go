package shared

import (
	"errors"

	"github.com/compio-sync/gosync/core"
)

// ErrClosed is core.ErrClosed, so that errors.Is(err, core.ErrClosed) holds
// for code written against either semaphore. It is returned (wrapped, with
// the name of the semaphore) by every Acquire that is queued in any process
// when the semaphore is closed and by every Acquire that starts after it,
// and by operations on a detached handle.
var ErrClosed = core.ErrClosed

// ErrTooLarge is core.ErrTooLarge: an Acquire asked for more permits than
// the maximum, at once or after SetMaxPermits shrank the maximum while it
// waited.
var ErrTooLarge = core.ErrTooLarge

// ErrNoSlots is returned (wrapped) by an Acquire that must queue when every
// waiter slot of the region is taken, and by Open when every process slot
// is taken. The counts are fixed when the region is created (WithWaiterSlots,
// WithProcessSlots).
var ErrNoSlots = errors.New("shared: no free slot in the region")

// ErrInvalid is wrapped by Open when the file exists but is not a usable
// semaphore region: too short, another format, another version or layout,
// or created in another PID namespace. Open never modifies such a file.
var ErrInvalid = errors.New("shared: not a usable semaphore region")

// ErrCorrupt is wrapped by every operation that finds the region in a state
// no correct sequence of operations produces: a queue link, slot or process
// number out of range, a queue whose links disagree, a count out of range,
// a journal entry naming a word outside the state or misaligned. Only a
// process that wrote into the region outside this package (a bug, a
// hostile peer, a stray write) can cause it. The first operation that finds
// it marks the region corrupt, under the region lock, and returns the
// error after unlocking; from then on every operation on the region, in
// every process, fails the same way (AcquireN and Open return the error,
// TryAcquireN reports false, Release, Close and SetMaxPermits do nothing,
// Err and Detach report it), and queued Acquires fail with it. Nothing
// read from the region is used as an index or an offset before it is
// checked, so a corrupted value never makes a process crash, loop or
// write outside the region (a lock word naming a live process is a lock
// held, and waits as one). Remove the file and Open a new semaphore to
// recover.
var ErrCorrupt = errors.New("shared: the semaphore region is corrupt")
