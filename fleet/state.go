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
//	p+"settle"       present while a shrink or Close settles its holders:
//	                 "<max before> <closed before>", the rule in force just
//	                 before it; no new grant is made until it is gone. Its
//	                 ModRevision is the change's revision: it is put once
//	                 per change and never rewritten
//	p+"head"         the queue's head just before the settling change:
//	                 "<change revision> <head>" (see view.headUnder); put
//	                 with the first pins by a process that knows it
//	                 exactly, deleted with the settle key, and ignored
//	                 when its change revision is not the settle key's
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
	keySettle = "settle"
	keyHead   = "head"
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
	modRev    int64
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
	return &entry{key: string(kv.Key), createRev: kv.CreateRevision, modRev: kv.ModRevision, lease: kv.Lease, n: n, flag: f[1][0], stamp: stamp}, true
}

// view is the semaphore's state at one revision: a linearizable Get of the
// prefix, or a mirror kept current by the process's watch.
type view struct {
	rev       int64
	hasMax    bool
	max       int64
	maxModRev int64
	closed    bool
	// settling is true while the settle key exists: a shrink or Close
	// committed and its holders are being pinned (see grants). The grants
	// in force before it were decided with settleMax and settleClosed;
	// settleModRev, the change's revision, fences the Txns that settle it.
	settling     bool
	settleMax    int64
	settleClosed bool
	settleModRev int64
	// headFor and head are the head key: the queue's head just before the
	// change at revision headFor (a record of another change if headFor is
	// not settleModRev).
	headFor int64
	head    int64
	entries map[string]*entry
}

func newView() *view { return &view{entries: make(map[string]*entry)} }

// put applies one key as read or as a PUT event.
func (v *view) put(pfx string, kv *mvccpb.KeyValue) {
	switch k := strings.TrimPrefix(string(kv.Key), pfx); {
	case k == keyMax:
		n, err := strconv.ParseInt(string(kv.Value), 10, 64)
		v.hasMax, v.max, v.maxModRev = err == nil, n, kv.ModRevision
	case k == keyClosed:
		v.closed = true
	case k == keySettle:
		var ok bool
		v.settleMax, v.settleClosed, ok = parseSettle(kv.Value)
		// A settle key that cannot be parsed still freezes grants (the
		// safe side); settling it takes the current maximum for the
		// rule before it wherever it does not read that rule at the
		// revision before the change.
		if !ok {
			v.settleMax, v.settleClosed = v.max, false
		}
		v.settling, v.settleModRev = true, kv.ModRevision
	case k == keyHead:
		if _, err := fmt.Sscanf(string(kv.Value), "%d %d", &v.headFor, &v.head); err != nil {
			v.headFor, v.head = 0, 0
		}
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
		v.hasMax, v.max, v.maxModRev = false, 0, 0
	case k == keyClosed:
		v.closed = false
	case k == keySettle:
		v.settling, v.settleMax, v.settleClosed, v.settleModRev = false, 0, false, 0
	case k == keyHead:
		v.headFor, v.head = 0, 0
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
// While the settle key exists (a shrink or Close is settling), no key that
// is not pinned holds: every such key waits, or fails if closed or too
// large. The pinned weights are counted before any other key because a key
// rejected by an earlier shrink may sit in front of pinned ones.
//
// Safety rests on one property: a key that its owner was told is granted
// holds at every later revision while it exists. Outside a shrink or Close
// the maximum only grows and keys only leave or shrink, so every sum the
// rule compares only falls; appended keys come after every granted key; so
// the rule itself never takes a grant back. A shrink or Close does, for a
// moment: its Txn changes the maximum (or puts the closed key) together
// with the settle key, and keys granted until then stop holding by the rule
// though their owners keep them. Nobody else is granted anything while the
// settle key exists, and settling pins every key the rule in force before
// it granted (grantedBefore), and no other (save in the one case
// headBefore describes), before removing the settle key; so every key an
// owner holds is pinned again before any other key can be granted, and no
// key that was waiting is granted beside them. The
// Txn needs no knowledge of what was granted between its read and its
// commit (a deletion there, say a cancelled waiter, grants the keys behind
// it), and settling needs no single Txn to hold every holder.
//
// byArrival is the GrantByArrival mutant: it orders by the enqueuing clients'
// clocks instead of by revision.
func (v *view) grants(byArrival bool) (st map[string]status, inUse int64, waiting int) {
	return v.decide(v.max, v.closed, v.settling, byArrival)
}

// headUnder is what identifies the keys that the rule with max and closed
// (no freeze) grants among the keys created before limit: the
// CreateRevision of the first of them it leaves waiting, or limit if it
// leaves none waiting. Those it grants are then exactly the pinned keys
// and, when not closed, the keys that are neither pinned nor rejected,
// ask for at most max, and were created before the head: FIFO grants a
// prefix of the queue in CreateRevision order, and every key behind the
// first one left waiting waits too. Keys created at or after limit come
// behind every earlier key, so they change nothing before it.
//
// On the state just before a settling change, with the rule in force there
// and limit the change's revision, it is the head that settling pins by
// (see grantedBefore).
func (v *view) headUnder(max int64, closed bool, limit int64) int64 {
	st, _, _ := v.decide(max, closed, false, false)
	for _, e := range v.byRevision() {
		if e.createRev >= limit {
			break
		}
		if st[e.key] == stWaiting {
			return e.createRev
		}
	}
	return limit
}

// grantedBefore returns the keys of v that were granted just before the
// change now settling, given the head the rule in force then left
// (headUnder on the state at the change's revision - 1): the pinned keys,
// and, if the semaphore was not closed, every key that is neither pinned
// nor rejected, asks for at most the maximum before, and was created
// before head.
//
// Settling pins exactly these keys, which is the invariant every grant
// after a shrink or Close rests on: pinning fewer would take permits from
// an owner that holds them, and pinning more would grant a waiter beside
// the holders while they already exceed the new maximum.
//
// It is exact, not a superset, on any state between the change and the end
// of its settling, because no key that was waiting before the change can
// look granted by it later: a key's CreateRevision never changes; flags
// only go from none to pinned (a key granted before) or rejected (a key
// that was not); a key's weight shrinks only while it is held; and keys
// created since come after the change's revision, so after head. Keys
// released since the change, which free room under the old maximum, are
// not consulted: head was fixed when they still existed.
func (v *view) grantedBefore(head int64) map[string]bool {
	before := make(map[string]bool)
	for _, e := range v.entries {
		switch {
		case e.flag == flagPinned:
			before[e.key] = true
		case e.flag != flagRejected && !v.settleClosed && e.n <= v.settleMax && e.createRev < head:
			before[e.key] = true
		}
	}
	return before
}

// decide is the rule with the maximum, the closed state and the freeze as
// given.
func (v *view) decide(max int64, closed, frozen bool, byArrival bool) (st map[string]status, inUse int64, waiting int) {
	order := v.ordered(byArrival)
	st = make(map[string]status, len(order))
	for _, e := range order {
		if e.flag == flagPinned {
			st[e.key] = stGranted
			inUse += e.n
		}
	}
	// Frozen: nothing unpinned is granted while a shrink or Close settles.
	blocked := frozen
	for _, e := range order {
		switch {
		case e.flag == flagPinned:
		case e.flag == flagRejected || e.n > max:
			st[e.key] = stTooLarge
		case closed:
			st[e.key] = stClosed
		case !blocked && inUse+e.n <= max:
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

// byRevision returns the queue keys in CreateRevision order.
func (v *view) byRevision() []*entry { return v.ordered(false) }

// ordered returns the queue keys in CreateRevision order, or, for the
// GrantByArrival mutant, in the order of the enqueuing clients' clocks.
func (v *view) ordered(byArrival bool) []*entry {
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
	return order
}

func (s status) String() string {
	switch s {
	case stWaiting:
		return "waiting"
	case stGranted:
		return "granted"
	case stTooLarge:
		return "too large"
	case stClosed:
		return "closed"
	}
	return fmt.Sprintf("status(%d)", uint8(s))
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
