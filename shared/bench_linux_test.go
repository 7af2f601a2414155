//go:build linux && (amd64 || arm64)

package shared_test

// Cross-process benchmarks. Run them with, for example,
//
//	go test -run '^$' -bench 'Cross' -benchtime 2000x -count 5 .
//
// BenchmarkCrossUncontended: one goroutine, Acquire+Release of one permit,
// nobody else: core+generic in-process, the shared semaphore, and the
// cross-process alternatives a Go user has (System V semaphore with
// SEM_UNDO, flock job slots, a jobserver pipe).
//
// BenchmarkCrossHandoff: two processes take turns on a 1-permit semaphore,
// each holding it for holdFor, then waiting until the other is queued
// (Waiting reports it), stamping CLOCK_MONOTONIC and releasing; a handoff
// is the receiver's time of return minus that stamp. Every release is
// therefore a handoff to a waiter that queued (and usually went to sleep)
// before it. Beside it the floor: a raw shared-futex ping-pong between two
// processes, holding and stamping the same way (its receiver is asleep in
// FUTEX_WAIT when the word changes). Reports p50 and p99 per handoff, and
// the share of turns that were handoffs (1 when the benchmark measures
// what it says).
//
// BenchmarkCrossContended: 2, 8 and 64 processes each take and return one
// of 2 permits in a loop (b.N acquisitions in all); reports the most OS
// threads any process had at the end.

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	generic "github.com/compio-sync/gosync/backend-generic"
	"github.com/compio-sync/gosync/core"
	"github.com/compio-sync/gosync/shared"
	"golang.org/x/sys/unix"
)

func init() {
	extraRoles["contend"] = contendChild
	extraRoles["pingpong"] = pingPongChild
}

// crossKinds are the cross-process contenders.
var crossKinds = []string{"shared-futex", "shared-iouring", "sysv-undo", "flock-slots", "jobserver-pipe"}

// contender is one way to bound concurrency: acquire and release one permit.
type contender struct {
	acquire, release func()
	close            func()
	// queued, for the shared semaphore, counts the acquisitions that were
	// granted through the queue (handoffs); waiting is its Waiting.
	queued  func() int
	waiting func() int
}

// crossParams locate a contender's shared object; they travel to children
// as arguments (name, semid, dir) and inherited fds (the jobserver pipe is
// fds 4 and 5; fd 3 is the start barrier).
type crossParams struct {
	kind, name, dir string
	semid           int
	jobR, jobW      *os.File
}

func (p crossParams) args() string {
	return fmt.Sprintf("kind=%s,semid=%d,dir=%s", p.kind, p.semid, p.dir)
}

// setupCross creates the shared object of kind with permits permits; it is
// removed when the benchmark ends.
func setupCross(b *testing.B, kind string, permits int) crossParams {
	p := crossParams{kind: kind}
	switch kind {
	case "shared-futex", "shared-iouring":
		if kind == "shared-iouring" && !iouringAvailable() {
			b.Skip("io_uring futex ops unavailable")
		}
		_, p.name = create(b, permits)
	case "sysv-undo":
		id, _, errno := unix.Syscall(unix.SYS_SEMGET, unix.IPC_PRIVATE, 1, unix.IPC_CREAT|0o600)
		if errno != 0 {
			b.Skipf("semget: %v", errno)
		}
		p.semid = int(id)
		const setval = 16
		if _, _, errno := unix.Syscall6(unix.SYS_SEMCTL, id, 0, setval, uintptr(permits), 0, 0); errno != 0 {
			b.Fatalf("semctl SETVAL: %v", errno)
		}
		b.Cleanup(func() { unix.Syscall6(unix.SYS_SEMCTL, id, 0, unix.IPC_RMID, 0, 0, 0) })
	case "flock-slots":
		dir, err := os.MkdirTemp(shared.DefaultDir, "gosync-bench-flock")
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { os.RemoveAll(dir) })
		for i := range permits {
			if err := os.WriteFile(filepath.Join(dir, strconv.Itoa(i)), nil, 0o600); err != nil {
				b.Fatal(err)
			}
		}
		p.dir = dir
	case "jobserver-pipe":
		r, w, err := os.Pipe()
		if err != nil {
			b.Fatal(err)
		}
		w.Write([]byte(strings.Repeat("+", permits)))
		b.Cleanup(func() { r.Close(); w.Close() })
		p.jobR, p.jobW = r, w
	default:
		b.Fatalf("unknown contender %q", kind)
	}
	return p
}

// openContender opens the object p describes in this process.
func openContender(p crossParams) (contender, error) {
	switch p.kind {
	case "shared-futex", "shared-iouring":
		var opts []shared.Option
		closeWaiter := func() {}
		if p.kind == "shared-iouring" {
			opt, c, err := iouringOption()
			if err != nil {
				return contender{}, err
			}
			opts, closeWaiter = append(opts, opt), c
		}
		s, err := shared.OpenExisting(p.name, opts...)
		if err != nil {
			closeWaiter()
			return contender{}, err
		}
		var held shared.Permit
		var queued int
		return contender{
			acquire: func() {
				var err error
				if held, err = s.Acquire(context.Background()); err != nil {
					panic(err)
				}
				if _, _, q := held.Order(); q {
					queued++
				}
			},
			release: func() { held.Release() },
			close:   func() { s.Detach(); closeWaiter() },
			queued:  func() int { return queued },
			waiting: s.Waiting,
		}, nil
	case "sysv-undo":
		const semUndo = 0x1000
		op := func(delta int16) {
			sb := [3]int16{0, delta, semUndo} // struct sembuf {u16 num; s16 op; s16 flg}
			for {
				_, _, errno := unix.Syscall(unix.SYS_SEMOP, uintptr(p.semid), uintptr(unsafe.Pointer(&sb)), 1)
				if errno == 0 {
					return
				}
				if errno != unix.EINTR {
					panic(fmt.Sprintf("semop: %v", errno))
				}
			}
		}
		return contender{acquire: func() { op(-1) }, release: func() { op(1) }, close: func() {}}, nil
	case "flock-slots":
		ents, err := os.ReadDir(p.dir)
		if err != nil {
			return contender{}, err
		}
		var fds []int
		for _, e := range ents {
			fd, err := unix.Open(filepath.Join(p.dir, e.Name()), unix.O_RDONLY|unix.O_CLOEXEC, 0)
			if err != nil {
				return contender{}, err
			}
			fds = append(fds, fd)
		}
		held := -1
		flock := func(fd, how int) error {
			for {
				err := unix.Flock(fd, how)
				if err != unix.EINTR {
					return err
				}
			}
		}
		return contender{
			acquire: func() {
				for _, fd := range fds { // a free slot, if any
					if flock(fd, unix.LOCK_EX|unix.LOCK_NB) == nil {
						held = fd
						return
					}
				}
				held = fds[os.Getpid()%len(fds)] // else wait on one
				if err := flock(held, unix.LOCK_EX); err != nil {
					panic(err)
				}
			},
			release: func() { flock(held, unix.LOCK_UN) },
			close: func() {
				for _, fd := range fds {
					unix.Close(fd)
				}
			},
		}, nil
	case "jobserver-pipe":
		buf := make([]byte, 1)
		return contender{
			acquire: func() {
				if _, err := io.ReadFull(p.jobR, buf); err != nil {
					panic(err)
				}
			},
			release: func() { p.jobW.Write(buf) },
			close:   func() {},
		}, nil
	}
	return contender{}, fmt.Errorf("unknown contender %q", p.kind)
}

func BenchmarkCrossUncontended(b *testing.B) {
	b.Run("core-generic", func(b *testing.B) {
		s := core.NewSemaphore(1, generic.New())
		ctx := context.Background()
		for b.Loop() {
			p, _ := s.Acquire(ctx)
			p.Release()
		}
	})
	// The shared semaphore is called directly, like core above, so that
	// the two cells differ only in the semaphore; the other contenders go
	// through their closures (a few ns, against their hundreds).
	for _, kind := range []string{"shared-futex", "shared-iouring"} {
		b.Run(kind+"-direct", func(b *testing.B) {
			p := setupCross(b, kind, 1)
			var opts []shared.Option
			if kind == "shared-iouring" {
				opt, closeWaiter, err := iouringOption()
				if err != nil {
					b.Fatal(err)
				}
				defer closeWaiter()
				opts = append(opts, opt)
			}
			s, err := shared.OpenExisting(p.name, opts...)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Detach()
			ctx := context.Background()
			for b.Loop() {
				p, _ := s.Acquire(ctx)
				p.Release()
			}
		})
	}
	for _, kind := range crossKinds {
		b.Run(kind, func(b *testing.B) {
			c, err := openContender(setupCross(b, kind, 1))
			if err != nil {
				b.Fatal(err)
			}
			defer c.close()
			for b.Loop() {
				c.acquire()
				c.release()
			}
		})
	}
}

// startCross starts procs children of role on p, each told iters, and
// returns them once all are ready, with the function that starts them all
// at once (closing the barrier pipe, their fd 3).
func startCross(b *testing.B, role string, p crossParams, procs, iters int) ([]*child, func()) {
	goR, goW, err := os.Pipe()
	if err != nil {
		b.Fatal(err)
	}
	files := []*os.File{goR}
	if p.jobR != nil {
		files = append(files, p.jobR, p.jobW)
	}
	var kids []*child
	for i := range procs {
		kids = append(kids, startChild(b, fmt.Sprint("b", i), role, p.name, fmt.Sprintf("%s,iters=%d", p.args(), iters), files...))
	}
	goR.Close()
	for _, c := range kids {
		c.expect(b, "ready")
	}
	return kids, func() { goW.Close() }
}

// awaitDone reads each child's "done THREADS" line and returns the largest
// thread count.
func awaitDone(b *testing.B, kids []*child) int {
	most := 0
	for _, c := range kids {
		select {
		case line, ok := <-c.lines:
			if !ok {
				<-c.done
				b.Fatalf("child %s exited (%v) before saying done", c.id, c.cmd.ProcessState)
			}
			var n int
			if _, err := fmt.Sscanf(line, c.id+" done %d", &n); err != nil {
				b.Fatalf("child %s said %q, want done", c.id, line)
			}
			most = max(most, n)
		case <-time.After(5 * time.Minute):
			b.Fatalf("child %s not done after 5 minutes", c.id)
		}
	}
	return most
}

func childParams() crossParams {
	p := crossParams{kind: childStr("kind"), name: os.Getenv(childName), dir: childStr("dir"), semid: childArg("semid", 0)}
	if p.kind == "jobserver-pipe" {
		p.jobR, p.jobW = os.NewFile(4, "job-r"), os.NewFile(5, "job-w")
	}
	return p
}

func processThreads() int {
	b, _ := os.ReadFile("/proc/self/status")
	_, v, _ := strings.Cut(string(b), "Threads:")
	v, _, _ = strings.Cut(v, "\n")
	n, _ := strconv.Atoi(strings.TrimSpace(v))
	return n
}

// readyThenWait tells the parent this child is ready and waits for the
// start barrier (fd 3) to close.
func readyThenWait(out logger) {
	out.printf("ready")
	io.Copy(io.Discard, os.NewFile(3, "barrier"))
}

// contendChild: open, say ready, wait for the barrier, then acquire and
// release iters times; report the thread count.
func contendChild(out logger) int {
	c, err := openContender(childParams())
	if err != nil {
		out.printf("open %v", err)
		return 2
	}
	readyThenWait(out)
	for range childArg("iters", 1) {
		c.acquire()
		c.release()
	}
	out.printf("done %d", processThreads())
	c.close()
	return 0
}

func BenchmarkCrossContended(b *testing.B) {
	for _, procs := range []int{2, 8, 64} {
		for _, kind := range crossKinds {
			b.Run(fmt.Sprintf("procs=%d/%s", procs, kind), func(b *testing.B) {
				p := setupCross(b, kind, 2)
				iters := max(1, b.N/procs)
				kids, start := startCross(b, "contend", p, procs, iters)
				b.ResetTimer()
				start()
				threads := awaitDone(b, kids)
				b.StopTimer()
				b.ReportMetric(float64(threads), "threads/proc")
			})
		}
	}
}

// pingPongChild is the far side of BenchmarkCrossHandoff: with the raw
// futex it waits for 1 and answers 0; with a semaphore it loops Acquire,
// hold, stamp, Release like the parent.
func pingPongChild(out logger) int {
	iters := childArg("iters", 1)
	if childStr("kind") == "futex-pingpong" {
		word, unmap, err := mapWord(childStr("dir"))
		if err != nil {
			out.printf("map %v", err)
			return 2
		}
		defer unmap()
		stamp := (*atomic.Uint64)(unsafe.Add(unsafe.Pointer(word), 8))
		readyThenWait(out)
		w := shared.FutexWaiter{}
		for range iters {
			for word.Load() == 0 {
				w.Wait(context.Background(), word, 0)
			}
			hold()
			stamp.Store(monotonic())
			word.Store(0)
			w.Wake(word, 1)
		}
		out.printf("done %d", processThreads())
		return 0
	}
	p := childParams()
	c, err := openContender(p)
	if err != nil {
		out.printf("open %v", err)
		return 2
	}
	stamp, unmap, err := mapStamp(p.dir)
	if err != nil {
		out.printf("map %v", err)
		return 2
	}
	defer unmap()
	readyThenWait(out)
	turns := turnCounter(stamp)
	for range iters {
		c.acquire()
		handOff(c, stamp, turns, 2*iters)
	}
	out.printf("done %d", processThreads())
	c.close()
	return 0
}

// turnCounter is the word after the stamp: the turns both sides of the
// semaphore handoff have taken so far.
func turnCounter(stamp *atomic.Uint64) *atomic.Uint64 {
	return (*atomic.Uint64)(unsafe.Add(unsafe.Pointer(stamp), 8))
}

// handOff is one side's turn after its Acquire returned: count the turn,
// hold for holdFor, wait until the other side is queued (unless it has no
// turns left of the total), stamp and release, so that the release hands
// the permit to a waiter that queued before it.
func handOff(c contender, stamp, turns *atomic.Uint64, total int) {
	t := turns.Add(1)
	hold()
	for t < uint64(total) && c.waiting() == 0 {
		runtime.Gosched()
	}
	stamp.Store(monotonic())
	c.release()
}

// holdFor is how long each side of the semaphore handoff benchmark holds
// the permit: long enough for the other process to queue, so that every
// release is a handoff.
const holdFor = 20 * time.Microsecond

// hold spins for holdFor (a sleep would add a wakeup of its own).
func hold() {
	for end := monotonic() + uint64(holdFor); monotonic() < end; {
	}
}

// monotonic returns CLOCK_MONOTONIC in nanoseconds: one clock for every
// process on the host.
func monotonic() uint64 {
	var ts unix.Timespec
	unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return uint64(ts.Nano())
}

// mapStamp maps the release timestamp word at offset 8 of the file at path.
func mapStamp(path string) (*atomic.Uint64, func(), error) {
	w, unmap, err := mapWord(path)
	if err != nil {
		return nil, nil, err
	}
	return (*atomic.Uint64)(unsafe.Add(unsafe.Pointer(w), 8)), unmap, nil
}

// mapWord maps the first word of the file at path (MAP_SHARED).
func mapWord(path string) (*atomicU32, func(), error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	mem, err := unix.Mmap(int(f.Fd()), 0, 4096, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return nil, nil, err
	}
	return (*atomicU32)(unsafe.Pointer(&mem[0])), func() { unix.Munmap(mem) }, nil
}

func BenchmarkCrossHandoff(b *testing.B) {
	for _, kind := range []string{"futex-pingpong", "shared-futex", "shared-iouring"} {
		b.Run(kind, func(b *testing.B) {
			var kids []*child
			var start func()
			// measure runs one turn and returns one handoff's latency, if
			// the turn had one.
			var measure func() (time.Duration, bool)
			if kind == "futex-pingpong" {
				path := filepath.Join(shared.DefaultDir, uniqueName(b))
				if err := os.WriteFile(path, make([]byte, 4096), 0o600); err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { os.Remove(path) })
				word, unmap, err := mapWord(path)
				if err != nil {
					b.Fatal(err)
				}
				defer unmap()
				kids, start = startCross(b, "pingpong", crossParams{kind: kind, dir: path}, 1, b.N)
				// Like the semaphore below: each side holds the turn for
				// holdFor, stamps the time and passes it; the receiver's
				// handoff is now minus the stamp.
				stamp := (*atomic.Uint64)(unsafe.Add(unsafe.Pointer(word), 8))
				w := shared.FutexWaiter{}
				measure = func() (time.Duration, bool) {
					hold()
					stamp.Store(monotonic())
					word.Store(1)
					w.Wake(word, 1)
					for word.Load() == 1 {
						w.Wait(context.Background(), word, 1)
					}
					return time.Duration(monotonic() - stamp.Load()), true
				}
			} else {
				// Both processes loop Acquire, hold for holdFor, wait for
				// the other to be queued, stamp the time, Release, on one
				// permit, so each release is a handoff; an Acquire granted
				// through the queue measures its handoff as now minus the
				// releaser's stamp (CLOCK_MONOTONIC is shared).
				p := setupCross(b, kind, 1)
				p.dir = filepath.Join(shared.DefaultDir, uniqueName(b))
				if err := os.WriteFile(p.dir, make([]byte, 4096), 0o600); err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { os.Remove(p.dir) })
				stamp, unmap, err := mapStamp(p.dir)
				if err != nil {
					b.Fatal(err)
				}
				defer unmap()
				c, err := openContender(p)
				if err != nil {
					b.Fatal(err)
				}
				defer c.close()
				kids, start = startCross(b, "pingpong", p, 1, b.N)
				turns := turnCounter(stamp)
				measure = func() (time.Duration, bool) {
					before := c.queued()
					c.acquire()
					got := monotonic()
					d, ok := time.Duration(got-stamp.Load()), c.queued() > before
					handOff(c, stamp, turns, 2*b.N)
					return d, ok
				}
			}
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			start()
			for range b.N {
				if d, ok := measure(); ok {
					lat = append(lat, d)
				}
			}
			awaitDone(b, kids)
			b.StopTimer()
			b.ReportMetric(float64(len(lat))/float64(b.N), "handoffs/op")
			if len(lat) == 0 {
				return
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2]), "p50-ns/handoff")
			b.ReportMetric(float64(lat[len(lat)*99/100]), "p99-ns/handoff")
		})
	}
}

type atomicU32 = atomic.Uint32
