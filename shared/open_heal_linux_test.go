package shared_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/compio-sync/gosync/shared"
)

func init() {
	// createhang: Open a new semaphore and hang inside Open, after its file
	// was made and before it was initialized; the test kills the child
	// there.
	extraRoles["createhang"] = func(out logger) int {
		shared.SetCreateHook(func() {
			out.printf("creating")
			select {}
		})
		s, err := shared.Open(os.Getenv(childName), 5, shared.WithDir(childStr("dir")))
		out.printf("created %v", err)
		if err == nil {
			s.Detach()
		}
		return 2
	}
}

// TestCreatorKilledDuringOpen: a process SIGKILLed inside Open, after it
// made the semaphore's file and before it initialized it, leaves nothing
// that fails a later Open: the name never pointed at an uninitialized
// region.
func TestCreatorKilledDuringOpen(t *testing.T) {
	watchdog(t, 30*time.Second)
	dir := t.TempDir()
	name := uniqueName(t)
	c := startChild(t, "creator", "createhang", name, "dir="+dir)
	c.expect(t, "creating")
	c.kill()
	start := time.Now()
	s, err := shared.Open(name, 3, shared.WithDir(dir))
	if err != nil {
		t.Fatalf("Open after its creator was SIGKILLed inside Open = %v, want a working semaphore", err)
	}
	defer s.Detach()
	t.Logf("Open returned %v after the creator's death", time.Since(start).Round(time.Millisecond))
	if got := s.MaxPermits(); got != 3 {
		t.Errorf("MaxPermits = %d, want 3 (this Open created the semaphore)", got)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 || ents[0].Name() != name {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Errorf("directory holds %q, want only %q: the dead creator left litter", names, name)
	}
}

// TestOpenHealsAbandonedFiles: a file left at the name without a region in
// it (empty, sized but never written, or written up to its magic number,
// as a creator of an older version that died inside Open leaves it) is
// replaced by a new semaphore once it has stayed that way longer than a
// creator takes, without a Remove; two Opens healing it at once end up on
// one semaphore.
func TestOpenHealsAbandonedFiles(t *testing.T) {
	watchdog(t, 60*time.Second)
	valid := validRegion(t)
	noMagic := bytes.Clone(valid)
	binary.NativeEndian.PutUint64(noMagic[0:], 0)
	cases := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"sized", make([]byte, len(valid))},
		{"no-magic", noMagic},
	}
	dir := t.TempDir()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(dir, c.name)
			if err := os.WriteFile(path, c.data, 0o600); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			var wg sync.WaitGroup
			handles := make([]*shared.Semaphore, 2)
			errs := make([]error, 2)
			for i := range handles {
				wg.Go(func() { handles[i], errs[i] = shared.Open(c.name, 4, shared.WithDir(dir)) })
			}
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Fatalf("Open %d of a %s file = %v, want it healed", i, c.name, err)
				}
				defer handles[i].Detach()
			}
			t.Logf("healed after %v", time.Since(start).Round(time.Millisecond))
			p, err := handles[0].AcquireN(context.Background(), 3)
			if err != nil {
				t.Fatalf("AcquireN(3) = %v", err)
			}
			if got := handles[1].InUse(); got != 3 {
				t.Fatalf("the two healers' handles are on different semaphores: InUse on the second = %d, want 3", got)
			}
			p.Release()
			if err := handles[1].CheckInvariants(); err != nil {
				t.Fatal(err)
			}
			if _, err := shared.OpenExisting(c.name, shared.WithDir(dir)); err != nil {
				t.Errorf("OpenExisting after healing = %v", err)
			}
		})
	}
}
