package fleet_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// txnHold wraps a client's real KV so that a test can stop one Txn just
// before it is sent: the first Txn whose Then branch matches is held in
// Commit until the test lets it go. Everything else passes straight through
// to etcd, so the interleaving is real, only its order is chosen.
type txnHold struct {
	clientv3.KV
	mu      sync.Mutex
	match   func(ops []clientv3.Op) bool // nil: hold nothing
	reached chan struct{}                // closed when a matching Commit is held
	release chan struct{}                // closed by the test to let it go
	every   bool                         // hold every matching Txn, not only the first
	held    int                          // matching Txns held so far
	dropped bool                         // held Txns fail without being sent
	after   bool                         // hold the response of a sent Txn instead
}

// holdTxns installs a txnHold on cli's KV and returns it.
func holdTxns(t testing.TB, cli *clientv3.Client) *txnHold {
	h := &txnHold{KV: cli.KV}
	cli.KV = h
	t.Cleanup(h.letGo)
	return h
}

// arm makes the next Txn whose Then branch satisfies match wait in Commit.
func (h *txnHold) arm(match func(ops []clientv3.Op) bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.match = match
	h.dropped, h.after = false, false
	h.reached = make(chan struct{})
	h.release = make(chan struct{})
}

// armEvery makes every later Txn whose Then branch satisfies match wait in
// Commit until letGo.
func (h *txnHold) armEvery(match func(ops []clientv3.Op) bool) {
	h.arm(match)
	h.mu.Lock()
	h.every = true
	h.mu.Unlock()
}

// armAfter makes the next Txn whose Then branch satisfies match reach
// etcd at once and wait before its response is returned: what happens
// in between falls between the Txn and its sender's next step.
func (h *txnHold) armAfter(match func(ops []clientv3.Op) bool) {
	h.arm(match)
	h.mu.Lock()
	h.after = true
	h.mu.Unlock()
}

// waitHeld returns once n Txns are held, or fails the test.
func (h *txnHold) waitHeld(t testing.TB, n int, what string) {
	t.Helper()
	eventually(t, 10*time.Second, func() string {
		h.mu.Lock()
		defer h.mu.Unlock()
		if h.held < n {
			return fmt.Sprintf("%s: %d Txns held, want %d", what, h.held, n)
		}
		return ""
	})
}

// wait returns once the armed Txn is held, or fails the test naming what
// did not happen.
func (h *txnHold) wait(t testing.TB, what string) {
	t.Helper()
	h.mu.Lock()
	reached := h.reached
	h.mu.Unlock()
	select {
	case <-reached:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: the Txn to hold was not committed within 10s", what)
	}
}

// letGo sends the held Txn (idempotent).
func (h *txnHold) letGo() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.release != nil {
		select {
		case <-h.release:
		default:
			close(h.release)
		}
	}
}

// errDropped is what a held Txn returns once the test dropped it.
var errDropped = errors.New("txnHold: the test dropped this Txn unsent")

// drop makes every held Txn return errDropped without reaching etcd, as if
// its ctx had ended, and holds nothing more.
func (h *txnHold) drop() {
	h.mu.Lock()
	h.dropped = true
	h.match = nil
	h.mu.Unlock()
	h.letGo()
}

func (h *txnHold) Txn(ctx context.Context) clientv3.Txn {
	return &heldTxn{Txn: h.KV.Txn(ctx), h: h}
}

type heldTxn struct {
	clientv3.Txn
	h   *txnHold
	ops []clientv3.Op
}

func (t *heldTxn) If(cs ...clientv3.Cmp) clientv3.Txn   { t.Txn = t.Txn.If(cs...); return t }
func (t *heldTxn) Else(ops ...clientv3.Op) clientv3.Txn { t.Txn = t.Txn.Else(ops...); return t }
func (t *heldTxn) Then(ops ...clientv3.Op) clientv3.Txn {
	t.ops = append(t.ops, ops...)
	t.Txn = t.Txn.Then(ops...)
	return t
}

func (t *heldTxn) Commit() (*clientv3.TxnResponse, error) {
	h := t.h
	h.mu.Lock()
	var reached, release chan struct{}
	after := false
	if h.match != nil && h.match(t.ops) {
		if !h.every {
			h.match = nil // one Txn only
		}
		h.held++
		reached, release, after = h.reached, h.release, h.after
	}
	h.mu.Unlock()
	if after {
		resp, err := t.Txn.Commit()
		close(reached)
		<-release
		return resp, err
	}
	if reached != nil {
		select {
		case <-reached:
		default:
			close(reached)
		}
		<-release
		h.mu.Lock()
		dropped := h.dropped
		h.mu.Unlock()
		if dropped {
			return nil, errDropped
		}
	}
	return t.Txn.Commit()
}

// putsKey matches a Then branch that puts a key ending in suffix.
func putsKey(suffix string) func([]clientv3.Op) bool { return touchesKey(clientv3.Op.IsPut, suffix) }

// deletesKey matches a Then branch that deletes a key ending in suffix.
func deletesKey(suffix string) func([]clientv3.Op) bool {
	return touchesKey(clientv3.Op.IsDelete, suffix)
}

// touchesKey matches a Then branch with an op of the kind is reports on a
// key ending in suffix.
func touchesKey(is func(clientv3.Op) bool, suffix string) func([]clientv3.Op) bool {
	return func(ops []clientv3.Op) bool {
		for _, op := range ops {
			if is(op) && bytes.HasSuffix(op.KeyBytes(), []byte(suffix)) {
				return true
			}
		}
		return false
	}
}
