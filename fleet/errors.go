package fleet

import (
	"errors"
	"fmt"

	"github.com/compio-sync/gosync/core"
)

// ErrClosed is returned (possibly wrapped; test with errors.Is) by every
// Acquire that is queued anywhere in the fleet when the semaphore is closed
// and by every Acquire that starts after it. It wraps core.ErrClosed, so
// errors.Is(err, core.ErrClosed) holds too.
var ErrClosed = fmt.Errorf("fleet: semaphore closed (%w)", core.ErrClosed)

// ErrTooLarge is returned (possibly wrapped) by an Acquire that asks for more
// permits than the semaphore's maximum, at once or when SetMaxPermits shrinks
// the maximum below the request while it waits. It wraps core.ErrTooLarge.
var ErrTooLarge = fmt.Errorf("fleet: request exceeds the semaphore's maximum permits (%w)", core.ErrTooLarge)

// ErrLeaseLost is reported (possibly wrapped) by Permit.Err once the etcd
// lease that kept the Permit alive has expired or been revoked, or its key
// was deleted by someone else: the permits went back to the semaphore and the
// holder must stop using the resource they guard. It is also returned by an
// Acquire whose queued key disappeared for the same reasons.
var ErrLeaseLost = errors.New("fleet: lease lost: the permit's key is gone from etcd")

// ErrNotGranted is reported (wrapped, naming the key and the revision) by
// Permit.Err when the semaphore's state in etcd stops counting a held
// Permit's key as granted (outside a shrink or Close settling its holders).
// That cannot happen through this package; it means a peer rewrote the key
// or a bug broke the invariant grants rest on, and other processes may be
// granted the same permits. The holder must stop using the resource; the
// key is deleted.
var ErrNotGranted = errors.New("fleet: permit no longer granted by the semaphore's state")

// ErrReleased is reported by Permit.Err after the Permit was released.
var ErrReleased = errors.New("fleet: permit released")

// ErrDetached is returned by calls on a Semaphore after Detach, and reported
// by Permit.Err for Permits that Detach returned.
var ErrDetached = errors.New("fleet: semaphore detached from this process")

// ErrNotExist is returned by Open without WithPermits when no semaphore of
// that name exists.
var ErrNotExist = errors.New("fleet: semaphore does not exist")

// ErrPermitsMismatch is returned by Open WithPermits(n) when the semaphore
// exists with a different maximum. Open it without WithPermits and call
// SetMaxPermits to change the maximum.
var ErrPermitsMismatch = errors.New("fleet: semaphore exists with a different maximum")

// ErrBadName is returned by Open for a name that is empty, too long, or
// could escape its key prefix.
var ErrBadName = errors.New("fleet: invalid semaphore name")
