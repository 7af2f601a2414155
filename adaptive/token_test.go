package adaptive_test

import (
	"context"
	"strings"
	"testing"

	"github.com/compio-sync/gosync/adaptive"
)

// TestTokenEndsExactlyOnce: a second end of a Token, through the same value
// or a copy, in any combination of Success, Drop and Ignore, panics naming
// the package, and the permits are released once.
func TestTokenEndsExactlyOnce(t *testing.T) {
	ends := map[string]func(adaptive.Token){
		"Success": adaptive.Token.Success,
		"Drop":    adaptive.Token.Drop,
		"Ignore":  adaptive.Token.Ignore,
	}
	for first, end1 := range ends {
		for second, end2 := range ends {
			t.Run(first+"Then"+second, func(t *testing.T) {
				sem := newSem(4)
				l := adaptive.New(sem, adaptive.Fixed(4))
				tok, err := l.AcquireN(context.Background(), 2)
				if err != nil {
					t.Fatal(err)
				}
				cp := tok
				end1(tok)
				msg := mustPanic(t, second+" after "+first, func() { end2(cp) })
				if !strings.Contains(msg, "already ended") {
					t.Errorf("panic %q does not say the Token already ended", msg)
				}
				if got := sem.InUse(); got != 0 {
					t.Errorf("InUse after one end and a refused second = %d, want 0", got)
				}
				if got := l.Inflight(); got != 0 {
					t.Errorf("Inflight = %d, want 0", got)
				}
			})
		}
	}
}

// TestStaleTokenCannotEndALaterOne: the state behind Tokens is reused; a
// copy of an ended Token must panic rather than end the Acquire that
// reused its state.
func TestStaleTokenCannotEndALaterOne(t *testing.T) {
	sem := newSem(2)
	l := adaptive.New(sem, adaptive.Fixed(2))
	ctx := context.Background()
	for i := range 100 {
		old, err := l.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		old.Success()
		cur, err := l.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		mustPanic(t, "Success of an ended Token after a new Acquire", old.Success)
		if got := sem.InUse(); got != 1 {
			t.Fatalf("round %d: InUse after the stale end = %d, want 1 (the stale copy ended the new Token)", i, got)
		}
		cur.Ignore()
	}
}

func TestZeroTokenPanics(t *testing.T) {
	var tok adaptive.Token
	mustPanic(t, "Success of the zero Token", tok.Success)
	mustPanic(t, "Drop of the zero Token", tok.Drop)
	mustPanic(t, "Ignore of the zero Token", tok.Ignore)
	if tok.Permits() != 0 {
		t.Errorf("zero Token Permits() = %d, want 0", tok.Permits())
	}
}

// recorder is an Algorithm written against the public interface: it
// records every Sample and answers from a script.
type recorder struct {
	samples []adaptive.Sample
	answers []int
}

func (r *recorder) Update(s adaptive.Sample) int {
	r.samples = append(r.samples, s)
	if len(r.answers) == 0 {
		return s.Limit
	}
	n := r.answers[0]
	r.answers = r.answers[1:]
	return n
}

// TestEndsReleaseAndSample: each end releases the Token's permits; Success
// and Drop give the algorithm one sample each, with the measured RTT, the
// permits in flight at the grant and the drop flag; Ignore gives none.
func TestEndsReleaseAndSample(t *testing.T) {
	sem := newSem(10)
	clock := newFakeClock()
	rec := &recorder{}
	l := adaptive.New(sem, rec, adaptive.WithLimits(1, 10, 10), adaptive.WithClock(clock.Now))
	ctx := context.Background()
	a, _ := l.AcquireN(ctx, 3)
	b, _ := l.AcquireN(ctx, 2)
	c, _ := l.AcquireN(ctx, 1)
	if l.Inflight() != 6 || sem.InUse() != 6 {
		t.Fatalf("Inflight %d, InUse %d after taking 3+2+1, want 6, 6", l.Inflight(), sem.InUse())
	}
	clock.Advance(7)
	a.Success()
	if sem.InUse() != 3 || l.Inflight() != 3 {
		t.Fatalf("after Success of 3: InUse %d, Inflight %d, want 3, 3", sem.InUse(), l.Inflight())
	}
	b.Ignore()
	if sem.InUse() != 1 {
		t.Fatalf("after Ignore of 2: InUse %d, want 1", sem.InUse())
	}
	clock.Advance(5)
	c.Drop()
	if sem.InUse() != 0 || l.Inflight() != 0 {
		t.Fatalf("after Drop of 1: InUse %d, Inflight %d, want 0, 0", sem.InUse(), l.Inflight())
	}
	if len(rec.samples) != 2 {
		t.Fatalf("the algorithm got %d samples, want 2 (Success and Drop; Ignore is none): %+v", len(rec.samples), rec.samples)
	}
	s0, s1 := rec.samples[0], rec.samples[1]
	if s0.RTT != 7 || s0.Inflight != 3 || s0.Permits != 3 || s0.Dropped || s0.Limit != 10 {
		t.Errorf("Success sample = %+v, want RTT 7, Inflight 3, Permits 3, not dropped, Limit 10", s0)
	}
	if s1.RTT != 12 || s1.Inflight != 6 || s1.Permits != 1 || !s1.Dropped {
		t.Errorf("Drop sample = %+v, want RTT 12, Inflight 6, Permits 1, dropped", s1)
	}
	st := l.Stats()
	if st.Count(adaptive.Succeeded) != 1 || st.Count(adaptive.Dropped) != 1 || st.Count(adaptive.Ignored) != 1 {
		t.Errorf("Stats succeeded/dropped/ignored = %d/%d/%d, want 1/1/1",
			st.Count(adaptive.Succeeded), st.Count(adaptive.Dropped), st.Count(adaptive.Ignored))
	}
}
