package shared_test

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/compio-sync/gosync/shared"
)

// TestOpenRefusesAWiderMode: an existing region file whose mode grants
// more than Open would have given it (0600, or 0660 with WithGroup) is
// refused with an error wrapping ErrInvalid that names the mode, and is
// left as it was: whoever else may write it can corrupt the semaphore or
// make its users die of SIGBUS by truncating it.
func TestOpenRefusesAWiderMode(t *testing.T) {
	valid := validRegion(t)
	const nogroup = 65534
	cases := []struct {
		mode  fs.FileMode
		group bool
		ok    bool
	}{
		{0o600, false, true},
		{0o660, true, true},
		{0o640, true, true},
		{0o666, false, false},
		{0o644, false, false},
		{0o660, false, false},
		{0o606, false, false},
		{0o666, true, false},
		{0o664, true, false},
	}
	dir := t.TempDir()
	for _, c := range cases {
		name := fmt.Sprintf("mode-%#o", uint32(c.mode))
		if c.group {
			name += "-group"
		}
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, name)
			if err := os.WriteFile(path, valid, 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, c.mode); err != nil { // not subject to the umask
				t.Fatal(err)
			}
			opts := []shared.Option{shared.WithDir(dir)}
			if c.group {
				opts = append(opts, shared.WithGroup(nogroup))
			}
			s, err := shared.OpenExisting(name, opts...)
			if c.ok {
				if err != nil {
					t.Fatalf("OpenExisting of a mode %v file (WithGroup %t) = %v, want success", c.mode, c.group, err)
				}
				s.Detach()
				return
			}
			if err == nil {
				s.Detach()
				t.Fatalf("OpenExisting of a mode %v file (WithGroup %t) succeeded, want it refused", c.mode, c.group)
			}
			if want := fmt.Sprintf("mode %#o", uint32(c.mode)); !errors.Is(err, shared.ErrInvalid) || !strings.HasPrefix(err.Error(), "shared:") || !strings.Contains(err.Error(), want) {
				t.Errorf("OpenExisting of a mode %v file = %v, want ErrInvalid naming the package and the mode", c.mode, err)
			}
			if got, _ := os.ReadFile(path); !bytes.Equal(got, valid) {
				t.Errorf("the refused file was modified")
			}
			if got := mode(t, path); got != c.mode {
				t.Errorf("the refused file's mode changed to %v", got)
			}
		})
	}
}
