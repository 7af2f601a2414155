package shared

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

// createFile creates a region file of size bytes for path, with the
// configured mode and group, maps it, fills it with init, and only then
// gives it the name path, atomically and only if path does not exist: a
// name never points at a file whose region is not yet initialized, so a
// creator that dies at any instruction leaves either nothing at path or a
// complete region. The file is made unnamed (O_TMPFILE) and linked into
// place; where the file system has no O_TMPFILE, it is made under a
// temporary name in the same directory, linked to path and unlinked (a
// creator killed in between leaves that temporary name behind, never the
// path). An existing path fails with an error satisfying errors.Is(err,
// fs.ErrExist), after init ran on a region nobody else saw. On any other
// failure nothing is left behind.
func createFile(path string, size uintptr, c *config, init func([]byte)) ([]byte, func() error, error) {
	// Most Opens find the semaphore there: skip building a region that
	// would lose the link anyway. Only a hint; the link decides.
	if _, err := os.Lstat(path); err == nil {
		return nil, nil, &os.PathError{Op: "shared: create", Path: path, Err: unix.EEXIST}
	}
	mode := createMode(c)
	dir := filepath.Dir(path)
	tmp := ""
	fd, err := unix.Open(dir, unix.O_RDWR|unix.O_TMPFILE|unix.O_CLOEXEC, mode)
	if err == unix.EOPNOTSUPP || err == unix.EISDIR || err == unix.EINVAL {
		// No O_TMPFILE here: a temporary name nobody else picks.
		tmp = fmt.Sprintf("%s.creating-%d-%x", path, os.Getpid(), rand.Uint64())
		fd, err = unix.Open(tmp, unix.O_RDWR|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, mode)
	}
	if err != nil {
		return nil, nil, &os.PathError{Op: "shared: create", Path: path, Err: err}
	}
	var mem []byte
	fail := func(op string, err error) ([]byte, func() error, error) {
		if mem != nil {
			unix.Munmap(mem)
		}
		unix.Close(fd)
		if tmp != "" {
			unix.Unlink(tmp) // ours, never linked to path
		}
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
	mem, err = unix.Mmap(fd, 0, int(size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return fail("mmap", err)
	}
	init(mem)
	// Publish: link(2) never replaces an existing name, so of several
	// creators exactly one names the file, and the others open its region.
	if tmp != "" {
		err = unix.Link(tmp, path)
		unix.Unlink(tmp)
		tmp = ""
	} else {
		// Linking an O_TMPFILE file through /proc/self/fd needs no
		// privilege (AT_EMPTY_PATH would need CAP_DAC_READ_SEARCH).
		err = unix.Linkat(unix.AT_FDCWD, "/proc/self/fd/"+strconv.Itoa(fd), unix.AT_FDCWD, path, unix.AT_SYMLINK_FOLLOW)
	}
	if err != nil {
		return fail("link", err)
	}
	return mem, keepFile(c, fd, mem), nil
}

// keepFile keeps the region file fd open for the handle's liveness lock
// (see identity_linux.go) and returns the unmap that unmaps mem and
// closes fd.
func keepFile(c *config, fd int, mem []byte) func() error {
	c.fd = fd
	return func() error {
		err := unix.Munmap(mem)
		unix.Close(fd)
		return err
	}
}

// healFile removes the file at path if it is still the same file as the
// one open here and still holds no region: empty, or no magic number
// where a region's header begins. A file at path is never uninitialized
// while its creator lives (createFile names a file only once its region
// is complete), so such a file was left by a creator of an older version,
// or truncated by hand; Open calls healFile only after such a file stayed
// uninitialized for initWait. Healers serialize on an exclusive flock of
// the abandoned file and re-check that path still names it, so of two
// healers at once only the first removes it, and a file another healer
// already replaced is never removed.
func healFile(path string) error {
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd) // drops the flock
	if err := unix.Flock(fd, unix.LOCK_EX); err != nil {
		return err
	}
	var held, named unix.Stat_t
	if err := unix.Fstat(fd, &held); err != nil {
		return err
	}
	if err := unix.Lstat(path, &named); err != nil || named.Dev != held.Dev || named.Ino != held.Ino {
		return nil // replaced or removed by someone else: nothing to heal
	}
	if held.Mode&unix.S_IFMT != unix.S_IFREG {
		return nil
	}
	if held.Size != 0 {
		var magic [8]byte
		if n, err := unix.Pread(fd, magic[:], offMagic); err != nil || n != len(magic) || magic != [8]byte{} {
			return nil // a region (or something else): not ours to remove
		}
	}
	return unix.Unlink(path)
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
// maps all of it. It writes nothing. The file stays open (for the handle's
// liveness lock) until the returned unmap.
func mapExisting(path string, c *config) ([]byte, func() error, error) {
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, nil, &os.PathError{Op: "shared: open", Path: path, Err: err}
	}
	kept := false
	defer func() {
		if !kept {
			unix.Close(fd)
		}
	}()
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
	kept = true
	return mem, keepFile(c, fd, mem), nil
}

func removeFile(path string) error { return os.Remove(path) }

// osNameSeparators are the characters besides '/' and NUL a name may not
// contain: none on Linux.
const osNameSeparators = ""

// regionKey is the key a RegionWaiter gets for the region at path: the
// path itself.
func regionKey(path string) string { return path }
