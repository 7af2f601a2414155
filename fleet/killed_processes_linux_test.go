package fleet_test

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/compio-sync/gosync/fleet"
)

// Real process boundaries: the etcd members run in their own processes,
// and so does every process using the semaphore; the test SIGKILLs users
// while one of their goroutines is inside AcquireN, holds a Permit, or is
// inside Release, and an observer that reads the semaphore's keys at every
// revision checks that the permits held never exceed the maximum.
//
// GOSYNC_FLEET_KILLS sets how many users are killed (default 6, two per
// phase; make stress runs more), GOSYNC_FLEET_SEED the seed that picks the
// victims and the users' weights.
func TestKilledProcessesNeverOverAdmit(t *testing.T) {
	if testing.Short() {
		t.Skip("starts etcd member processes and user processes; skipped with -short")
	}
	kills := 6
	if v := os.Getenv("GOSYNC_FLEET_KILLS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("GOSYNC_FLEET_KILLS=%q: want a positive number", v)
		}
		kills = n
	}
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("GOSYNC_FLEET_SEED"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("GOSYNC_FLEET_SEED=%q: %v", v, err)
		}
		seed = n
	}
	t.Run("EtcdMemberProcesses", func(t *testing.T) {
		watchdog(t, 90*time.Second+time.Duration(kills)*8*time.Second)
		mp := startMemberProcesses(t, 3)
		killUsers(t, killRun{endpoints: mp.endpoints, members: mp, kills: kills, seed: seed, report: t.Errorf})
	})
	t.Run("ExternalCluster", func(t *testing.T) {
		eps := externalEndpoints()
		if eps == nil {
			t.Skip("ETCD_ENDPOINTS is not set: set it to a cluster's client URLs (comma-separated) to run this test against that cluster")
		}
		watchdog(t, 90*time.Second+time.Duration(kills)*8*time.Second)
		killUsers(t, killRun{endpoints: eps, kills: kills, seed: seed, report: t.Errorf})
	})
}

// userArgs are the arguments of a user process.
type userArgs struct {
	Endpoints  []string
	Prefix     string
	Name       string
	TTL        time.Duration
	Goroutines int
	MaxWeight  int
	Seed       uint64
	Mutant     bool // GrantByArrival, with the clock an hour behind
}

func init() { childRoles["fleet-user"] = runUserProcess }

// runUserProcess opens the semaphore and runs Goroutines loops, each
// reporting what it does (g is the goroutine):
//
//	g a n        about to AcquireN(n)
//	g + rev n    granted: its key's CreateRevision and weight
//	g e err      AcquireN failed (its ctx, 50 ms to 2 s, ended; or etcd)
//	g lost rev   the Permit reported its loss while held
//	g r rev      about to Release
//	g d rev err  Release returned
//
// until it is killed.
func runUserProcess() int {
	var a userArgs
	childArgs(&a)
	cli, err := clientv3.New(clientConfig(a.Endpoints))
	if err != nil {
		childSay("fail client: %v", err)
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	s, err := fleet.Open(ctx, cli, a.Name, fleet.WithPrefix(a.Prefix), fleet.WithTTL(a.TTL))
	cancel()
	if err != nil {
		childSay("fail open: %v", err)
		return 2
	}
	if a.Mutant {
		fleet.SetMutant(s, "GrantByArrival")
		fleet.SetClock(s, func() time.Time { return time.Now().Add(-time.Hour) })
	}
	childSay("open")
	for g := range a.Goroutines {
		go func() {
			rng := rand.New(rand.NewPCG(a.Seed, uint64(g)))
			for {
				n := 1 + rng.IntN(a.MaxWeight)
				childSay("%d a %d", g, n)
				ctx, cancel := context.WithTimeout(context.Background(), time.Duration(50+rng.IntN(1950))*time.Millisecond)
				p, err := s.AcquireN(ctx, n)
				cancel()
				if err != nil {
					childSay("%d e %v", g, err)
					time.Sleep(time.Duration(rng.IntN(20)) * time.Millisecond)
					continue
				}
				childSay("%d + %d %d", g, p.Revision(), n)
				select {
				case <-p.Done():
					childSay("%d lost %d", g, p.Revision())
					continue
				case <-time.After(time.Duration(rng.IntN(20)) * time.Millisecond):
				}
				childSay("%d r %d", g, p.Revision())
				ctx, cancel = context.WithTimeout(context.Background(), 5*time.Second)
				err = p.ReleaseContext(ctx)
				cancel()
				childSay("%d d %d %v", g, p.Revision(), err)
			}
		}()
	}
	select {}
}

// The phases a user is killed in, by the report that starts them.
var killPhases = []struct{ name, op string }{
	{"mid-acquire", "a"},
	{"mid-hold", "+"},
	{"mid-release", "r"},
}

// user is the test's record of one user process.
type user struct {
	c      *child
	name   string
	dead   bool
	mutant bool
	phase  map[string]string // goroutine -> its last report
}

// killRecord is one SIGKILL and what the victim's goroutine had reported.
type killRecord struct {
	user, phase, line string
	g                 string
	at                time.Time
	resumed           time.Duration // from the kill to the resumeGrants-th grant after it
	after             []string      // the goroutine's reports that arrived after the kill was decided
}

// A killRun is one run of killUsers.
type killRun struct {
	endpoints []string
	members   *memberProcs // the member processes, if this test started them
	kills     int
	seed      uint64
	// mutant makes the first user process run the GrantByArrival mutant
	// with its clock an hour behind, and never kills it.
	mutant bool
	// report receives what the observer finds (t.Errorf, or a collector
	// for the mutant check).
	report func(format string, args ...any)
}

// killUsers runs the test on the cluster at r.endpoints: users processes
// share a semaphore of max permits; r.kills of them are SIGKILLed one at a
// time, each while one of its goroutines is in the phase's turn, and
// replaced by a fresh process. With r.members one member is also SIGKILLed
// and restarted halfway through.
func killUsers(t *testing.T, r killRun) {
	endpoints, members, kills, seed := r.endpoints, r.members, r.kills, r.seed
	const (
		max     = 3
		users   = 4
		ttl     = 2 * time.Second
		perUser = 2
		// resumeGrants grants after each kill before the next one.
		resumeGrants = 4
	)
	t.Logf("seed %d (GOSYNC_FLEET_SEED=%d reruns these choices; the timing differs), %d kills", seed, seed, kills)
	rng := rand.New(rand.NewPCG(seed, 0))
	c := &cluster{t: t, endpoints: endpoints, external: members == nil}
	prefix := uniquePrefix(t)
	opts := []fleet.Option{fleet.WithPrefix(prefix), fleet.WithTTL(ttl)}
	cli := c.client(t)
	s, err := fleet.Open(bg(t), cli, "sem", append(opts, fleet.WithPermits(max))...)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Detach(context.Background()) })

	obs := startKeyObserver(t, cli, prefix+"sem/", max, r.report)

	events := make(chan childEvent, 1<<16)
	byChild := make(map[*child]*user)
	var live []*user
	seq := 0
	start := func() {
		seq++
		u := &user{name: fmt.Sprintf("user%d", seq), phase: make(map[string]string), mutant: r.mutant && seq == 1}
		u.c = startChild(t, u.name, "fleet-user", userArgs{
			Endpoints: endpoints, Prefix: prefix, Name: "sem", TTL: ttl,
			Goroutines: perUser, MaxWeight: 2, Seed: rng.Uint64(), Mutant: u.mutant,
		}, events)
		byChild[u.c] = u
		live = append(live, u)
	}
	for range users {
		start()
	}

	var claims []claim
	var records []*killRecord
	var pending []*killRecord // kills whose victim's output is still arriving
	exited := 0               // user processes reaped
	handle := func(e childEvent) {
		u := byChild[e.c]
		if u == nil {
			return
		}
		if e.exited {
			exited++
			if !u.dead {
				t.Errorf("%s exited by itself (%v); stderr:\n%s", u.name, e.err, e.c.stderrTail())
				u.dead = true
				live = slices.DeleteFunc(live, func(x *user) bool { return x == u })
			}
			pending = slices.DeleteFunc(pending, func(r *killRecord) bool { return r.user == u.name })
			return
		}
		f := strings.Fields(e.line)
		if len(f) >= 2 && f[0] == "fail" {
			t.Errorf("%s: %s", u.name, e.line)
			return
		}
		if len(f) < 2 {
			return // "open"
		}
		u.phase[f[0]] = e.line
		if f[1] == "+" && len(f) == 4 {
			rev, _ := strconv.ParseInt(f[2], 10, 64)
			n, _ := strconv.ParseInt(f[3], 10, 64)
			claims = append(claims, claim{user: u.name, line: e.line, rev: rev, n: n})
		}
		for _, r := range pending {
			if r.user == u.name && r.g == f[0] {
				r.after = append(r.after, e.line)
			}
		}
	}
	// next blocks for one event, then takes every event already queued, so
	// that a victim is picked on the freshest reports.
	next := func(timeout <-chan time.Time) bool {
		select {
		case e := <-events:
			handle(e)
		case <-timeout:
			return false
		}
		for {
			select {
			case e := <-events:
				handle(e)
			default:
				return true
			}
		}
	}

	for k := range kills {
		if members != nil && k == kills/2 {
			m := rng.IntN(len(members.procs))
			t.Logf("SIGKILL etcd member m%d for a second", m)
			members.crash(m)
			for until := time.After(time.Second); next(until); {
			}
			members.restart(m)
		}
		ph := killPhases[k%len(killPhases)]
		timeout := time.After(30 * time.Second)
		var victim *user
		var g, line string
		for victim == nil {
			var cands []*user
			for _, u := range live {
				if u.mutant {
					continue
				}
				for _, l := range u.phase {
					if strings.Fields(l)[1] == ph.op {
						cands = append(cands, u)
						break
					}
				}
			}
			if len(cands) > 0 {
				victim = cands[rng.IntN(len(cands))]
				for gg, l := range victim.phase {
					if strings.Fields(l)[1] == ph.op {
						g, line = gg, l
						break
					}
				}
				break
			}
			if !next(timeout) {
				t.Fatalf("kill %d (%s): no user reported %q within 30s; users' last reports: %s\nobserver: %s",
					k+1, ph.name, ph.op, lastReports(live), obs.describe())
			}
		}
		victim.c.sigkill()
		r := &killRecord{user: victim.name, phase: ph.name, line: line, g: g, at: time.Now()}
		records = append(records, r)
		pending = append(pending, r)
		victim.dead = true
		live = slices.DeleteFunc(live, func(x *user) bool { return x == victim })
		start()
		// Progress, not speed: the victim's keys stay until its lease
		// expires (a dead waiter at the head of the queue holds up every
		// waiter behind it, as FIFO says), then grants must resume.
		want := len(claims) + resumeGrants
		for timeout := time.After(30 * time.Second); len(claims) < want; {
			if !next(timeout) {
				t.Fatalf("kill %d (%s of %s, %q): %d grants in the 30s after it, want %d: grants did not resume; users' last reports: %s\nobserver: %s",
					k+1, ph.name, victim.name, line, len(claims)-want+resumeGrants, resumeGrants, lastReports(live), obs.describe())
			}
		}
		r.resumed = time.Since(r.at)
	}
	// A mutant's claim is caught only once its key is gone without the
	// rule ever granting it, which takes the others holding permits for
	// the key's whole life: keep the users running until that has
	// happened (or the test's time runs out), so a quiet run cannot hide
	// the mutant.
	if r.mutant {
		for deadline := time.Now().Add(45 * time.Second); !obs.anyClaimNeverGranted(claims) && time.Now().Before(deadline); {
			for tick := time.After(100 * time.Millisecond); next(tick); {
			}
		}
	}
	// Kill the rest too, then read every user's last reports, up to its
	// exit (once it is reaped).
	for _, u := range live {
		u.c.sigkill()
		u.dead = true
	}
	live = nil
	for until := time.After(20 * time.Second); exited < len(byChild); {
		if !next(until) {
			t.Fatalf("%d of %d SIGKILLed user processes not reaped within 20s", len(byChild)-exited, len(byChild))
		}
	}

	// Every killed user's keys go with its lease: the semaphore ends full.
	settled(t, c, opts, nil, max)
	obs.catchUp(t)
	obs.stop()
	obs.checkClaims(claims)
	logKills(t, records, obs, ttl)
	t.Logf("observer: %d revisions read, %d grants, peak %d of %d permits held", obs.revisions, obs.grantCount, obs.peak, max)
}

// TestKilledProcessesCatchesAMutant proves that the checks of
// TestKilledProcessesNeverOverAdmit can fail: one user process runs the
// GrantByArrival mutant with its clock an hour behind, so it takes its own
// waiting keys for grants, and the observer must report a Permit the keys
// do not give.
func TestKilledProcessesCatchesAMutant(t *testing.T) {
	if testing.Short() {
		t.Skip("starts user processes; skipped with -short")
	}
	watchdog(t, 150*time.Second)
	var mu sync.Mutex
	var found []string
	collect := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		found = append(found, fmt.Sprintf(format, args...))
	}
	killUsers(t, killRun{endpoints: sharedCluster(t).endpoints, kills: 3, seed: 1, mutant: true, report: collect})
	mu.Lock()
	defer mu.Unlock()
	for _, f := range found {
		if strings.Contains(f, "over-admission") {
			t.Logf("caught: %s (%d reports in all)", f, len(found))
			return
		}
	}
	t.Fatalf("the GrantByArrival mutant in a user process was not reported as over-admission; the observer reported: %q", found)
}

func lastReports(us []*user) string {
	out := ""
	for _, u := range us {
		out += fmt.Sprintf("\n  %s: %v", u.name, u.phase)
	}
	return out
}

// logKills says where each kind of kill landed, judged from the victim's
// own reports and from when its key was deleted: a kill in the release
// turn landed inside Release if "d" never came and the key outlived the
// kill by more than half a TTL (deleted by lease expiry, not by the
// release).
func logKills(t *testing.T, records []*killRecord, obs *keyObserver, ttl time.Duration) {
	counts := map[string]int{}
	slowest := map[string]time.Duration{}
	for _, r := range records {
		f := strings.Fields(r.line)
		var what string
		switch f[1] {
		case "a":
			what = "waiting or enqueueing"
			for _, l := range r.after {
				if strings.Fields(l)[1] == "+" {
					what = "granted before the kill landed"
				}
			}
		case "+":
			what = "holding"
			for _, l := range r.after {
				if strings.Fields(l)[1] == "r" {
					what = "in release by the time the kill landed"
				}
			}
		case "r":
			rev, _ := strconv.ParseInt(f[2], 10, 64)
			what = "release returned before the kill landed"
			if !slices.ContainsFunc(r.after, func(l string) bool { return strings.Fields(l)[1] == "d" }) {
				what = "inside Release; the delete reached etcd first"
				if del, ok := obs.deletedAt(rev); !ok || del.Sub(r.at) > ttl/2 {
					what = "inside Release; the key went with the lease"
				}
			}
		}
		counts[r.phase+": "+what]++
		slowest[r.phase] = max(slowest[r.phase], r.resumed)
	}
	for _, ph := range killPhases {
		t.Logf("kills %s: grants resumed within %v at the slowest", ph.name, slowest[ph.name].Round(time.Millisecond))
	}
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		t.Logf("kills %s: %d", k, counts[k])
	}
}

// A claim is a user's report that it holds a key's permits.
type claim struct {
	user, line string
	rev, n     int64
}

// keyObserver reads the semaphore's keys at every revision, from a Get
// and then a watch from the next revision, and decides from them alone,
// by the documented rule, which keys hold permits: queue keys in
// CreateRevision order, each granted while it fits beside those before it,
// the first that does not fit blocking the rest (no shrink and no Close
// run in these tests, so no key is pinned or rejected). A key once
// granted holds until it is deleted: the observer counts it held whatever
// the rule says later, reports it if the rule takes the grant back, and
// fails the test at any revision where the keys held add up to more than
// the maximum.
type keyObserver struct {
	t      testing.TB
	report func(format string, args ...any)
	cli    *clientv3.Client
	pfx    string
	max    int64
	cancel context.CancelFunc
	done   chan struct{}

	mu         sync.Mutex
	rev        int64 // the last revision applied
	live       map[string]*observedKey
	byCreate   map[int64]*observedKey
	revisions  int
	grantCount int
	peak       int64
	errors     int
}

type observedKey struct {
	key       string
	createRev int64
	n         int64
	grantedAt int64     // the first revision at which the rule granted it, or 0
	deletedAt int64     // the revision of its delete, or 0
	deleted   time.Time // when the observer saw its delete
}

func startKeyObserver(t testing.TB, cli *clientv3.Client, pfx string, max int64, report func(string, ...any)) *keyObserver {
	t.Helper()
	o := &keyObserver{t: t, report: report, cli: cli, pfx: pfx, max: max, done: make(chan struct{}),
		live: make(map[string]*observedKey), byCreate: make(map[int64]*observedKey)}
	resp, err := cli.Get(bg(t), pfx, clientv3.WithPrefix())
	if err != nil {
		t.Fatalf("observer: Get %s: %v", pfx, err)
	}
	for _, kv := range resp.Kvs {
		o.put(kv)
	}
	o.rev = resp.Header.Revision
	o.check(o.rev, "initial read")
	var ctx context.Context
	ctx, o.cancel = context.WithCancel(context.Background())
	go o.run(ctx)
	t.Cleanup(o.stop)
	return o
}

func (o *keyObserver) stop() {
	o.cancel()
	<-o.done
}

// run applies every revision after the initial read, in order. The client
// re-opens a watch that lost its member from the next revision by itself;
// if the watch ends anyway, run opens another from the revision after the
// last it applied, so no revision is skipped. Only a compaction loses
// revisions, and that fails the test.
func (o *keyObserver) run(ctx context.Context) {
	defer close(o.done)
	for ctx.Err() == nil {
		o.mu.Lock()
		from := o.rev + 1
		o.mu.Unlock()
		for wr := range o.cli.Watch(ctx, o.pfx, clientv3.WithPrefix(), clientv3.WithRev(from)) {
			if wr.CompactRevision != 0 {
				o.report("observer: watch compacted at %d: the revisions after %d are lost to it", wr.CompactRevision, from-1)
				return
			}
			if wr.Err() != nil {
				continue
			}
			o.apply(wr)
		}
		time.Sleep(50 * time.Millisecond) // not a busy loop while etcd is down
	}
}

// apply checks each revision of a watch response after its events.
func (o *keyObserver) apply(wr clientv3.WatchResponse) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for i := 0; i < len(wr.Events); {
		rev := wr.Events[i].Kv.ModRevision
		var what []string
		for ; i < len(wr.Events) && wr.Events[i].Kv.ModRevision == rev; i++ {
			ev := wr.Events[i]
			if ev.Type == clientv3.EventTypeDelete {
				o.del(string(ev.Kv.Key), rev)
				what = append(what, "DELETE "+strings.TrimPrefix(string(ev.Kv.Key), o.pfx))
			} else {
				o.put(ev.Kv)
				what = append(what, fmt.Sprintf("PUT %s=%q", strings.TrimPrefix(string(ev.Kv.Key), o.pfx), ev.Kv.Value))
			}
		}
		o.check(rev, strings.Join(what, ", "))
		o.rev = rev
	}
	// A progress notification is sent once every event up to its
	// revision was: nothing under the prefix changed in between.
	if wr.IsProgressNotify() && wr.Header.Revision > o.rev {
		o.rev = wr.Header.Revision
	}
}

// put applies one key, read or from a PUT event.
func (o *keyObserver) put(kv *mvccpb.KeyValue) {
	k := strings.TrimPrefix(string(kv.Key), o.pfx)
	switch {
	case k == "max":
		n, err := strconv.ParseInt(string(kv.Value), 10, 64)
		if err != nil || n != o.max {
			o.errorf("observer: max = %q at revision %d, want %d (nothing changes it in this test)", kv.Value, kv.ModRevision, o.max)
		}
	case strings.HasPrefix(k, "q/"):
		var n int64
		var flag byte
		if _, err := fmt.Sscanf(string(kv.Value), "%d %c", &n, &flag); err != nil || n <= 0 {
			o.errorf("observer: queue key %s = %q at revision %d: not \"<n> <flag> <stamp>\"", k, kv.Value, kv.ModRevision)
			return
		}
		if flag != 'w' {
			o.errorf("observer: queue key %s = %q at revision %d: flag %c, but no shrink or Close ran", k, kv.Value, kv.ModRevision, flag)
		}
		if e := o.live[k]; e != nil {
			if e.n < n {
				o.errorf("observer: queue key %s grew from %d to %d at revision %d", k, e.n, n, kv.ModRevision)
			}
			e.n = n
			return
		}
		e := &observedKey{key: k, createRev: kv.CreateRevision, n: n}
		o.live[k] = e
		o.byCreate[e.createRev] = e
	default:
		o.errorf("observer: unexpected key %s = %q at revision %d (Close runs in no user)", k, kv.Value, kv.ModRevision)
	}
}

func (o *keyObserver) del(key string, rev int64) {
	k := strings.TrimPrefix(key, o.pfx)
	e := o.live[k]
	if e == nil {
		return
	}
	e.deletedAt, e.deleted = rev, time.Now()
	delete(o.live, k)
}

// check applies the rule at rev (what names the revision's events, for
// failure messages).
func (o *keyObserver) check(rev int64, what string) {
	o.revisions++
	order := make([]*observedKey, 0, len(o.live))
	for _, e := range o.live {
		order = append(order, e)
	}
	slices.SortFunc(order, func(a, b *observedKey) int { return cmp.Compare(a.createRev, b.createRev) })
	var ruled int64
	blocked := false
	for _, e := range order {
		switch {
		case e.n > o.max:
			// Larger than the maximum: never granted, blocks nobody.
		case !blocked && ruled+e.n <= o.max:
			ruled += e.n
			if e.grantedAt == 0 {
				e.grantedAt = rev
				o.grantCount++
			}
		default:
			blocked = true
			if e.grantedAt != 0 {
				o.errorf("observer: at revision %d (%s) the rule makes key %s (created at %d, %d permits) wait, but it was granted at revision %d and still exists: a grant taken back",
					rev, what, e.key, e.createRev, e.n, e.grantedAt)
			}
		}
	}
	var held int64
	var holders []string
	for _, e := range order {
		if e.grantedAt != 0 {
			held += e.n
			holders = append(holders, fmt.Sprintf("%s (created %d, %d permits, granted at %d)", e.key, e.createRev, e.n, e.grantedAt))
		}
	}
	if held > o.peak {
		o.peak = held
	}
	if held > o.max {
		o.errorf("observer: at revision %d (%s) %d permits are held, maximum %d: over-admission; holders: %s",
			rev, what, held, o.max, strings.Join(holders, "; "))
	}
}

func (o *keyObserver) errorf(format string, args ...any) {
	o.errors++
	if o.errors <= 10 {
		o.report(format, args...)
	}
}

// catchUp waits until the observer has applied every revision up to the
// cluster's current one (asking for progress notifications, since nothing
// may change under the prefix any more).
func (o *keyObserver) catchUp(t testing.TB) {
	t.Helper()
	cli := o.cli
	resp, err := cli.Get(bg(t), "/fleet-observer-catch-up")
	if err != nil {
		t.Fatalf("observer: read the current revision: %v", err)
	}
	want := resp.Header.Revision
	eventually(t, 15*time.Second, func() string {
		o.mu.Lock()
		got := o.rev
		o.mu.Unlock()
		if got >= want {
			return ""
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		cli.RequestProgress(ctx)
		return fmt.Sprintf("observer: applied revision %d, want %d", got, want)
	})
}

// checkClaims fails the test for every Permit a user reported for a key the
// rule never granted: a process that believes it holds permits the
// semaphore's keys do not give it.
func (o *keyObserver) checkClaims(claims []claim) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, c := range claims {
		e := o.byCreate[c.rev]
		switch {
		case e == nil:
			o.errorf("%s reported %q: no queue key created at revision %d was ever seen", c.user, c.line, c.rev)
		case e.grantedAt == 0:
			o.errorf("%s reported %q: key %s (created %d, deleted at %d) was never granted by the rule: over-admission", c.user, c.line, e.key, e.createRev, e.deletedAt)
		case e.n != c.n:
			o.errorf("%s reported %q: key %s has %d permits", c.user, c.line, e.key, e.n)
		}
	}
}

// anyClaimNeverGranted reports whether a claim's key is gone (or was never
// seen) without the rule ever granting it: what checkClaims reports as
// over-admission.
func (o *keyObserver) anyClaimNeverGranted(claims []claim) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, c := range claims {
		if e := o.byCreate[c.rev]; e != nil && e.deletedAt != 0 && e.grantedAt == 0 {
			return true
		}
	}
	return false
}

func (o *keyObserver) deletedAt(createRev int64) (time.Time, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	e := o.byCreate[createRev]
	if e == nil || e.deletedAt == 0 {
		return time.Time{}, false
	}
	return e.deleted, true
}

func (o *keyObserver) describe() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := fmt.Sprintf("revision %d, %d live keys", o.rev, len(o.live))
	for _, e := range o.live {
		out += fmt.Sprintf("\n  %s created %d n=%d granted at %d", e.key, e.createRev, e.n, e.grantedAt)
	}
	return out
}
