package conformance

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/anishathalye/porcupine"
)

// The linearizability check records concurrent workloads and asks porcupine
// whether some sequential execution of a FIFO semaphore explains them.
//
// A blocking AcquireN is two operations of the model, both spanning the
// call: join (it queues, or is granted at once if nobody is queued and
// enough permits are free) and then grant (it returns its permits) or
// leave (it fails; a queued waiter leaves the queue, a waiter granted in a
// race gives its permits back, and either way the head of the queue is
// served again). Release adds permits and serves the queue from the head,
// stopping at the first waiter that does not fit (head-of-line). TryAcquireN
// succeeds only when nobody is queued and enough permits are free. So the
// model checks permit conservation, direct handoff, FIFO grant order among
// waiters whose join order is fixed by real time, no barging, and that a
// cancelled head strands nothing. Porcupine may choose the join order of
// waiters whose calls overlap; FIFO/StrictOrder fixes that order exactly.

type linOp struct {
	kind string // "join", "grant", "leave", "try", "release"
	id   int    // the AcquireN call, for join/grant/leave
	n    int
	ok   bool // try only
}

type linWaiter struct{ id, n int }

// linState is immutable: Step returns new states.
type linState struct {
	avail   int
	queue   []linWaiter
	granted []linWaiter // granted, not yet returned to the caller
}

func (s linState) key() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d|", s.avail)
	for _, w := range s.queue {
		fmt.Fprintf(&b, "%d:%d,", w.id, w.n)
	}
	b.WriteByte('|')
	g := slices.Clone(s.granted)
	slices.SortFunc(g, func(a, b linWaiter) int { return a.id - b.id })
	for _, w := range g {
		fmt.Fprintf(&b, "%d:%d,", w.id, w.n)
	}
	return b.String()
}

// serve grants from the head of the queue while the head fits.
func (s linState) serve() linState {
	for len(s.queue) > 0 && s.queue[0].n <= s.avail {
		s.avail -= s.queue[0].n
		s.granted = append(slices.Clone(s.granted), s.queue[0])
		s.queue = s.queue[1:]
	}
	return s
}

func linStep(state, input, _ any) (bool, any) {
	s, op := state.(linState), input.(linOp)
	switch op.kind {
	case "join":
		if len(s.queue) == 0 && s.avail >= op.n {
			s.avail -= op.n
			s.granted = append(slices.Clone(s.granted), linWaiter{op.id, op.n})
			return true, s
		}
		s.queue = append(slices.Clone(s.queue), linWaiter{op.id, op.n})
		return true, s
	case "grant":
		i := slices.IndexFunc(s.granted, func(w linWaiter) bool { return w.id == op.id })
		if i < 0 {
			return false, s
		}
		s.granted = slices.Delete(slices.Clone(s.granted), i, i+1)
		return true, s
	case "leave":
		if i := slices.IndexFunc(s.queue, func(w linWaiter) bool { return w.id == op.id }); i >= 0 {
			s.queue = slices.Delete(slices.Clone(s.queue), i, i+1)
			return true, s.serve()
		}
		if i := slices.IndexFunc(s.granted, func(w linWaiter) bool { return w.id == op.id }); i >= 0 {
			s.avail += s.granted[i].n
			s.granted = slices.Delete(slices.Clone(s.granted), i, i+1)
			return true, s.serve()
		}
		return false, s
	case "try":
		fits := len(s.queue) == 0 && s.avail >= op.n
		if op.ok != fits {
			return false, s
		}
		if fits {
			s.avail -= op.n
		}
		return true, s
	case "release":
		s.avail += op.n
		return true, s.serve()
	}
	panic("conformance: unknown linearizability operation " + op.kind)
}

func linModel(permits int) porcupine.Model {
	return porcupine.Model{
		Init:  func() any { return linState{avail: permits} },
		Step:  linStep,
		Equal: func(a, b any) bool { return a.(linState).key() == b.(linState).key() },
		DescribeOperation: func(in, _ any) string {
			op := in.(linOp)
			return fmt.Sprintf("%s(id %d, n %d, ok %v)", op.kind, op.id, op.n, op.ok)
		},
		DescribeState: func(s any) string { return s.(linState).key() },
	}
}

// linRecorder collects operations with timestamps from a monotonic clock.
type linRecorder struct {
	start time.Time
	mu    sync.Mutex
	ops   []porcupine.Operation
}

func (r *linRecorder) now() int64 { return int64(time.Since(r.start)) }

func (r *linRecorder) add(client int, op linOp, call, ret int64) {
	r.mu.Lock()
	r.ops = append(r.ops, porcupine.Operation{ClientId: client, Input: op, Call: call, Output: nil, Return: ret})
	r.mu.Unlock()
}

func (s *suite) linearizabilityTests(e0 *env) {
	s.run(e0.t, "FIFOSemaphoreHistory", func(e *env) {
		const permits, clients = 3, 4
		histories := s.size(40, 10)
		opsPer := s.size(10, 8)
		unknown := 0
		for h := range histories {
			sem := e.sem(permits)
			rec := &linRecorder{start: time.Now()}
			var nextID int
			var idMu sync.Mutex
			newID := func() int { idMu.Lock(); defer idMu.Unlock(); nextID++; return nextID }
			e.goAll(clients, fmt.Sprintf("history %d", h), func(c int, tick func()) {
				rng := rand.New(rand.NewPCG(uint64(h), uint64(c)))
				for range opsPer {
					tick()
					n := 1 + rng.IntN(permits)
					var held int
					if rng.IntN(3) == 0 {
						call := rec.now()
						p, ok := sem.TryAcquireN(n)
						rec.add(c, linOp{kind: "try", n: n, ok: ok}, call, rec.now())
						if ok {
							held = p.Count()
						}
					} else {
						id := newID()
						ctx, cancel := e.ctx, context.CancelFunc(func() {})
						if rng.IntN(2) == 0 {
							ctx, cancel = context.WithTimeout(e.ctx, e.scaled(time.Duration(rng.IntN(300))*time.Microsecond))
						}
						call := rec.now()
						p, err := sem.AcquireN(ctx, n)
						ret := rec.now()
						cancel()
						if e.ctx.Err() != nil {
							return
						}
						rec.add(c, linOp{kind: "join", id: id, n: n}, call, ret)
						if err == nil {
							rec.add(c, linOp{kind: "grant", id: id, n: n}, call, ret)
							held = p.Count()
						} else {
							rec.add(c, linOp{kind: "leave", id: id, n: n}, call, ret)
						}
					}
					if held > 0 {
						for range rng.IntN(3) {
							runtime.Gosched()
						}
						call := rec.now()
						sem.Release(held)
						rec.add(c, linOp{kind: "release", n: held}, call, rec.now())
					}
				}
			})
			if e.ctx.Err() != nil {
				return
			}
			res, info := porcupine.CheckOperationsVerbose(linModel(permits), rec.ops, 10*time.Second)
			switch res {
			case porcupine.Illegal:
				var b strings.Builder
				for _, ops := range info.PartialLinearizationsOperations() {
					for _, lin := range ops {
						if len(lin) > len(b.String()) {
							b.Reset()
							for _, op := range lin {
								fmt.Fprintf(&b, "%s; ", linModel(permits).DescribeOperation(op.Input, nil))
							}
						}
					}
				}
				e.t.Fatalf("history %d of %d concurrent operations is not linearizable against a FIFO semaphore of %d permits; the longest valid prefix: %s\nfull history: %v", h, len(rec.ops), permits, b.String(), rec.ops)
			case porcupine.Unknown:
				unknown++
			}
		}
		if unknown > 0 {
			e.t.Logf("%d of %d histories were too large to check within the time limit (inconclusive, not failures)", unknown, histories)
		}
	})
}
