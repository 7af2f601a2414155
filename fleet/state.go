package fleet

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"go.etcd.io/etcd/api/v3/mvccpb"
)

// Key layout under the semaphore's prefix p = <prefix><name>/ (see
// docs/fleet.md):
//
//	p+"max"          the maximum, 20 zero-padded decimal digits, so that a
//	                 Txn can compare it with a request as a string
//	p+"closed"       present once Close has run
//	p+"q/<lease>-<seq>"  one key per Acquire, attached to the acquiring
//	                 process's lease; value "<n> <flag> <stamp>"
//
// Every queue key stays in place from the Acquire that creates it until the
// permits go back: a waiter becomes a holder without being rewritten. The
// FIFO ticket is the key's CreateRevision, which etcd assigns in one total
// order across every client and member.
const (
	keyMax    = "max"
	keyClosed = "closed"
	keyQueue  = "q/"
)

// Flags of a queue key.
const (
	flagNone     = 'w' // a waiter or a holder, told apart by grants()
	flagPinned   = 'p' // granted when a shrink or Close ran: granted for good
	flagRejected = 'r' // asked for more than a shrink left: never granted
)

func padPermits(n int64) string { return fmt.Sprintf("%020d", n) }

func queueKey(pfx string, lease int64, seq uint64) string {
	return fmt.Sprintf("%s%s%016x-%016x", pfx, keyQueue, lease, seq)
}

func encodeEntry(n int64, flag byte, stamp int64) string {
	return fmt.Sprintf("%d %c %d", n, flag, stamp)
}

// entry is one queue key as this process last saw it.
type entry struct {
	key       string
	createRev int64
	lease     int64
	n         int64
	flag      byte
	stamp     int64 // the enqueuing client's clock; diagnostic only
}

func parseEntry(kv *mvccpb.KeyValue) (*entry, bool) {
	f := strings.Fields(string(kv.Value))
	if len(f) != 3 || len(f[1]) != 1 {
		return nil, false
	}
	n, err1 := strconv.ParseInt(f[0], 10, 64)
	stamp, err2 := strconv.ParseInt(f[2], 10, 64)
	if err1 != nil || err2 != nil || n <= 0 {
		return nil, false
	}
	return &entry{key: string(kv.Key), createRev: kv.CreateRevision, lease: kv.Lease, n: n, flag: f[1][0], stamp: stamp}, true
}

// view is the semaphore's state at one revision: a linearizable Get of the
// prefix, or a mirror kept current by the process's watch.
type view struct {
	rev     int64
	hasMax  bool
	max     int64
	closed  bool
	entries map[string]*entry
}

func newView() *view { return &view{entries: make(map[string]*entry)} }

// put applies one key as read or as a PUT event.
func (v *view) put(pfx string, kv *mvccpb.KeyValue) {
	switch k := strings.TrimPrefix(string(kv.Key), pfx); {
	case k == keyMax:
		n, err := strconv.ParseInt(string(kv.Value), 10, 64)
		v.hasMax, v.max = err == nil, n
	case k == keyClosed:
		v.closed = true
	case strings.HasPrefix(k, keyQueue):
		if e, ok := parseEntry(kv); ok {
			v.entries[e.key] = e
		}
	}
}

// del applies a DELETE event.
func (v *view) del(pfx string, key string) {
	switch k := strings.TrimPrefix(key, pfx); {
	case k == keyMax:
		v.hasMax, v.max = false, 0
	case k == keyClosed:
		v.closed = false
	default:
		delete(v.entries, key)
	}
}

func viewOf(pfx string, rev int64, kvs []*mvccpb.KeyValue) *view {
	v := newView()
	v.rev = rev
	for _, kv := range kvs {
		v.put(pfx, kv)
	}
	return v
}

// status is what grants() decides for one queue key.
type status uint8

const (
	stWaiting  status = iota
	stGranted         // holds its permits
	stTooLarge        // rejected by a shrink, or larger than the maximum
	stClosed          // queued when Close ran
)

// grants decides, as a pure function of the state at one revision, which
// queue keys hold permits. Every process evaluates it on the same revisions
// and so reaches the same decision without talking to the others; no write
// ever "grants" anything.
//
// The rule: pinned keys hold, whatever the maximum (a shrink or Close keeps
// holders). Then the other keys in CreateRevision order: a rejected key, or
// one asking for more than the maximum, is skipped; after Close every other
// key has failed; otherwise a key holds if no earlier key is still waiting
// and it fits beside everything granted so far. Strict FIFO: the first key
// that does not fit blocks every key behind it, so a newcomer never passes a
// waiter, and a released permit goes to the head waiter at the very revision
// of the release (direct handoff).
//
// Safety rests on one property: a key granted at revision R stays granted at
// every later revision while it exists. Between shrinks the maximum only
// grows and keys only leave or shrink, so every sum the rule compares only
// falls; appended keys come after every granted key. A shrink or Close pins
// every granted key and rejects every waiter the new maximum cannot hold in
// the same Txn that changes the maximum, so no decision is taken back. The
// pinned weights are counted before any other key because a key rejected by
// an earlier shrink may sit in front of pinned ones.
//
// byArrival is the GrantByArrival mutant: it orders by the enqueuing clients'
// clocks instead of by revision.
func (v *view) grants(byArrival bool) (st map[string]status, inUse int64, waiting int) {
	order := make([]*entry, 0, len(v.entries))
	for _, e := range v.entries {
		order = append(order, e)
	}
	slices.SortFunc(order, func(a, b *entry) int {
		if byArrival && a.stamp != b.stamp {
			return cmpInt(a.stamp, b.stamp)
		}
		return cmpInt(a.createRev, b.createRev)
	})
	st = make(map[string]status, len(order))
	for _, e := range order {
		if e.flag == flagPinned {
			st[e.key] = stGranted
			inUse += e.n
		}
	}
	blocked := false
	for _, e := range order {
		switch {
		case e.flag == flagPinned:
		case e.flag == flagRejected || e.n > v.max:
			st[e.key] = stTooLarge
		case v.closed:
			st[e.key] = stClosed
		case !blocked && inUse+e.n <= v.max:
			st[e.key] = stGranted
			inUse += e.n
		default:
			blocked = true
			st[e.key] = stWaiting
			waiting++
		}
	}
	return st, inUse, waiting
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
