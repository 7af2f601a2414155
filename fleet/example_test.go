package fleet_test

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"

	"github.com/compio-sync/gosync/fleet"
)

// Two processes (here: two clients) share one limit of 2 permits. The
// second process's request for 2 waits until the first releases, and a
// holder watches Done in case its lease is lost.
func ExampleOpen() {
	endpoint, stop := startExampleEtcd()
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	open := func() (*clientv3.Client, *fleet.Semaphore) {
		cli, err := clientv3.New(clientv3.Config{Endpoints: []string{endpoint}, Logger: zap.NewNop()})
		if err != nil {
			panic(err)
		}
		sem, err := fleet.Open(ctx, cli, "db-connections", fleet.WithPermits(2))
		if err != nil {
			panic(err)
		}
		return cli, sem
	}
	cliA, a := open()
	defer cliA.Close()
	defer a.Detach(ctx)
	cliB, b := open()
	defer cliB.Close()
	defer b.Detach(ctx)

	p, err := a.Acquire(ctx)
	if err != nil {
		panic(err)
	}
	fmt.Println("A holds", p.Count(), "of", a.MaxPermits())

	granted := make(chan *fleet.Permit)
	go func() {
		q, err := b.AcquireN(ctx, 2) // queues: only 1 is free
		if err != nil {
			panic(err)
		}
		granted <- q
	}()
	for b.Waiting() == 0 {
		time.Sleep(10 * time.Millisecond)
	}
	fmt.Println("B waits; in use:", b.InUse())

	select {
	case <-p.Done(): // the lease was lost: stop using the resource
		fmt.Println("A lost its permit:", p.Err())
	default:
		p.Release()
	}
	q := <-granted
	fmt.Println("B holds", q.Count())
	q.Release()
	fmt.Println("in use:", a.InUse())
	// Output:
	// A holds 1 of 2
	// B waits; in use: 1
	// B holds 2
	// in use: 0
}

// startExampleEtcd starts a one-member etcd on a free loopback port, or
// uses the first of ETCD_ENDPOINTS.
func startExampleEtcd() (endpoint string, stop func()) {
	if eps := externalEndpoints(); eps != nil {
		return eps[0], func() {}
	}
	dir, err := os.MkdirTemp("", "fleet-example-")
	if err != nil {
		panic(err)
	}
	port := func() url.URL {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			panic(err)
		}
		defer l.Close()
		return url.URL{Scheme: "http", Host: l.Addr().String()}
	}
	cfg := embed.NewConfig()
	cfg.Dir = dir
	client, peer := port(), port()
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{client}, []url.URL{client}
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{peer}, []url.URL{peer}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	cfg.UnsafeNoFsync = true
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		panic(err)
	}
	select {
	case <-e.Server.ReadyNotify():
	case <-time.After(20 * time.Second):
		panic("embedded etcd not ready after 20s")
	}
	return client.String(), func() {
		e.Close()
		os.RemoveAll(dir)
	}
}
