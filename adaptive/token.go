package adaptive

import (
	"sync/atomic"
	"time"
)

// A Token holds the permits of one successful Acquire. End it exactly once:
// with Success when the work finished and its latency is a fair sample,
// with Drop when it failed from overload (a timeout, a 503, a rejected
// downstream call), or with Ignore when it is no sample at all (a client
// error, a cache hit that never touched the guarded resource). Each
// releases the permits.
//
// A Token is a small value; its copies share one state, so ending any copy
// a second time, or ending the zero Token a failed Acquire returns, panics
// with a message starting "adaptive:". A Token may be ended from any
// goroutine.
type Token struct {
	t   *token
	gen uint64
}

// token is the pooled state behind Tokens. gen counts the ends: a Token
// made at gen g ends by moving gen from g to g+1, so only one end of one
// Acquire wins, and a stale copy of a Token whose token was reused by a
// later Acquire (gen moved on) panics instead of ending the new one.
type token struct {
	gen      atomic.Uint64
	l        *Limiter
	n        int
	inflight int
	start    time.Time
	perm     interface{ release() }
}

// Success ends the Token with a sample: its latency, from the grant to
// this call, and the permits that were in flight, go to the algorithm.
func (tk Token) Success() { tk.end(Succeeded, "Success") }

// Drop ends the Token with an overload signal: the algorithm sees a
// dropped sample and usually lowers the limit.
func (tk Token) Drop() { tk.end(Dropped, "Drop") }

// Ignore ends the Token without a sample: the permits go back and the
// algorithm is not told.
func (tk Token) Ignore() { tk.end(Ignored, "Ignore") }

// Permits returns the number of permits the Token holds (0 for the zero
// Token); it does not change when the Token ends.
func (tk Token) Permits() int {
	if tk.t == nil {
		return 0
	}
	return tk.t.n
}

func (tk Token) end(o Outcome, method string) {
	t := tk.t
	if t == nil {
		panic("adaptive: Token." + method + " on the zero Token (a failed Acquire holds nothing to end)")
	}
	// One CAS decides the one end of this Acquire (see token.gen).
	if !t.gen.CompareAndSwap(tk.gen, tk.gen+1) {
		panic("adaptive: Token." + method + " on a Token that already ended (end each Token exactly once, with Success, Drop or Ignore)")
	}
	l, n := t.l, t.n
	s := Sample{Start: t.start, Inflight: t.inflight, Permits: n, Dropped: o == Dropped}
	s.RTT = max(l.now().Sub(t.start), 0)
	t.l = nil
	// Every field is read: the permits go back and the token to its pool,
	// where the next Acquire may take it at once.
	l.inflight.Add(-int64(n))
	t.perm.release()
	l.counts[o].Add(1)
	if o != Ignored {
		l.sample(s)
	}
}
