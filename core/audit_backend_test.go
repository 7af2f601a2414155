package core_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/compio-sync/gosync/core"
)

// auditBackend is a contract-keeping Backend that also watches how the
// Semaphore uses its Parkers. It records, as violations:
//   - an Unpark while a token is already pending: two wakes for one queueing,
//     or a token left over from an earlier use of a pooled Parker;
//   - a Park with the same Acquire's context right after a Park that
//     returned nil: the Semaphore woke without being granted or failed (a
//     spurious wake, e.g. from a stale token), so it parks again;
//   - two goroutines inside Park on one Parker;
//   - a Park on a Parker after it reported a backend failure (a broken
//     Parker must be dropped, not recycled);
//   - an Acquire's Park on a Parker whose pending token was already there
//     when the previous Park returned: the Parker was recycled with a stale
//     token, which would wake the new waiter before it is granted. (A
//     Semaphore may drop such a Parker, or drain the token with a Park that
//     carries no Acquire id; both are fine.)
//
// It can inject backend failures: every failEvery'th Park that carries an
// Acquire id fails with errBackend, half of them at entry and half after a
// token has arrived (the token is left in place, as a failing backend would).
// When ctx is done and a token is pending at the same time, it alternates
// between the two outcomes the contract allows.
type auditBackend struct {
	failEvery int64

	parks atomic.Int64
	mu    sync.Mutex
	all   []*auditParker
	viol  []string
}

var errBackend = errors.New("audit backend: injected failure")

type acquireIDKey struct{}

// withID tags ctx with a unique Acquire id, which Park uses to recognise a
// second Park by the same Acquire.
func withID(ctx context.Context, id int64) context.Context {
	return context.WithValue(ctx, acquireIDKey{}, id)
}

func (b *auditBackend) Name() string { return "audit" }

func (b *auditBackend) NewParker() core.Parker {
	p := &auditParker{b: b, wake: make(chan struct{}, 1)}
	b.mu.Lock()
	b.all = append(b.all, p)
	b.mu.Unlock()
	return p
}

func (b *auditBackend) violate(format string, args ...any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.viol) < 20 {
		b.viol = append(b.viol, fmt.Sprintf(format, args...))
	}
}

func (b *auditBackend) violations() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.viol...)
}

type auditParker struct {
	b    *auditBackend
	wake chan struct{} // a hint that token may have changed

	mu      sync.Mutex
	token   bool
	parking bool
	failed  bool
	lastNil any // Acquire id of the last Park that returned nil
	flip    bool
	// stale: the pending token was there when the last Park returned.
	stale bool
}

func (p *auditParker) Park(ctx context.Context) error {
	id := ctx.Value(acquireIDKey{})
	p.mu.Lock()
	if p.parking {
		p.b.violate("two goroutines in Park on one Parker")
	}
	if p.failed {
		p.b.violate("Park on a Parker that already failed (a broken Parker was recycled)")
	}
	if id != nil && id == p.lastNil {
		p.b.violate("Acquire %v parked again after a Park that returned nil (spurious wake)", id)
	}
	if id != nil && p.token && p.stale {
		p.b.violate("Acquire %v parked on a recycled Parker with a stale token", id)
	}
	p.parking = true
	fail := int64(0)
	if id != nil && p.b.failEvery > 0 {
		if k := p.b.parks.Add(1); k%p.b.failEvery == 0 {
			fail = 1 + (k/p.b.failEvery)%2 // 1: at entry, 2: once a token arrives
		}
	}
	defer func() {
		p.parking = false
		p.stale = p.token
		p.mu.Unlock()
	}()
	if fail == 1 {
		p.failed = true
		p.lastNil = nil
		return errBackend
	}
	for {
		done := ctx.Err() != nil
		if p.token && fail == 2 {
			p.failed = true
			p.lastNil = nil
			return errBackend
		}
		if p.token && done {
			p.flip = !p.flip
			if p.flip {
				p.lastNil = nil
				return ctx.Err()
			}
		}
		if p.token {
			p.token = false
			p.lastNil = id
			return nil
		}
		if done {
			p.lastNil = nil
			return ctx.Err()
		}
		p.mu.Unlock()
		select {
		case <-p.wake:
		case <-ctx.Done():
		}
		p.mu.Lock()
	}
}

func (p *auditParker) Unpark() {
	p.mu.Lock()
	if p.token && !p.failed {
		p.b.violate("Unpark while a token is pending (double wake or stale token)")
	}
	p.token = true
	p.stale = false
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
}
