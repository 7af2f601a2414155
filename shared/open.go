package shared

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"time"
	"unsafe"
)

// An Option configures Open and OpenExisting.
type Option func(*config)

type config struct {
	dir          string
	group        int // -1: no group access
	waiter       Waiter
	waiterSlots  int
	processSlots int
	// fd is the region file last mapped, kept open by its unmap function
	// for the handle's liveness lock (Linux; -1 elsewhere).
	fd int
}

func defaultConfig() config {
	return config{dir: DefaultDir, group: -1, waiterSlots: DefaultWaiterSlots, processSlots: DefaultProcessSlots, fd: -1}
}

// DefaultDir is where Open keeps semaphores: the tmpfs shared-memory
// directory on Linux. On Windows a directory is only part of the name of
// the file mapping (see mappingName in open_windows.go).
const DefaultDir = "/dev/shm"

// WithDir keeps the semaphore file in dir instead of DefaultDir. The
// directory should be on a memory file system (tmpfs): the region is
// written on every operation. A directory only the semaphore's users can
// write, such as $XDG_RUNTIME_DIR (a per-user tmpfs of mode 0700), keeps
// others from taking the name first: in the world-writable DefaultDir
// another user can create the file before you, and Open then refuses it
// (it is not yours) until it is removed.
func WithDir(dir string) Option { return func(c *config) { c.dir = dir } }

// WithGroup gives the group gid read and write access: a created file gets
// mode 0660 and group gid (the caller must be allowed to chown to it), and
// an existing file owned by another user is accepted if its group is gid.
// Without it a file is created with mode 0600 and only files owned by the
// caller's effective user are opened.
func WithGroup(gid int) Option { return func(c *config) { c.group = gid } }

// WithWaiter makes the handle wait through w instead of FutexWaiter (for
// example backend-iouring's WordWaiter, which needs no thread per waiter;
// on Windows, where it is required, backend-iocp's WordWaiter, a
// RegionWaiter).
// Handles with different Waiters can share one semaphore, provided each
// Waiter meets the cross-process obligations in Waiter's documentation.
func WithWaiter(w Waiter) Option { return func(c *config) { c.waiter = w } }

// WithWaiterSlots sets how many Acquires, in all processes together, can be
// queued at once, when Open creates the region (default
// DefaultWaiterSlots). It is ignored when the region exists.
func WithWaiterSlots(n int) Option { return func(c *config) { c.waiterSlots = n } }

// WithProcessSlots sets how many handles can be attached at once when Open
// creates the region (default DefaultProcessSlots). It is ignored when the
// region exists.
func WithProcessSlots(n int) Option { return func(c *config) { c.processSlots = n } }

// validName reports whether name can be a file name in the semaphore
// directory: non-empty, at most 255 bytes, not "." or "..", and free of '/'
// and NUL, so that it can never escape the directory.
func validName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("shared: empty semaphore name")
	case len(name) > 255:
		return fmt.Errorf("shared: semaphore name of %d bytes, longer than 255", len(name))
	case name == "." || name == "..":
		return fmt.Errorf("shared: semaphore name %q is not a file name", name)
	case strings.ContainsAny(name, "/\x00"+osNameSeparators):
		return fmt.Errorf("shared: semaphore name %q contains '/', NUL or a path separator of this system (names may not escape the directory)", name)
	}
	return nil
}

func (c *config) check(permits int) error {
	if permits < 0 {
		return fmt.Errorf("shared: Open with negative permits (%d)", permits)
	}
	if int64(permits) > MaxPermitsLimit {
		return fmt.Errorf("shared: Open with %d permits, more than MaxPermitsLimit (%d)", permits, int64(MaxPermitsLimit))
	}
	if c.waiterSlots < 1 || c.waiterSlots > maxSlots || c.processSlots < 1 || c.processSlots > maxSlots {
		return fmt.Errorf("shared: %d waiter slots and %d process slots, want 1 to %d each", c.waiterSlots, c.processSlots, maxSlots)
	}
	return nil
}

// createHook, if set (by tests), runs inside Open after the file of a new
// region was made and before it was initialized.
var createHook func()

// initWait bounds how long Open waits for a region that another process
// has created but not yet initialized.
const initWait = time.Second

// errShort is wrapped by mapExisting for a file shorter than the header;
// empty reports a size of 0 (a creator may be about to size it).
type errShort struct{ size int64 }

func (e errShort) Error() string {
	return fmt.Sprintf("%v: %d bytes, shorter than the %d-byte header (truncated, or not a semaphore)", ErrInvalid, e.size, headerSize)
}

func (e errShort) Unwrap() error { return ErrInvalid }

// Open opens the semaphore called name, creating it with permits permits
// (all available) if it does not exist. If it exists, its own maximum wins
// and permits is only checked for range. The file is DefaultDir/name (see
// WithDir), created with mode 0600 (0660 with WithGroup) and never over
// an existing name; an existing file is opened with O_NOFOLLOW and used only if
// it is a regular file owned by the caller (or in WithGroup's group),
// whose mode grants no more than Open would have given it (a wider mode
// lets others corrupt or truncate the semaphore), and holds a valid region
// of this version. Open never writes to a file it did not create before
// validating it.
//
// A new region is complete before its name appears (it is made unnamed and
// linked into place), so a creator killed inside Open leaves nothing
// behind at the name. A file at the name that holds no region at all
// (empty, or without the magic number: an older creator's, killed in Open,
// or truncated) is waited for up to a second, then removed, if it is still
// that file, and replaced by a new semaphore; two Opens doing so at once
// end up on the same new semaphore. OpenExisting never replaces it.
//
// Errors: a name that could escape the directory or an out-of-range
// argument; errors satisfying errors.Is(err, fs.ErrPermission) when access
// is denied; errors wrapping ErrInvalid for a truncated, foreign or
// wrong-version file (or, for OpenExisting, an uninitialized one), one
// whose mode is wider than Open's, or one created in another PID
// namespace; errors wrapping ErrCorrupt for a region found corrupt (see
// ErrCorrupt); ErrNoSlots when every process slot is attached.
//
// On Windows the region is a named file mapping instead of a file (see
// docs/shared.md): the directory and name only name it, it exists while a
// process has it open, WithGroup fails with errors.ErrUnsupported, and a
// Waiter must be given with WithWaiter (backend-iocp's WordWaiter); without
// one Open fails with an error satisfying errors.Is(err,
// errors.ErrUnsupported). On systems other than Linux and Windows Open
// always fails with such an error.
func Open(name string, permits int, opts ...Option) (*Semaphore, error) {
	return open(name, permits, true, opts)
}

// OpenExisting opens the semaphore called name, which must exist; it
// fails with an error satisfying errors.Is(err, fs.ErrNotExist) otherwise.
// See Open for the checks and the other errors.
func OpenExisting(name string, opts ...Option) (*Semaphore, error) {
	return open(name, 0, false, opts)
}

// Remove deletes the semaphore file called name. Handles already open keep
// working on the old region; a later Open creates a new semaphore. On
// Windows a named file mapping cannot be deleted (it is gone once no process
// has it open): Remove fails with an error satisfying errors.Is(err,
// fs.ErrNotExist) if it is gone, and errors.Is(err, errors.ErrUnsupported)
// while it is open.
func Remove(name string, opts ...Option) error {
	c := defaultConfig()
	for _, o := range opts {
		o(&c)
	}
	if err := validName(name); err != nil {
		return err
	}
	return removeFile(filepath.Join(c.dir, name))
}

func open(name string, permits int, create bool, opts []Option) (*Semaphore, error) {
	c := defaultConfig()
	for _, o := range opts {
		o(&c)
	}
	if err := validName(name); err != nil {
		return nil, err
	}
	if err := c.check(permits); err != nil {
		return nil, err
	}
	if c.waiter == nil {
		w, err := defaultWaiter()
		if err != nil {
			return nil, err
		}
		c.waiter = w
	}
	path := filepath.Join(c.dir, name)
	for heals := 0; ; heals++ {
		if create {
			l := newLayout(uint32(c.processSlots), uint32(c.waiterSlots))
			mem, unmap, err := createFile(path, l.size, &c, func(mem []byte) {
				if createHook != nil {
					createHook()
				}
				newRegion(mem, l).initialize(int64(permits), pidNamespace())
			})
			if err == nil {
				return attachMapped(path, newRegion(mem, l), unmap, &c)
			}
			if !errors.Is(err, fs.ErrExist) {
				return nil, err
			}
		}
		s, abandoned, err := openExisting(path, &c)
		if create && heals < maxHeals && errors.Is(err, fs.ErrNotExist) {
			continue // removed (healed) since our create found it: create
		}
		if !abandoned || !create || heals >= maxHeals {
			return s, err
		}
		// Uninitialized for longer than any creator takes: its creator
		// is gone. Remove it (if it is still that file) and create anew.
		if err := healFile(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("shared: open %s: removing a region file its creator abandoned uninitialized: %w", path, err)
		}
	}
}

// maxHeals bounds how many times one Open goes back to creating the
// region, after it removed an abandoned file or found the name removed,
// before it gives up.
const maxHeals = 3

// openExisting maps and validates the region at path and attaches a handle.
// A file with no region in it yet (empty, or no magic number) may be
// mid-creation by an older creator that makes the file before its region:
// it is waited for up to initWait; if it is still uninitialized then,
// abandoned is true (with the error).
func openExisting(path string, c *config) (s *Semaphore, abandoned bool, err error) {
	deadline := time.Now().Add(initWait)
	for ; ; time.Sleep(5 * time.Millisecond) {
		mem, unmap, err := mapExisting(path, c)
		var short errShort
		if errors.As(err, &short) && short.size == 0 {
			if time.Now().Before(deadline) {
				continue // created but not sized yet
			}
			return nil, true, err
		}
		if err != nil {
			return nil, false, err
		}
		l, err := readLayout(mem)
		if err == nil {
			s, err := attachMapped(path, newRegion(mem, l), unmap, c)
			return s, false, err
		}
		// Only a file that may still be initializing (no magic yet) is
		// worth waiting for: a foreign or wrong-version one fails at once.
		pending := (&region{base: unsafe.Pointer(unsafe.SliceData(mem))}).u64(offMagic).Load() == 0
		unmap()
		if !pending || time.Now().After(deadline) {
			return nil, pending, fmt.Errorf("shared: open %s: %w", path, err)
		}
	}
}

// attachMapped checks the PID namespace of a validated region and attaches a
// handle to it; on failure it unmaps the region.
func attachMapped(path string, r *region, unmap func() error, c *config) (*Semaphore, error) {
	if ns, mine := r.u64(offPidNS).Load(), pidNamespace(); ns != 0 && mine != 0 && ns != mine {
		unmap()
		return nil, fmt.Errorf("shared: open %s: %w: created in another PID namespace (inode %d, ours %d): process liveness cannot be checked across them", path, ErrInvalid, ns, mine)
	}
	unmap, err := bindRegion(c.waiter, regionKey(path), r, unmap)
	if err != nil {
		unmap()
		return nil, err
	}
	live, err := newLiveness(c.fd, r.procs)
	if err != nil {
		unmap()
		return nil, err
	}
	s, err := attach(r, c.waiter, live, path)
	if err != nil {
		unmap()
		return nil, err
	}
	s.unmap = unmap
	return s, nil
}
