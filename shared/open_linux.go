package shared

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// initWait bounds how long Open waits for a region that another process
// has created but not yet initialized.
const initWait = time.Second

// Open opens the semaphore called name, creating it with permits permits
// (all available) if it does not exist. If it exists, its own maximum wins
// and permits is only checked for range. The file is DefaultDir/name (see
// WithDir), created with O_EXCL and O_NOFOLLOW, mode 0600 (0660 with
// WithGroup); an existing file is opened with O_NOFOLLOW and used only if
// it is a regular file owned by the caller (or in WithGroup's group) and
// holds a valid region of this version. Open never writes to a file it
// did not create before validating it.
//
// Errors: a name that could escape the directory or an out-of-range
// argument; errors satisfying errors.Is(err, fs.ErrPermission) when access
// is denied; errors wrapping ErrInvalid for a truncated, foreign,
// wrong-version or uninitialized file or one created in another PID
// namespace; ErrNoSlots when every process slot is attached.
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
// working on the old region; a later Open creates a new semaphore.
func Remove(name string, opts ...Option) error {
	c := defaultConfig()
	for _, o := range opts {
		o(&c)
	}
	if err := validName(name); err != nil {
		return err
	}
	return os.Remove(filepath.Join(c.dir, name))
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
		c.waiter = FutexWaiter{}
	}
	id, err := selfIdentity()
	if err != nil {
		return nil, err
	}
	path := filepath.Join(c.dir, name)
	if create {
		s, err := createRegion(path, permits, id, &c)
		if err == nil || !errors.Is(err, unix.EEXIST) {
			return s, err
		}
	}
	return openRegion(path, id, &c)
}

func createRegion(path string, permits int, id uint64, c *config) (*Semaphore, error) {
	mode := uint32(0o600)
	if c.group >= 0 {
		mode = 0o660
	}
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, mode)
	if err != nil {
		return nil, &os.PathError{Op: "shared: create", Path: path, Err: err}
	}
	defer unix.Close(fd)
	fail := func(op string, err error) (*Semaphore, error) {
		unix.Unlink(path) // ours, and never initialized: nobody can use it
		return nil, &os.PathError{Op: "shared: " + op, Path: path, Err: err}
	}
	if c.group >= 0 {
		if err := unix.Fchown(fd, -1, c.group); err != nil {
			return fail("chown", err)
		}
	}
	// The umask may have cleared the group bits.
	if err := unix.Fchmod(fd, mode); err != nil {
		return fail("chmod", err)
	}
	l := newLayout(uint32(c.processSlots), uint32(c.waiterSlots))
	if err := unix.Ftruncate(fd, int64(l.size)); err != nil {
		return fail("truncate", err)
	}
	// Reserve the pages now: a tmpfs that runs out of memory later would
	// raise SIGBUS on first touch instead of failing here.
	if err := unix.Fallocate(fd, 0, 0, int64(l.size)); err != nil && err != unix.EOPNOTSUPP {
		return fail("fallocate", err)
	}
	mem, err := unix.Mmap(fd, 0, int(l.size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return fail("mmap", err)
	}
	r := newRegion(mem, l)
	r.initialize(int64(permits), pidNamespace())
	s, err := attach(r, c.waiter, id, path)
	if err != nil {
		unix.Munmap(mem)
		return nil, err
	}
	s.unmap = func() error { return unix.Munmap(mem) }
	return s, nil
}

func openRegion(path string, id uint64, c *config) (*Semaphore, error) {
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "shared: open", Path: path, Err: err}
	}
	defer unix.Close(fd)
	invalid := func(err error) (*Semaphore, error) {
		return nil, fmt.Errorf("shared: open %s: %w", path, err)
	}
	deadline := time.Now().Add(initWait)
	for {
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			return nil, &os.PathError{Op: "shared: stat", Path: path, Err: err}
		}
		if st.Mode&unix.S_IFMT != unix.S_IFREG {
			return invalid(fmt.Errorf("%w: not a regular file (mode %#o)", ErrInvalid, st.Mode))
		}
		if euid := uint32(os.Geteuid()); st.Uid != euid && (c.group < 0 || st.Gid != uint32(c.group)) {
			return invalid(fmt.Errorf("%w: owned by uid %d gid %d, not by this user (uid %d) or the WithGroup group: refusing a file someone else may control", ErrInvalid, st.Uid, st.Gid, euid))
		}
		size := st.Size
		if size >= headerSize {
			mem, err := unix.Mmap(fd, 0, int(size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
			if err != nil {
				return nil, &os.PathError{Op: "shared: mmap", Path: path, Err: err}
			}
			l, err := readLayout(mem)
			if err == nil {
				return attachMapped(path, mem, l, id, c)
			}
			// Only a file that may still be initializing (no magic yet) is
			// worth waiting for: a foreign or wrong-version one fails at once.
			pending := (&region{base: unsafe.Pointer(unsafe.SliceData(mem))}).u64(offMagic).Load() == 0
			unix.Munmap(mem)
			if !pending || time.Now().After(deadline) {
				return invalid(err)
			}
		} else if size != 0 || time.Now().After(deadline) {
			return invalid(fmt.Errorf("%w: %d bytes, shorter than the %d-byte header (truncated, or not a semaphore)", ErrInvalid, size, headerSize))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// attachMapped checks the PID namespace of a validated region and attaches a
// handle to it; on failure it unmaps mem.
func attachMapped(path string, mem []byte, l layout, id uint64, c *config) (*Semaphore, error) {
	r := newRegion(mem, l)
	if ns, mine := r.u64(offPidNS).Load(), pidNamespace(); ns != 0 && mine != 0 && ns != mine {
		unix.Munmap(mem)
		return nil, fmt.Errorf("shared: open %s: %w: created in another PID namespace (inode %d, ours %d): process liveness cannot be checked across them", path, ErrInvalid, ns, mine)
	}
	s, err := attach(r, c.waiter, id, path)
	if err != nil {
		unix.Munmap(mem)
		return nil, err
	}
	s.unmap = func() error { return unix.Munmap(mem) }
	return s, nil
}
