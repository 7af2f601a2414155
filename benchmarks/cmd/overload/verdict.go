package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// The targets the verdict checks.
const (
	minGoodput     = 0.95 // of capacity, at overloadFrom and above, once settled
	maxP99Factor   = 1.5  // p99 of admitted work over the unloaded latency, same cells
	overloadFrom   = 2.0  // loads at and above this are "overload"
	quietLoadBelow = 0.5  // loads at and below this must never be refused
)

// A Claim is one README claim and how this run measured it.
type Claim struct {
	Text    string
	Checked int      // cells it was checked in
	Misses  []string // one line per cell that missed, with the numbers
}

// Holds reports whether the claim held in every cell it was checked in.
func (c Claim) Holds() bool { return c.Checked > 0 && len(c.Misses) == 0 }

// Claims checks the targets against the cells of one run: settleBound is
// the settle target, unloaded the latency of the unloaded service. A claim
// with no cell to check in is reported as not measured, never as holding.
func Claims(ms []Metrics, unloaded, settleBound time.Duration) []Claim {
	goodput := Claim{Text: fmt.Sprintf("at %gx and %gx load, goodput at least %.2f of capacity once settled", overloadFrom, 2*overloadFrom, minGoodput)}
	p99 := Claim{Text: fmt.Sprintf("at %gx and %gx load, p99 of admitted work at most %.1fx the unloaded latency (%s) once settled",
		overloadFrom, 2*overloadFrom, maxP99Factor, unloaded.Round(10*time.Microsecond))}
	settles := Claim{Text: fmt.Sprintf("at %gx and %gx load, the limit settles within %s of every capacity change (within [%.2f, %.2f] of the new capacity from then on)",
		overloadFrom, 2*overloadFrom, settleBound, Band.Lo, Band.Hi)}
	peer := Claim{Text: "at least failsafe-go's goodput, with at most its p99 of admitted work, at every load (missed where every count of ours is worse than every count of failsafe-go's)"}
	quiet := Claim{Text: fmt.Sprintf("at %gx load, no request is refused (none shed, none expired in the queue)", quietLoadBelow)}

	failsafe := map[float64]Metrics{}
	for _, m := range ms {
		if m.Contender == "failsafe-go" {
			failsafe[m.Load] = m
		}
	}
	for _, m := range ms {
		if !m.Ours {
			continue
		}
		cell := fmt.Sprintf("%s at %gx", m.Contender, m.Load)
		if m.Load >= overloadFrom {
			goodput.Checked++
			if !(m.SteadyGoodputCapacity >= minGoodput) {
				goodput.Misses = append(goodput.Misses, fmt.Sprintf("%s: %.3f of capacity", cell, m.SteadyGoodputCapacity))
			}
			p99.Checked++
			if limit := time.Duration(maxP99Factor * float64(unloaded)); m.steadyAdmitted == 0 || m.SteadyP99 > limit {
				p99.Misses = append(p99.Misses, fmt.Sprintf("%s: p99 %s = %.2fx (%d admitted)", cell, ms3(m.SteadyP99),
					float64(m.SteadyP99)/float64(unloaded), m.steadyAdmitted))
			}
			for _, s := range m.Settles {
				settles.Checked++
				switch {
				case !s.OK:
					settles.Misses = append(settles.Misses, fmt.Sprintf("%s, capacity to %d: never settled in its %s phase", cell, s.Capacity, s.Time))
				case s.Time > settleBound:
					settles.Misses = append(settles.Misses, fmt.Sprintf("%s, capacity to %d: settled after %s", cell, s.Capacity, s.Time.Round(time.Millisecond)))
				}
			}
		}
		if f, ok := failsafe[m.Load]; ok && len(m.P99s) > 0 && len(f.P99s) > 0 {
			// Worse only where the counts do not overlap: the counts of
			// one contender differ by the machine's timer noise (at 0.5x,
			// where no limit binds, every p99 is the service's own, and
			// its order between two contenders changes from count to
			// count). With the same number k of counts for both and no
			// difference between them, all of ours land beyond all of
			// failsafe-go's with chance 1/C(2k, k): 1 in 70 for k=4. With
			// one count each this is the plain comparison.
			peer.Checked++
			var why []string
			if slices.Max(m.Goodputs) < slices.Min(f.Goodputs) {
				why = append(why, fmt.Sprintf("goodput %s < %s", rangeOf(m.Goodputs, fmtGoodput), rangeOf(f.Goodputs, fmtGoodput)))
			}
			if slices.Min(m.P99s) > slices.Max(f.P99s) {
				// In microseconds: the report's tenths of a millisecond
				// would print a difference below them as "21.1ms > 21.1ms".
				why = append(why, fmt.Sprintf("p99 %s > %s", rangeOf(m.P99s, msFine), rangeOf(f.P99s, msFine)))
			}
			if len(why) > 0 {
				peer.Misses = append(peer.Misses, cell+": "+strings.Join(why, ", ")+" in every count")
			}
		}
		if m.Load <= quietLoadBelow {
			quiet.Checked++
			if m.RefusedMax > 0 {
				quiet.Misses = append(quiet.Misses, fmt.Sprintf("%s: %d of %d refused in one count (median: %d shed, %d expired)", cell, m.RefusedMax, m.Offered, m.Shed, m.Expired))
			}
		}
	}
	return []Claim{goodput, p99, settles, peer, quiet}
}

// WriteClaims prints each claim with its verdict: holds, MISSED with the
// cells and numbers, or not measured.
func WriteClaims(w io.Writer, cs []Claim) {
	for _, c := range cs {
		switch {
		case c.Checked == 0:
			fmt.Fprintf(w, "- %s: not measured (no cell ran)\n", c.Text)
		case c.Holds():
			fmt.Fprintf(w, "- %s: holds (%d checks)\n", c.Text, c.Checked)
		default:
			fmt.Fprintf(w, "- %s: MISSED in %d of %d\n", c.Text, len(c.Misses), c.Checked)
			for _, m := range c.Misses {
				fmt.Fprintf(w, "    %s\n", m)
			}
		}
	}
}

// rangeOf formats the counts' values: the one value, or "lowest to
// highest".
func rangeOf[T float64 | time.Duration](vs []T, f func(T) string) string {
	lo, hi := slices.Min(vs), slices.Max(vs)
	if lo == hi {
		return f(lo)
	}
	return f(lo) + " to " + f(hi)
}

func fmtGoodput(g float64) string { return fmt.Sprintf("%.4f", g) }

// ms3 formats a duration in milliseconds with 0.1 ms precision.
func ms3(d time.Duration) string { return fmt.Sprintf("%.1fms", float64(d)/1e6) }

// msFine is ms3 to the microsecond, for comparisons whose difference may
// be smaller than ms3 shows.
func msFine(d time.Duration) string { return fmt.Sprintf("%.3fms", float64(d)/1e6) }
