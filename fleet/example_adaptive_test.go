package fleet_test

import (
	"context"
	"fmt"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/compio-sync/gosync/adaptive"
	"github.com/compio-sync/gosync/fleet"
)

// A fleet-wide limit set by one controller from what the calls behind it
// report. The controller wraps its own fleet.Semaphore in a Limiter, which
// steers the limit in etcd (each change is one SetMaxPermits); every other
// process acquires from its own fleet.Semaphore as usual and obeys the new
// maximum. Run exactly one controller per fleet semaphore, for example the
// winner of an etcd concurrency.Election (see docs/adaptive.md on what
// happens when it dies: the limit stays where it was).
func Example_adaptive() {
	endpoint, stop := startExampleEtcd()
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{endpoint}, Logger: zap.NewNop()})
	if err != nil {
		panic(err)
	}
	defer cli.Close()
	sem, err := fleet.Open(ctx, cli, "api-quota", fleet.WithPermits(8))
	if err != nil {
		panic(err)
	}
	defer sem.Detach(ctx)

	l := adaptive.New(sem, adaptive.AIMD(), adaptive.WithLimits(2, 16, 8))
	for range 2 {
		tok, err := l.Acquire(ctx)
		if err != nil {
			fmt.Println(err) // holds nothing
			return
		}
		tok.Drop() // the call behind it was refused downstream: an overload signal
	}
	fmt.Println("limit:", l.Limit(), "fleet maximum:", sem.MaxPermits(), "in use:", sem.InUse())
	// Output:
	// limit: 6 fleet maximum: 6 in use: 0
}
