package iouring_test

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	iouring "github.com/compio-sync/gosync/backend-iouring"
	"github.com/compio-sync/gosync/core"
	"golang.org/x/sys/unix"
)

// One benchmark op is one round trip: two handoffs.

// futex(2) operations with FUTEX_PRIVATE_FLAG.
const (
	futexWaitPrivate = 0 | 128
	futexWakePrivate = 1 | 128
)

// parkerPingPong bounces a token n times each way between two goroutines
// through two Parkers.
func parkerPingPong(tb testing.TB, b core.Backend, n int) {
	ping, pong := b.NewParker(), b.NewParker()
	done := make(chan error, 1)
	go func() {
		for range n {
			if err := ping.Park(context.Background()); err != nil {
				done <- err
				return
			}
			pong.Unpark()
		}
		done <- nil
	}()
	for range n {
		ping.Unpark()
		if err := pong.Park(context.Background()); err != nil {
			tb.Fatal(err)
		}
	}
	if err := <-done; err != nil {
		tb.Fatal(err)
	}
}

// futexPingPong bounces a token n times each way between two goroutines
// locked to their own OS threads, sleeping in futex(FUTEX_WAIT) and waking
// with futex(FUTEX_WAKE): the kernel's wake cost with no Go scheduler
// involvement, this backend's physical floor.
func futexPingPong(tb testing.TB, n int) {
	words := new([2]atomic.Uint32) // heap: futex words never live on a stack
	var wg sync.WaitGroup
	player := func(me int) {
		defer wg.Done()
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		mine, theirs := &words[me], &words[1-me]
		for i := 0; i < n; i++ {
			if me == 0 { // the pinger sends first
				theirs.Store(1)
				unix.Syscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(theirs)), futexWakePrivate, 1, 0, 0, 0)
			}
			for mine.Load() == 0 {
				_, _, e := unix.Syscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(mine)), futexWaitPrivate, 0, 0, 0, 0)
				if e != 0 && e != unix.EAGAIN && e != unix.EINTR {
					panic("futex wait: " + e.Error())
				}
			}
			mine.Store(0)
			if me == 1 {
				theirs.Store(1)
				unix.Syscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(theirs)), futexWakePrivate, 1, 0, 0, 0)
			}
		}
	}
	wg.Add(2)
	go player(0)
	go player(1)
	wg.Wait()
}

// BenchmarkHandoff: iouring and iouring-ringwake wait in the kernel at once
// (WithGoWait(0)); iouring-gowait is the default, whose waits within 1 ms
// stay in the Go scheduler.
func BenchmarkHandoff(b *testing.B) {
	b.Run("iouring", func(b *testing.B) {
		parkerPingPong(b, newBackend(b), b.N)
	})
	b.Run("iouring-gowait", func(b *testing.B) {
		parkerPingPong(b, newBackendWith(b), b.N)
	})
	b.Run("iouring-ringwake", func(b *testing.B) {
		parkerPingPong(b, newBackend(b, iouring.WithRingWake()), b.N)
	})
	b.Run("raw-futex-threads", func(b *testing.B) {
		futexPingPong(b, b.N)
	})
}

// BenchmarkHandoffRatio measures the iouring ping-pong and the raw futex
// ping-pong alternately, in rounds, within one benchmark, and reports
// their per-round-trip times and the ratio iouring/futex (target <= 2.0).
// Alternating rounds exposes both to the same machine noise.
func BenchmarkHandoffRatio(b *testing.B) {
	bk := newBackend(b)
	const rounds = 10
	per := max(b.N/rounds, 1)
	var tIO, tFutex time.Duration
	b.ResetTimer()
	for range rounds {
		start := time.Now()
		parkerPingPong(b, bk, per)
		tIO += time.Since(start)
		start = time.Now()
		futexPingPong(b, per)
		tFutex += time.Since(start)
	}
	b.StopTimer()
	n := float64(per * rounds)
	b.ReportMetric(float64(tIO.Nanoseconds())/n, "iouring-ns/roundtrip")
	b.ReportMetric(float64(tFutex.Nanoseconds())/n, "futex-ns/roundtrip")
	b.ReportMetric(float64(tIO)/float64(tFutex), "ratio")
	b.ReportMetric(0, "ns/op") // the op is split across two measurements
}

// BenchmarkParkUnparkAlreadyPending is the fast path: a token pending
// before Park, no system call.
func BenchmarkParkUnparkAlreadyPending(b *testing.B) {
	p := newBackend(b).NewParker()
	for b.Loop() {
		p.Unpark()
		p.Park(context.Background())
	}
}

// BenchmarkLockedOwnerHop measures the hop that design (b) — one locked
// owner thread with SINGLE_ISSUER|DEFER_TASKRUN — would add: every Park
// must hand its SQE to the owner thread, and every completion comes back
// from it. One op is a request to a goroutine locked to its OS thread and
// the reply. docs/iouring.md compares it with the eventfd design.
func BenchmarkLockedOwnerHop(b *testing.B) {
	req, resp := make(chan int), make(chan int)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		for v := range req {
			resp <- v
		}
	}()
	for i := 0; b.Loop(); i++ {
		req <- i
		<-resp
	}
	close(req)
}

// BenchmarkChannelPingPong is the Go-native baseline: the same round trip
// through two unbuffered channels.
func BenchmarkChannelPingPong(b *testing.B) {
	ping, pong := make(chan struct{}), make(chan struct{})
	go func() {
		for range ping {
			pong <- struct{}{}
		}
	}()
	for b.Loop() {
		ping <- struct{}{}
		<-pong
	}
	close(ping)
}
