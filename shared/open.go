package shared

import (
	"fmt"
	"strings"
)

// An Option configures Open and OpenExisting.
type Option func(*config)

type config struct {
	dir          string
	group        int // -1: no group access
	waiter       Waiter
	waiterSlots  int
	processSlots int
}

func defaultConfig() config {
	return config{dir: DefaultDir, group: -1, waiterSlots: DefaultWaiterSlots, processSlots: DefaultProcessSlots}
}

// DefaultDir is where Open keeps semaphores: the tmpfs shared-memory
// directory on Linux.
const DefaultDir = "/dev/shm"

// WithDir keeps the semaphore file in dir instead of DefaultDir. The
// directory should be on a memory file system (tmpfs): the region is
// written on every operation.
func WithDir(dir string) Option { return func(c *config) { c.dir = dir } }

// WithGroup gives the group gid read and write access: a created file gets
// mode 0660 and group gid (the caller must be allowed to chown to it), and
// an existing file owned by another user is accepted if its group is gid.
// Without it a file is created with mode 0600 and only files owned by the
// caller's effective user are opened.
func WithGroup(gid int) Option { return func(c *config) { c.group = gid } }

// WithWaiter makes the handle wait through w instead of FutexWaiter (for
// example backend-iouring's WordWaiter, which needs no thread per waiter).
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
	case strings.ContainsAny(name, "/\x00"):
		return fmt.Errorf("shared: semaphore name %q contains '/' or NUL (names may not escape the directory)", name)
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
