package fleet_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/compio-sync/gosync/fleet"
)

// TestChangeWithoutContextLandsOnceEtcdAnswers: Close and SetMaxPermits,
// which have no error to report, made while etcd cannot be reached, are not
// dropped: they land once it can, the newest SetMaxPermits last.
func TestChangeWithoutContextLandsOnceEtcdAnswers(t *testing.T) {
	watchdog(t, 60*time.Second)
	c := sharedEmbedded(t)
	opts := uniqueOpts(t, fleet.WithOpTimeout(300*time.Millisecond))
	observer := openProcs(t, c, 1, 4, opts)[0].sem
	px := newProxy(t, c.members[0].clientURL.Host)
	cut, err := fleet.Open(bg(t), c.client(t, px.endpoint()), "sem", opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer cut.Detach(bg(t))
	px.partition()
	defer px.heal() // before the Detach deferred above
	cut.SetMaxPermits(2)
	cut.SetMaxPermits(3)
	cut.Close()
	if st, err := observer.Stats(bg(t)); err != nil || st.Closed || st.MaxPermits != 4 {
		t.Fatalf("Stats while the changing process is cut off = %+v, %v, want MaxPermits 4, not closed", st, err)
	}
	px.heal()
	eventually(t, 10*time.Second, func() string {
		st, err := observer.Stats(bg(t))
		if err != nil || !st.Closed || st.MaxPermits != 3 {
			return fmt.Sprintf("10s after etcd became reachable again: Stats = %+v, %v, want MaxPermits 3 (the newest SetMaxPermits) and Closed: a change made without a ctx was dropped", st, err)
		}
		return ""
	})
}
