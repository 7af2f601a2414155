package ring

import (
	"errors"
	"testing"

	"golang.org/x/sys/unix"
)

func newRing(t *testing.T, c Config) *Ring {
	t.Helper()
	r, err := New(c)
	if errors.Is(err, errors.ErrUnsupported) || errors.Is(err, unix.EPERM) {
		t.Skipf("io_uring not available on this host: %v", err)
	}
	if err != nil {
		t.Fatalf("New(%+v) = %v", c, err)
	}
	t.Cleanup(func() {
		if err := r.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return r
}

func reapAll(t *testing.T, r *Ring) map[uint64]int32 {
	t.Helper()
	got := map[uint64]int32{}
	if _, err := r.Reap(func(c CQE) {
		if _, dup := got[c.UserData]; dup {
			t.Errorf("CQE for user_data %d delivered twice", c.UserData)
		}
		got[c.UserData] = c.Res
	}); err != nil {
		t.Fatalf("Reap: %v", err)
	}
	return got
}

func TestNopRoundTripsReturnTheirUserData(t *testing.T) {
	r := newRing(t, Config{Entries: 8})
	for round := 0; round < 100; round++ { // wraps the rings many times
		for i := uint64(0); i < 5; i++ {
			if !r.Push(&SQE{Opcode: OpNop, UserData: uint64(round)*10 + i}) {
				t.Fatalf("round %d: Push %d on a ring with room = false", round, i)
			}
		}
		n, err := r.Submit()
		if n != 5 || err != nil {
			t.Fatalf("round %d: Submit() = %d, %v, want 5, nil", round, n, err)
		}
		got := reapAll(t, r)
		if len(got) != 5 {
			t.Fatalf("round %d: reaped %d CQEs, want 5: %v", round, len(got), got)
		}
		for i := uint64(0); i < 5; i++ {
			if res, ok := got[uint64(round)*10+i]; !ok || res != 0 {
				t.Errorf("round %d: CQE for %d = %d, present %v; want res 0", round, i, res, ok)
			}
		}
	}
}

func TestPushReportsFullSQAndRoomReturnsAfterSubmit(t *testing.T) {
	r := newRing(t, Config{Entries: 4})
	n := r.SQEntries()
	for i := uint32(0); i < n; i++ {
		if !r.Push(&SQE{Opcode: OpNop, UserData: uint64(i)}) {
			t.Fatalf("Push %d of %d = false", i, n)
		}
	}
	if r.Push(&SQE{Opcode: OpNop, UserData: 99}) {
		t.Fatalf("Push on a full SQ (%d entries) = true, want false", n)
	}
	if got := r.Space(); got != 0 {
		t.Fatalf("Space() on a full SQ = %d, want 0", got)
	}
	if got, err := r.Submit(); got != int(n) || err != nil {
		t.Fatalf("Submit() = %d, %v, want %d, nil", got, err, n)
	}
	if got := r.Space(); got != n {
		t.Fatalf("Space() after Submit = %d, want %d", got, n)
	}
	if !r.Push(&SQE{Opcode: OpNop, UserData: 99}) {
		t.Fatal("Push after Submit = false, want true")
	}
	if _, err := r.Submit(); err != nil {
		t.Fatal(err)
	}
	if got := reapAll(t, r); len(got) != int(n)+1 {
		t.Fatalf("reaped %d CQEs, want %d", len(got), n+1)
	}
}

// TestReapFlushesCQOverflowWithoutLoss submits three CQ-fulls of NOPs before
// reaping: the kernel (IORING_FEAT_NODROP) parks the excess on its overflow
// list, and Reap must deliver every one of them exactly once.
func TestReapFlushesCQOverflowWithoutLoss(t *testing.T) {
	r := newRing(t, Config{Entries: 4, CQEntries: 8})
	if r.Features()&FeatNoDrop == 0 {
		t.Skip("kernel lacks IORING_FEAT_NODROP")
	}
	total := 3 * int(r.CQEntries())
	for i := 0; i < total; i++ {
		for !r.Push(&SQE{Opcode: OpNop, UserData: uint64(i)}) {
			if _, err := r.Submit(); err != nil && !errors.Is(err, unix.EBUSY) && !errors.Is(err, unix.EAGAIN) {
				t.Fatalf("Submit: %v", err)
			}
		}
	}
	for r.Unsubmitted() > 0 {
		if _, err := r.Submit(); err != nil && !errors.Is(err, unix.EBUSY) && !errors.Is(err, unix.EAGAIN) {
			t.Fatalf("Submit: %v", err)
		}
	}
	if !r.NeedsFlush() {
		t.Fatalf("after %d NOPs into a %d-slot CQ the SQ flags show no overflow", total, r.CQEntries())
	}
	got := reapAll(t, r)
	if len(got) != total {
		t.Fatalf("reaped %d CQEs, want %d", len(got), total)
	}
	for i := 0; i < total; i++ {
		if _, ok := got[uint64(i)]; !ok {
			t.Errorf("CQE %d lost in overflow", i)
		}
	}
}

func TestRingFdIsCloseOnExec(t *testing.T) {
	r := newRing(t, Config{Entries: 4})
	flags, err := unix.FcntlInt(uintptr(r.Fd()), unix.F_GETFD, 0)
	if err != nil {
		t.Fatal(err)
	}
	if flags&unix.FD_CLOEXEC == 0 {
		t.Fatalf("ring fd flags = %#x, want FD_CLOEXEC set", flags)
	}
}

func TestProbeReportsNopAndFutexOps(t *testing.T) {
	r := newRing(t, Config{Entries: 4})
	p, err := r.Probe()
	if err != nil {
		t.Fatal(err)
	}
	if !p.Supports(OpNop) {
		t.Error("probe says NOP is unsupported")
	}
	if p.LastOp < OpFutexWake {
		t.Skipf("kernel's last op is %d: no futex ops (need Linux 6.7+)", p.LastOp)
	}
	for _, op := range []uint8{OpFutexWait, OpFutexWake} {
		if !p.Supports(op) {
			t.Errorf("probe says op %d is unsupported on a kernel whose last op is %d", op, p.LastOp)
		}
	}
	if p.Supports(255) {
		t.Error("probe says op 255 is supported")
	}
}

func TestCloseIsIdempotent(t *testing.T) {
	r, err := New(Config{Entries: 4})
	if err != nil {
		t.Skipf("io_uring not available: %v", err)
	}
	if err := r.Close(); err != nil {
		t.Fatalf("first Close = %v", err)
	}
	if err := r.Close(); err != nil {
		t.Fatalf("second Close = %v, want nil", err)
	}
}
