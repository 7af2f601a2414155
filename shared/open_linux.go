package shared

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// createFile creates path exclusively (O_EXCL|O_NOFOLLOW), gives it the
// configured mode and group, sizes it to size and maps it. An existing path
// fails with an error satisfying errors.Is(err, fs.ErrExist). On any other
// failure the file it created is removed.
func createFile(path string, size uintptr, c *config) ([]byte, func() error, error) {
	mode := uint32(0o600)
	if c.group >= 0 {
		mode = 0o660
	}
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, mode)
	if err != nil {
		return nil, nil, &os.PathError{Op: "shared: create", Path: path, Err: err}
	}
	defer unix.Close(fd)
	fail := func(op string, err error) ([]byte, func() error, error) {
		unix.Unlink(path) // ours, and never initialized: nobody can use it
		return nil, nil, &os.PathError{Op: "shared: " + op, Path: path, Err: err}
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
	if err := unix.Ftruncate(fd, int64(size)); err != nil {
		return fail("truncate", err)
	}
	// Reserve the pages now: a tmpfs that runs out of memory later would
	// raise SIGBUS on first touch instead of failing here.
	if err := unix.Fallocate(fd, 0, 0, int64(size)); err != nil && err != unix.EOPNOTSUPP {
		return fail("fallocate", err)
	}
	mem, err := unix.Mmap(fd, 0, int(size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return fail("mmap", err)
	}
	return mem, func() error { return unix.Munmap(mem) }, nil
}

// createMode is the mode Open gives a file it creates, and the widest it
// accepts for one it opens: 0600, or 0660 with WithGroup.
func createMode(c *config) uint32 {
	if c.group >= 0 {
		return 0o660
	}
	return 0o600
}

// mapExisting opens path (O_NOFOLLOW), checks that it is a regular file
// owned by this user (or in the WithGroup group), with a mode no wider
// than createMode, and at least a header long (else an errShort), and
// maps all of it. It writes nothing.
func mapExisting(path string, c *config) ([]byte, func() error, error) {
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, nil, &os.PathError{Op: "shared: open", Path: path, Err: err}
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, nil, &os.PathError{Op: "shared: stat", Path: path, Err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return nil, nil, fmt.Errorf("shared: open %s: %w: not a regular file (mode %#o)", path, ErrInvalid, st.Mode)
	}
	if euid := uint32(os.Geteuid()); st.Uid != euid && (c.group < 0 || st.Gid != uint32(c.group)) {
		return nil, nil, fmt.Errorf("shared: open %s: %w: owned by uid %d gid %d, not by this user (uid %d) or the WithGroup group: refusing a file someone else may control", path, ErrInvalid, st.Uid, st.Gid, euid)
	}
	// Nobody else may write it: a mode wider than Open gives lets others
	// corrupt the semaphore or truncate it under its users (SIGBUS).
	if asked := createMode(c); st.Mode&0o777&^asked != 0 {
		return nil, nil, fmt.Errorf("shared: open %s: %w: mode %#o grants more than %#o (others could corrupt or truncate the semaphore): refusing it; chmod it or remove it", path, ErrInvalid, st.Mode&0o777, asked)
	}
	if st.Size < headerSize {
		return nil, nil, fmt.Errorf("shared: open %s: %w", path, errShort{st.Size})
	}
	mem, err := unix.Mmap(fd, 0, int(st.Size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return nil, nil, &os.PathError{Op: "shared: mmap", Path: path, Err: err}
	}
	return mem, func() error { return unix.Munmap(mem) }, nil
}

func removeFile(path string) error { return os.Remove(path) }

// osNameSeparators are the characters besides '/' and NUL a name may not
// contain: none on Linux.
const osNameSeparators = ""

// regionKey is the key a RegionWaiter gets for the region at path: the
// path itself.
func regionKey(path string) string { return path }
