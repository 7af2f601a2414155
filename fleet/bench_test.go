package fleet_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
	"go.uber.org/zap"
	"google.golang.org/grpc"

	"github.com/compio-sync/gosync/fleet"
)

// The fleet table (make bench-fleet; make bench writes it to
// benchmarks/results/fleet.txt): every benchmark runs against the same
// embedded single-member cluster (or ETCD_ENDPOINTS), with its baseline
// beside it in the same run.

// rpcCounter counts the unary RPCs (Txn, Range, Put, Delete, lease Grant,
// Revoke...) a client sends: the round trips an operation costs. Streams
// (watch, keepalive) are not round trips of the caller and are not counted.
type rpcCounter struct{ n atomic.Int64 }

func (c *rpcCounter) intercept(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	c.n.Add(1)
	return invoker(ctx, method, req, reply, cc, opts...)
}

func countingClient(b *testing.B, c *cluster, rc *rpcCounter) *clientv3.Client {
	b.Helper()
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:   c.endpoints,
		DialTimeout: 5 * time.Second,
		Logger:      zap.NewNop(),
		DialOptions: []grpc.DialOption{grpc.WithChainUnaryInterceptor(rc.intercept)},
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cli.Close() })
	return cli
}

func benchOpen(b *testing.B, cli *clientv3.Client, name string, permits int, create bool) *fleet.Semaphore {
	b.Helper()
	opts := []fleet.Option{fleet.WithPrefix(fmt.Sprintf("/gosync-bench/%s/", b.Name()))}
	if create {
		opts = append(opts, fleet.WithPermits(permits))
	}
	s, err := fleet.Open(context.Background(), cli, name, opts...)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Detach(context.Background()) })
	return s
}

// BenchmarkUncontended: one goroutine, Acquire+Release of an idle
// semaphore, against concurrency.Mutex Lock+Unlock on one session; rpc/op is
// the etcd round trips per pair (the bound to keep: at most 2).
func BenchmarkUncontended(b *testing.B) {
	c := sharedCluster(b)
	ctx := context.Background()
	b.Run("impl=fleet", func(b *testing.B) {
		var rc rpcCounter
		s := benchOpen(b, countingClient(b, c, &rc), "uncontended", 1, true)
		p, err := s.Acquire(ctx) // grant the lease outside the loop
		if err != nil {
			b.Fatal(err)
		}
		p.Release()
		rc.n.Store(0)
		b.ResetTimer()
		for range b.N {
			p, err := s.Acquire(ctx)
			if err != nil {
				b.Fatal(err)
			}
			p.Release()
		}
		b.ReportMetric(float64(rc.n.Load())/float64(b.N), "rpc/op")
	})
	b.Run("impl=etcd-mutex", func(b *testing.B) {
		var rc rpcCounter
		cli := countingClient(b, c, &rc)
		sess, err := concurrency.NewSession(cli)
		if err != nil {
			b.Fatal(err)
		}
		defer sess.Close()
		m := concurrency.NewMutex(sess, fmt.Sprintf("/gosync-bench/%s/mutex", b.Name()))
		rc.n.Store(0)
		b.ResetTimer()
		for range b.N {
			if err := m.Lock(ctx); err != nil {
				b.Fatal(err)
			}
			if err := m.Unlock(ctx); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(rc.n.Load())/float64(b.N), "rpc/op")
	})
}

// BenchmarkHandoff: the time from a Release in one process to the grant in
// another whose waiter was already queued, against the floor it rests on, a
// bare watch notification (a Put on one client observed by another's
// watch). Only that span is timed.
func BenchmarkHandoff(b *testing.B) {
	c := sharedCluster(b)
	ctx := context.Background()
	b.Run("impl=fleet", func(b *testing.B) {
		var rc rpcCounter
		sems := [2]*fleet.Semaphore{
			benchOpen(b, countingClient(b, c, &rc), "handoff", 1, true),
			benchOpen(b, countingClient(b, c, &rc), "handoff", 1, false),
		}
		held, err := sems[0].Acquire(ctx)
		if err != nil {
			b.Fatal(err)
		}
		var spans []time.Duration
		b.ResetTimer()
		for i := range b.N {
			b.StopTimer()
			next := sems[(i+1)%2]
			got := make(chan *fleet.Permit, 1)
			go func() {
				p, err := next.Acquire(ctx)
				if err != nil {
					b.Error(err)
				}
				got <- p
			}()
			// The waiter must be in its wait, its own enqueue answered
			// (a Get can see its key before its Txn's response arrives).
			for fleet.LocalWaiters(next) != 1 {
				time.Sleep(10 * time.Microsecond)
			}
			b.StartTimer()
			t0 := time.Now()
			held.Release()
			held = <-got
			spans = append(spans, time.Since(t0))
		}
		b.StopTimer()
		held.Release()
		reportP50(b, spans)
	})
	b.Run("impl=watch", func(b *testing.B) {
		var rc rpcCounter
		put, watch := countingClient(b, c, &rc), countingClient(b, c, &rc)
		key := fmt.Sprintf("/gosync-bench/%s/key", b.Name())
		wctx, cancel := context.WithCancel(ctx)
		defer cancel()
		wch := watch.Watch(wctx, key, clientv3.WithCreatedNotify())
		<-wch // created
		var spans []time.Duration
		b.ResetTimer()
		for range b.N {
			t0 := time.Now()
			if _, err := put.Put(ctx, key, "x"); err != nil {
				b.Fatal(err)
			}
			<-wch
			spans = append(spans, time.Since(t0))
		}
		reportP50(b, spans)
	})
}

// reportP50 reports the median span: the mean (ns/op) of a few hundred
// millisecond-scale round trips on a shared machine is pulled by a few
// scheduler or GC stalls.
func reportP50(b *testing.B, spans []time.Duration) {
	slices.Sort(spans)
	if len(spans) > 0 {
		b.ReportMetric(float64(spans[len(spans)/2].Microseconds()), "p50-us")
	}
}

// BenchmarkWaiters: w goroutines spread over 4 client processes take turns
// on one permit (fleet with 1 permit, concurrency.Mutex with one session per
// goroutine); b.N grants in all. Reports grants/s and the p99 wait of an
// Acquire (or Lock).
func BenchmarkWaiters(b *testing.B) {
	c := sharedCluster(b)
	for _, w := range []int{1, 16, 256} {
		b.Run(fmt.Sprintf("impl=fleet/waiters=%d", w), func(b *testing.B) {
			var rc rpcCounter
			var sems []*fleet.Semaphore
			for i := range 4 {
				sems = append(sems, benchOpen(b, countingClient(b, c, &rc), "waiters", 1, i == 0))
			}
			runWaiters(b, w, func(g int) (func(context.Context) (func(), error), func()) {
				s := sems[g%4]
				return func(ctx context.Context) (func(), error) {
					p, err := s.Acquire(ctx)
					if err != nil {
						return nil, err
					}
					return p.Release, nil
				}, func() {}
			})
		})
		b.Run(fmt.Sprintf("impl=etcd-mutex/waiters=%d", w), func(b *testing.B) {
			var rc rpcCounter
			var clis []*clientv3.Client
			for range 4 {
				clis = append(clis, countingClient(b, c, &rc))
			}
			pfx := fmt.Sprintf("/gosync-bench/%s/mutex", b.Name())
			runWaiters(b, w, func(g int) (func(context.Context) (func(), error), func()) {
				sess, err := concurrency.NewSession(clis[g%4])
				if err != nil {
					b.Fatal(err)
				}
				m := concurrency.NewMutex(sess, pfx)
				return func(ctx context.Context) (func(), error) {
					if err := m.Lock(ctx); err != nil {
						return nil, err
					}
					return func() { _ = m.Unlock(ctx) }, nil
				}, func() { sess.Close() }
			})
		})
	}
}

// runWaiters runs w goroutines, each made by mk, until b.N grants were
// taken in all, and reports throughput and the p99 wait.
func runWaiters(b *testing.B, w int, mk func(g int) (acquire func(context.Context) (func(), error), done func())) {
	ctx := context.Background()
	var left atomic.Int64
	left.Store(int64(b.N))
	var mu sync.Mutex
	var waits []time.Duration
	acquires := make([]func(context.Context) (func(), error), w)
	dones := make([]func(), w)
	for g := range w {
		acquires[g], dones[g] = mk(g)
	}
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for g := range w {
		wg.Go(func() {
			for left.Add(-1) >= 0 {
				t0 := time.Now()
				release, err := acquires[g](ctx)
				if err != nil {
					b.Error(err)
					return
				}
				d := time.Since(t0)
				release()
				mu.Lock()
				waits = append(waits, d)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	el := time.Since(start)
	b.StopTimer()
	for _, d := range dones {
		d()
	}
	slices.Sort(waits)
	if len(waits) > 0 {
		b.ReportMetric(float64(len(waits))/el.Seconds(), "grants/s")
		b.ReportMetric(float64(waits[len(waits)*99/100].Microseconds()), "p99-wait-us")
	}
}
