//go:build linux || windows

package shared_test

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/compio-sync/gosync/shared"
)

// TestDetachFailsItsWaitersAndReturnsItsPermits: Detach fails the handle's
// queued Acquires with ErrClosed, returns what the handle holds to the
// other handles, and leaves the semaphore open for them.
func TestDetachFailsItsWaitersAndReturnsItsPermits(t *testing.T) {
	watchdog(t, 20*time.Second)
	a, name := create(t, 2)
	b := attachTo(t, name)
	if _, err := b.AcquireN(context.Background(), 2); err != nil {
		t.Fatal(err)
	}
	got := make(chan error, 1)
	go func() { _, err := b.Acquire(context.Background()); got <- err }()
	waitFor(t, func() bool { return a.Waiting() == 1 })
	if err := b.Detach(); err != nil {
		t.Fatalf("Detach = %v", err)
	}
	if err := <-got; !errors.Is(err, shared.ErrClosed) {
		t.Errorf("Acquire queued on a detaching handle = %v, want ErrClosed", err)
	}
	if n, w := a.AvailablePermits(), a.Waiting(); n != 2 || w != 0 {
		t.Errorf("after Detach of the holder, AvailablePermits, Waiting = %d, %d, want 2, 0", n, w)
	}
	if a.Closed() {
		t.Errorf("Detach closed the semaphore for the other handles")
	}
	if _, err := b.Acquire(context.Background()); !errors.Is(err, shared.ErrClosed) {
		t.Errorf("Acquire on a detached handle = %v, want ErrClosed", err)
	}
}

// TestSlotsRunOut: a region's waiter and process slots are fixed at
// creation; past them Acquire and Open fail with ErrNoSlots instead of
// blocking or corrupting anything.
func TestSlotsRunOut(t *testing.T) {
	watchdog(t, 20*time.Second)
	s, name := create(t, 1, shared.WithWaiterSlots(1), shared.WithProcessSlots(2))
	p, _ := s.Acquire(context.Background())
	go s.Acquire(context.Background()) // takes the only waiter slot
	waitFor(t, func() bool { return s.Waiting() == 1 })
	if _, err := s.Acquire(context.Background()); !errors.Is(err, shared.ErrNoSlots) {
		t.Errorf("Acquire with every waiter slot queued = %v, want ErrNoSlots", err)
	}
	attachTo(t, name) // the second process slot
	if h, err := shared.OpenExisting(name, platformOpts(t)...); !errors.Is(err, shared.ErrNoSlots) {
		if err == nil {
			h.Detach()
		}
		t.Errorf("OpenExisting with every process slot attached = %v, want ErrNoSlots", err)
	}
	p.Release()
	if err := s.CheckInvariants(); err != nil {
		t.Error(err)
	}
}

// TestDetachWaitsForOperations: operations racing Detach (fast-path and
// lock-path Acquires and Releases, TryAcquires, introspection) either
// complete before it or fail as documented for a detached handle, and
// whatever they held is returned: afterwards the semaphore is full and its
// invariants hold. Without Detach's wait for the lock-path operations, or
// its steal of its own pool before it returns the pool's permits, a
// permit taken or returned behind its back is lost.
func TestDetachWaitsForOperations(t *testing.T) {
	watchdog(t, 20*time.Second)
	a, name := create(t, 4)
	for round := range 40 {
		b := attachTo(t, name)
		stop := make(chan struct{})
		done := make(chan struct{})
		// Another handle takes most of the permits now and then, draining
		// b's pool, so that b's operations also take the lock path.
		go func() {
			defer func() { done <- struct{}{} }()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if p, ok := a.TryAcquireN(3); ok {
					p.Release()
				}
			}
		}()
		for g := range 4 {
			go func() {
				defer func() { done <- struct{}{} }()
				for k := 0; ; k++ {
					select {
					case <-stop:
						return
					default:
					}
					switch (g + k) % 3 {
					case 0:
						if p, err := b.Acquire(context.Background()); err == nil {
							p.Release()
						} else if !errors.Is(err, shared.ErrClosed) {
							t.Errorf("Acquire on a detaching handle = %v, want nil or ErrClosed", err)
						}
					case 1:
						if p, ok := b.TryAcquire(); ok {
							p.Release()
						}
					default:
						b.InUse()
						b.Held()
					}
				}
			}()
		}
		time.Sleep(time.Duration(round%5) * time.Millisecond)
		if err := b.Detach(); err != nil {
			t.Fatalf("Detach = %v", err)
		}
		time.Sleep(time.Millisecond) // operations keep starting on the detached handle
		close(stop)
		for range 5 {
			<-done
		}
		if h := b.Held(); h != 0 {
			t.Errorf("Held on a detached handle = %d, want 0", h)
		}
		if err := a.CheckInvariants(); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if n := a.AvailablePermits(); n != 4 {
			t.Fatalf("round %d: AvailablePermits after Detach with nothing held = %d, want 4", round, n)
		}
	}
}

// TestDetachFreezesItsPool: Detach steals its own pool before it returns
// the pool's permits, so that a fast-path operation of the handle running
// at that moment (here: a TryAcquire from inside Detach, between its read
// and its write of the pool word) fails instead of taking a permit whose
// count Detach then overwrites.
func TestDetachFreezesItsPool(t *testing.T) {
	watchdog(t, 20*time.Second)
	a, name := create(t, 2)
	b := attachTo(t, name)
	p, _ := b.Acquire(context.Background())
	p.Release() // b's pool: 1 free, undrained
	var raced bool
	shared.SetReturnHook(func() {
		if q, ok := b.TryAcquire(); ok {
			raced = true
			_ = q // the handle is detaching: its Release would do nothing
		}
	})
	defer shared.SetReturnHook(nil)
	b.Detach()
	shared.SetReturnHook(nil)
	if raced {
		t.Errorf("a fast-path TryAcquire succeeded while Detach was returning the handle's pool")
	}
	if err := a.CheckInvariants(); err != nil {
		t.Fatal(err)
	}
	if n := a.AvailablePermits(); n != 2 {
		t.Errorf("AvailablePermits after Detach = %d, want 2", n)
	}
}

// TestDetachedSlotsComeBack: a detached handle's process slot is freed once
// the handle is unreachable, and Open collects garbage to get it when every
// slot is taken: a process can open and detach a region with two slots as
// often as it likes while another handle stays attached.
func TestDetachedSlotsComeBack(t *testing.T) {
	watchdog(t, 20*time.Second)
	_, name := create(t, 2, shared.WithProcessSlots(2))
	for i := range 20 {
		b, err := shared.OpenExisting(name, platformOpts(t)...)
		if err != nil {
			t.Fatalf("OpenExisting #%d with the previous handles detached = %v", i, err)
		}
		if p, err := b.Acquire(context.Background()); err != nil {
			t.Fatal(err)
		} else if i%2 == 0 {
			p.Release()
		}
		b.Detach()
	}
}

// TestSnapshotsAfterDetach: a detached handle's snapshots report the
// detached state without reading the region (when Detach unmapped it at
// once, Closed, MaxPermits and Waiting read it anyway and the process died
// of SIGSEGV; the mapping now outlives Detach until the handle is
// unreachable, and they would report the semaphore's live state).
func TestSnapshotsAfterDetach(t *testing.T) {
	s, _ := create(t, 2)
	if err := s.Detach(); err != nil {
		t.Fatal(err)
	}
	if !s.Closed() {
		t.Errorf("Closed after Detach = false, want true (its operations fail with ErrClosed)")
	}
	if m, w, u, a, h := s.MaxPermits(), s.Waiting(), s.InUse(), s.AvailablePermits(), s.Held(); m != 0 || w != 0 || u != 0 || a != 0 || h != 0 {
		t.Errorf("after Detach MaxPermits, Waiting, InUse, AvailablePermits, Held = %d, %d, %d, %d, %d, want 0 each", m, w, u, a, h)
	}
}

// TestSlotCleanupNeverBlocksTheRuntime: the cleanup that frees a detached
// handle's process slot needs the region lock, which a stopped (not dead)
// process may hold for as long as it likes. The runtime runs every cleanup
// and finalizer of the program on one goroutine, so the slot is freed on a
// goroutine of its own: another cleanup still runs while the lock is held.
// (Run on the runtime's goroutine, the slot cleanup blocked every later
// cleanup of the program until the lock holder died.)
func TestSlotCleanupNeverBlocksTheRuntime(t *testing.T) {
	watchdog(t, 30*time.Second)
	_, name := create(t, 2)
	func() {
		h, err := shared.OpenExisting(name, platformOpts(t)...)
		if err != nil {
			t.Fatal(err)
		}
		if err := h.Detach(); err != nil {
			t.Fatal(err)
		}
	}()
	c := startChild(t, "locker", "lock", name, "")
	c.expect(t, "locked")
	runtime.GC() // the detached handle is unreachable: its cleanup is queued
	ran := make(chan struct{})
	func() {
		x := new([64]byte)
		runtime.AddCleanup(x, func(ch chan struct{}) { close(ch) }, ran)
	}()
	runtime.GC()
	select {
	case <-ran:
	case <-time.After(10 * time.Second):
		t.Fatal("a cleanup queued after the detached handle's did not run within 10s while another process held the region lock: the runtime's cleanup goroutine is blocked")
	}
	c.kill()
}

// TestDetachPoolStaysFrozenAgainstOperationsInFlight: a lock-path
// operation that entered before Detach and takes the region lock after
// Detach froze the handle's pool (a TryAcquireN, or a Release) must not
// undrain the pool again: the handle's fast path would work once more
// while Detach returns the pool, and a TryAcquire made in that window
// keeps a permit that Detach also returns to the semaphore, so two
// callers hold it.
func TestDetachPoolStaysFrozenAgainstOperationsInFlight(t *testing.T) {
	t.Run("TryAcquireN", func(t *testing.T) {
		a, b := frozenPoolSetup(t)
		p, err := b.Acquire(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		p.Release() // b's pool: 1 free, undrained
		var ok bool
		detachAround(t, a, b, func() {
			var p shared.Permit
			if p, ok = b.TryAcquireN(2); ok { // 2 > 1 free: the lock path
				p.Release()
			}
		}, func() bool { return b.PoolDrained() }) // Detach's steal landed
		if ok {
			t.Errorf("a TryAcquireN that entered before Detach and took the lock after it began succeeded (an AcquireN fails with ErrClosed there)")
		}
	})
	t.Run("Release", func(t *testing.T) {
		a, b := frozenPoolSetup(t)
		pa, _ := a.Acquire(context.Background())
		defer pa.Release()
		pb, _ := b.Acquire(context.Background())
		// A request of b queues (every pool is drained, so pb's Release
		// takes the lock path) and is failed by Detach's first
		// transaction: its return says that transaction is done.
		failed := make(chan error, 1)
		go func() { _, err := b.Acquire(context.Background()); failed <- err }()
		waitFor(t, func() bool { return a.Waiting() == 1 })
		detachAround(t, a, b, pb.Release, func() bool {
			select {
			case err := <-failed:
				if !errors.Is(err, shared.ErrClosed) {
					t.Errorf("b's queued Acquire = %v, want ErrClosed", err)
				}
				return true
			default:
				return false
			}
		})
	})
}

func frozenPoolSetup(t *testing.T) (a, b *shared.Semaphore) {
	watchdog(t, 20*time.Second)
	a, name := create(t, 2)
	return a, attachTo(t, name)
}

// detachAround runs op on b so that it enters before b.Detach and takes
// the region lock once firstDone reports that Detach's first transaction
// (its steal of b's pool) is done; then, while Detach is returning b's
// pool, it tries a fast TryAcquire on b, which must fail. a is another
// handle, which then checks that nothing is held twice.
func detachAround(t *testing.T, a, b *shared.Semaphore, op func(), firstDone func() bool) {
	t.Helper()
	entered, proceed := make(chan struct{}), make(chan struct{})
	shared.SetEnterHook(func() { close(entered); <-proceed })
	defer shared.SetEnterHook(nil)
	opDone := make(chan struct{})
	go func() { op(); close(opDone) }()
	<-entered
	shared.SetEnterHook(nil)

	returning, resume := make(chan struct{}), make(chan struct{})
	shared.SetReturnHook(func() { close(returning); <-resume })
	defer shared.SetReturnHook(nil)
	detached := make(chan error, 1)
	go func() { detached <- b.Detach() }()
	waitFor(t, firstDone)
	close(proceed)
	<-opDone
	<-returning // Detach is returning the pool, between its read and its write
	q, raced := b.TryAcquire()
	close(resume)
	if err := <-detached; err != nil {
		t.Fatalf("Detach = %v", err)
	}
	shared.SetReturnHook(nil)
	if raced {
		t.Errorf("a fast-path TryAcquire (fast %t) succeeded while Detach returned the pool, after an operation that entered before Detach took the lock after its steal", q.Fast())
	}
	if err := a.CheckInvariants(); err != nil {
		t.Fatal(err)
	}
	if u, av, m := a.InUse(), a.AvailablePermits(), a.MaxPermits(); raced && u+av+1 > m {
		t.Errorf("in use %d + available %d + the permit the TryAcquire above holds > maximum %d: a permit is counted twice", u, av, m)
	}
}
