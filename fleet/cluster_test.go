package fleet_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"

	"github.com/compio-sync/gosync/fleet"
)

// The tests run against real etcd: members embedded in the test binary on
// loopback (ports picked free, data in a temporary directory, fsync off,
// 50 ms ticks), or the cluster named by ETCD_ENDPOINTS (comma-separated)
// when that is set. Fault tests that stop members need embedded ones and
// skip otherwise, saying so.

type cluster struct {
	t         testing.TB
	members   []*member
	endpoints []string
	external  bool
}

type member struct {
	name      string
	dir       string
	clientURL url.URL
	peerURL   url.URL
	initial   string
	e         *embed.Etcd
	running   bool
}

// freePort returns a loopback port nobody listened on a moment ago. Another
// process may take it before etcd binds it; startMember retries then.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen on a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func externalEndpoints() []string {
	if v := os.Getenv("ETCD_ENDPOINTS"); v != "" {
		return strings.Split(v, ",")
	}
	return nil
}

// newCluster starts size embedded members, or uses ETCD_ENDPOINTS, and
// stops the members when the test ends.
func newCluster(t testing.TB, size int) *cluster {
	t.Helper()
	if eps := externalEndpoints(); eps != nil {
		return &cluster{t: t, endpoints: eps, external: true}
	}
	for attempt := 0; ; attempt++ {
		c, err := startCluster(t, size)
		if err == nil {
			t.Cleanup(c.stopAll)
			return c
		}
		if attempt == 3 {
			t.Fatalf("start %d embedded etcd members: %v", size, err)
		}
		t.Logf("start embedded etcd (attempt %d): %v; retrying on other ports", attempt+1, err)
	}
}

func startCluster(t testing.TB, size int) (*cluster, error) {
	c := &cluster{t: t}
	var initial []string
	base, err := os.MkdirTemp("", "fleet-etcd-")
	if err != nil {
		return nil, err
	}
	for i := range size {
		m := &member{
			name:      fmt.Sprintf("m%d", i),
			dir:       fmt.Sprintf("%s/m%d", base, i),
			clientURL: url.URL{Scheme: "http", Host: fmt.Sprintf("127.0.0.1:%d", freePort(t))},
			peerURL:   url.URL{Scheme: "http", Host: fmt.Sprintf("127.0.0.1:%d", freePort(t))},
		}
		initial = append(initial, m.name+"="+m.peerURL.String())
		c.members = append(c.members, m)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	errs := make(chan error, size)
	for _, m := range c.members {
		m.initial = strings.Join(initial, ",")
		go func() { errs <- m.start() }()
	}
	var firstErr error
	for range size {
		if err := <-errs; err != nil && firstErr == nil {
			firstErr = err
		}
	}
	if firstErr != nil {
		c.stopAll()
		return nil, firstErr
	}
	for _, m := range c.members {
		c.endpoints = append(c.endpoints, m.clientURL.String())
	}
	return c, nil
}

func (m *member) start() error {
	cfg := embed.NewConfig()
	cfg.Name = m.name
	cfg.Dir = m.dir
	cfg.ListenClientUrls = []url.URL{m.clientURL}
	cfg.AdvertiseClientUrls = []url.URL{m.clientURL}
	cfg.ListenPeerUrls = []url.URL{m.peerURL}
	cfg.AdvertisePeerUrls = []url.URL{m.peerURL}
	cfg.InitialCluster = m.initial
	// 50 ms ticks and a 500 ms election timeout: five times etcd's test
	// tick, because with 10/100 a member starved of CPU (two busy cores,
	// -race, 32 clients) misses heartbeats and the cluster keeps electing.
	cfg.TickMs = 50
	cfg.ElectionMs = 500
	cfg.UnsafeNoFsync = true
	cfg.LogLevel = "error"
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return err
	}
	select {
	case <-e.Server.ReadyNotify():
	case err := <-e.Err():
		e.Close()
		return err
	case <-time.After(20 * time.Second):
		e.Close()
		return fmt.Errorf("member %s not ready after 20s", m.name)
	}
	m.e, m.running = e, true
	return nil
}

// crash stops member i without telling its peers, like a killed process.
func (c *cluster) crash(i int) {
	m := c.members[i]
	if !m.running {
		return
	}
	m.e.Server.HardStop()
	m.e.Close()
	m.running = false
}

// restart starts member i again from its data directory.
func (c *cluster) restart(i int) {
	c.t.Helper()
	if err := c.members[i].start(); err != nil {
		c.t.Fatalf("restart member %d: %v", i, err)
	}
}

func (c *cluster) stopAll() {
	for i := range c.members {
		c.crash(i)
	}
}

// leader returns the index of the member that leads, or -1.
func (c *cluster) leader() int {
	for i, m := range c.members {
		if m.running && m.e.Server.Leader() == m.e.Server.MemberID() {
			return i
		}
	}
	return -1
}

// sharedEmbedded is sharedCluster for tests that put a proxy in front of
// its member; it skips when ETCD_ENDPOINTS is set.
func sharedEmbedded(t *testing.T) *cluster {
	c := sharedCluster(t)
	if c.external {
		t.Skip("needs an embedded member to put a proxy in front of; ETCD_ENDPOINTS is set")
	}
	return c
}

func (c *cluster) needEmbedded(t *testing.T) {
	if c.external {
		t.Skip("needs embedded etcd members to stop and restart; ETCD_ENDPOINTS is set")
	}
}

// client returns a new client of the whole cluster, closed when the test
// ends (unless the test closed it first).
func (c *cluster) client(t testing.TB, endpoints ...string) *clientv3.Client {
	t.Helper()
	if endpoints == nil {
		endpoints = c.endpoints
	}
	cli, err := clientv3.New(clientConfig(endpoints))
	if err != nil {
		t.Fatalf("clientv3.New(%v): %v", endpoints, err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

// clientConfig is the configuration of every test client, in the test
// process and in child processes.
func clientConfig(endpoints []string) clientv3.Config {
	return clientv3.Config{
		Endpoints:   endpoints,
		DialTimeout: 5 * time.Second,
		Logger:      zap.NewNop(),
		// Reconnect within half a second after a fault heals (gRPC's
		// default backoff grows to two minutes).
		DialOptions: []grpc.DialOption{grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: 50 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: 500 * time.Millisecond},
			MinConnectTimeout: time.Second,
		})},
	}
}

var shared struct {
	once sync.Once
	c    *cluster
}

// sharedCluster is one single-member cluster for the tests that do not
// break etcd, started on first use and stopped by TestMain.
func sharedCluster(t testing.TB) *cluster {
	shared.once.Do(func() {
		if eps := externalEndpoints(); eps != nil {
			shared.c = &cluster{t: t, endpoints: eps, external: true}
			return
		}
		tb := &mainTB{TB: t}
		c, err := startCluster(tb, 1)
		if err != nil {
			t.Fatalf("start shared embedded etcd: %v", err)
		}
		shared.c = c
	})
	return shared.c
}

// mainTB defers cleanups of the shared cluster to TestMain.
type mainTB struct {
	testing.TB
}

var mainCleanups []func()

func (m *mainTB) Cleanup(f func()) { mainCleanups = append(mainCleanups, f) }
func (m *mainTB) Helper()          {}

// childRoles are what a re-executed test binary can run instead of the
// tests (see startChild), by the name in its childRoleEnv variable; each
// returns the exit code.
var childRoles = map[string]func() int{}

const childRoleEnv = "GOSYNC_FLEET_CHILD"

func TestMain(m *testing.M) {
	if role := os.Getenv(childRoleEnv); role != "" {
		run, ok := childRoles[role]
		if !ok {
			fmt.Fprintf(os.Stderr, "fleet test child: unknown role %q\n", role)
			os.Exit(2)
		}
		// Die with the parent: it holds our stdin open, EOF means it
		// is gone (or wants us gone).
		go func() {
			io.Copy(io.Discard, os.Stdin)
			os.Exit(3)
		}()
		os.Exit(run())
	}
	code := m.Run()
	if shared.c != nil && !shared.c.external {
		shared.c.stopAll()
	}
	for i := len(mainCleanups) - 1; i >= 0; i-- {
		mainCleanups[i]()
	}
	os.Exit(code)
}

var nameSeq atomic.Int64

// uniqueOpts returns options that give each test its own key prefix, so
// tests never meet on an external cluster or on the shared one.
func uniqueOpts(t testing.TB, opts ...fleet.Option) []fleet.Option {
	return append([]fleet.Option{fleet.WithPrefix(uniquePrefix(t)), fleet.WithTTL(2 * time.Second)}, opts...)
}

// uniquePrefix returns a key prefix no other test (in this process or
// another) uses.
func uniquePrefix(t testing.TB) string {
	return fmt.Sprintf("/gosync-test/%d-%d/%s/", os.Getpid(), nameSeq.Add(1), strings.ReplaceAll(t.Name(), "/", "_"))
}

// proc is one simulated process: its own client and its own Semaphore.
type proc struct {
	cli *clientv3.Client
	sem *fleet.Semaphore
}

// openProcs opens the semaphore name from k processes on c, each with its
// own client; the first creates it with permits permits.
func openProcs(t testing.TB, c *cluster, k int, permits int, opts []fleet.Option) []*proc {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var ps []*proc
	for i := range k {
		cli := c.client(t)
		o := opts
		if i == 0 {
			o = append(append([]fleet.Option{}, opts...), fleet.WithPermits(permits))
		}
		s, err := fleet.Open(ctx, cli, "sem", o...)
		if err != nil {
			t.Fatalf("Open from process %d: %v", i, err)
		}
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = s.Detach(ctx)
		})
		ps = append(ps, &proc{cli: cli, sem: s})
	}
	return ps
}

// watchdog turns a hang into a named failure: if the test is still running
// after d, it panics with the test's name and every goroutine's stack.
func watchdog(t testing.TB, d time.Duration) {
	name := t.Name()
	timer := time.AfterFunc(d, func() {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		panic(fmt.Sprintf("%s: watchdog: still running after %v; goroutines:\n%s", name, d, buf))
	})
	t.Cleanup(func() { timer.Stop() })
}

// eventually polls cond every 20 ms until it returns "" or d passes, then
// fails with its last message.
func eventually(t testing.TB, d time.Duration, cond func() string) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		msg := cond()
		if msg == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", d, msg)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitWaiting waits until the semaphore reports want queued Acquires.
func waitWaiting(t testing.TB, s *fleet.Semaphore, want int) {
	t.Helper()
	eventually(t, 5*time.Second, func() string {
		st, err := s.Stats(context.Background())
		if err != nil {
			return fmt.Sprintf("Stats: %v", err)
		}
		if st.Waiting != want {
			return fmt.Sprintf("Waiting = %d, want %d", st.Waiting, want)
		}
		return ""
	})
}
