package main

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// The contenders the verdict speaks for, and the peers it holds them to.
const (
	ours   = "core+generic" // the default Semaphore: core with the generic backend
	dropIn = "dropin"       // backend-generic/semaphore, x/sync's API on core
)

var peers = []string{"chan", "xsync"}

// unfairJain is the Jain's index below which a peer's grant shares are
// uneven enough that beating it is not a like-for-like win: a cell that
// loses only to such a peer is labelled "peer unfair", not losing.
const unfairJain = 0.9

// A cellID names one cell: a top-level benchmark and its configuration
// (every element of the sub-benchmark name but c=...).
type cellID struct{ Bench, Config string }

func (c cellID) String() string {
	if c.Config == "" {
		return c.Bench
	}
	return c.Bench + " " + c.Config
}

// A Run indexes one run's results by cell, contender and unit. Results of
// the same cell from different scenarios are pooled.
type Run struct {
	cells []cellID // in first-seen order
	vals  map[runKey][]float64
}

type runKey struct {
	cell            cellID
	contender, unit string
}

// NewRun indexes rs.
func NewRun(rs []Result) *Run {
	r := &Run{vals: map[runKey][]float64{}}
	seen := map[cellID]bool{}
	for _, res := range rs {
		c := cellID{res.Bench, res.Config}
		if !seen[c] {
			seen[c] = true
			r.cells = append(r.cells, c)
		}
		for unit, v := range res.Metrics {
			k := runKey{c, res.Contender, unit}
			r.vals[k] = append(r.vals[k], v)
		}
	}
	return r
}

// Median returns the median of unit for contender in cell, or NaN when it
// was not measured.
func (r *Run) Median(c cellID, contender, unit string) float64 {
	m, _ := medianSpread(r.vals[runKey{c, contender, unit}])
	return m
}

// Cells returns the cells of bench (every cell when bench is ""), in the
// order they ran.
func (r *Run) Cells(bench string) []cellID {
	var out []cellID
	for _, c := range r.cells {
		if bench == "" || c.Bench == bench {
			out = append(out, c)
		}
	}
	return out
}

// speedUnit returns the metric by which contenders are compared in bench,
// lower being faster: ns/op, except in Handoff, whose ns/op is mostly the
// 50 µs the releaser waits before each Release, so its p50 latency is the
// speed. ok is false where no metric is a speed: FIFO (its ns/op is the
// 50 µs spacing between queued waiters) and Memory (its ns/op is sleeps
// while 10k goroutines park).
func speedUnit(bench string) (unit string, ok bool) {
	switch bench {
	case "Handoff":
		return "p50-ns", true
	case "FIFO", "Memory":
		return "", false
	}
	return "ns/op", true
}

// speedRatio returns peer's speed metric in c over contender's: above 1
// the contender is faster. It is NaN when either side was not measured.
func speedRatio(r *Run, c cellID, peer, contender string) float64 {
	unit, ok := speedUnit(c.Bench)
	if !ok {
		return math.NaN()
	}
	return r.Median(c, peer, unit) / r.Median(c, contender, unit)
}

// shape returns a cell's "g=G/permits=P/work=W", the key under which the
// fairness scenarios (Fairness, Callers) and the throughput scenarios share
// a cell, or "" for a cell of another shape. Fairness holds its one permit
// for about 100 ns and says so in no config element.
func shape(c cellID) string {
	parts := strings.Split(c.Config, "/")
	if c.Bench == "Fairness" && len(parts) == 2 {
		parts = append(parts, "work=100ns")
	}
	if len(parts) != 3 || !strings.HasPrefix(parts[0], "g=") ||
		!strings.HasPrefix(parts[1], "permits=") || !strings.HasPrefix(parts[2], "work=") {
		return ""
	}
	return strings.Join(parts, "/")
}

// peerJain returns the largest of peer's median Jain's indices over every
// cell of c's shape, or NaN when none was measured. Below unfairJain it
// means every fairness measurement of that cell found peer unfair.
func peerJain(r *Run, c cellID, peer string) float64 {
	s := shape(c)
	if s == "" {
		return math.NaN()
	}
	best := math.NaN()
	for _, other := range r.cells {
		if shape(other) != s {
			continue
		}
		if j := r.Median(other, peer, "jain"); !math.IsNaN(j) && (math.IsNaN(best) || j > best) {
			best = j
		}
	}
	return best
}

// A defeat is one peer beating a contender in one cell.
type defeat struct {
	peer  string
	ratio float64 // the peer's speed metric over ours, below 1
	jain  float64 // the peer's Jain's index in this cell, NaN if unmeasured
}

func (d defeat) unfair() bool { return d.jain < unfairJain }

// A losingCell is a cell in which contender is slower than a peer.
type losingCell struct {
	cell    cellID
	defeats []defeat
	excused bool // every defeat is by a peer whose Jain's index is below unfairJain
}

// losses returns the cells, in run order, where contender is below 1.0x a
// peer's speed.
func losses(r *Run, contender string) []losingCell {
	var out []losingCell
	for _, c := range r.Cells("") {
		lc := losingCell{cell: c, excused: true}
		for _, p := range peers {
			ratio := speedRatio(r, c, p, contender)
			if math.IsNaN(ratio) || ratio >= 1 {
				continue
			}
			d := defeat{p, ratio, peerJain(r, c, p)}
			lc.defeats = append(lc.defeats, d)
			lc.excused = lc.excused && d.unfair()
		}
		if len(lc.defeats) > 0 {
			out = append(out, lc)
		}
	}
	return out
}

// Verdict writes the verdict block: a headline, every losing cell of the
// default Semaphore and of the drop-in, and every claim with this run's
// ratio and whether it holds. header says which run it is.
func Verdict(w io.Writer, rs []Result, header string) {
	r := NewRun(rs)
	claims := Claims(r)
	missed, na := 0, 0
	for _, c := range claims {
		switch c.verdict() {
		case "MISSED":
			missed++
		case "n/a":
			na++
		}
	}
	type side struct {
		name, what string
		cells      []losingCell
	}
	sides := []side{
		{ours, "the default Semaphore", losses(r, ours)},
		{dropIn, "the drop-in", losses(r, dropIn)},
	}
	count := func(s side) (losing, excused int) {
		for _, lc := range s.cells {
			if lc.excused {
				excused++
			} else {
				losing++
			}
		}
		return
	}
	l0, _ := count(sides[0])
	l1, _ := count(sides[1])
	fmt.Fprintf(w, "VERDICT: %s loses %s, %s loses %s; %d of %d claims MISSED",
		ours, plural(l0, "cell"), dropIn, plural(l1, "cell"), missed, len(claims))
	if na > 0 {
		fmt.Fprintf(w, ", %d n/a", na)
	}
	fmt.Fprintf(w, "\n%s\n", header)

	fmt.Fprintf(w, "\nLosing cells: every cell of every scenario where we are below 1.00x %s, the ratio being\n"+
		"the peer's ns/op over ours (Handoff: p50-ns; FIFO and Memory have no speed figure). A cell\n"+
		"is \"peer unfair\" instead where every peer that beats it has Jain's index below %.1f there.\n",
		strings.Join(peers, " or "), unfairJain)
	for _, s := range sides {
		losing, excused := count(s)
		fmt.Fprintf(w, "\n  %s (%s): %s", s.name, s.what, plural(losing, "losing cell"))
		if excused > 0 {
			fmt.Fprintf(w, ", %s", plural(excused, "peer-unfair cell"))
		}
		fmt.Fprintln(w)
		width := 0
		for _, lc := range s.cells {
			width = max(width, len(lc.cell.String()))
		}
		for _, excusedPass := range []bool{false, true} {
			for _, lc := range s.cells {
				if lc.excused != excusedPass {
					continue
				}
				var ds []string
				for _, d := range lc.defeats {
					txt := d.peer + " " + ratioString(d.ratio)
					if d.unfair() {
						txt += fmt.Sprintf(" (unfair, Jain %.2f)", d.jain)
					}
					ds = append(ds, txt)
				}
				label := "loses to"
				if lc.excused {
					label = "peer unfair"
				}
				fmt.Fprintf(w, "    %-*s  %-11s %s\n", width, lc.cell, label, strings.Join(ds, ", "))
			}
		}
	}

	fmt.Fprintf(w, "\nClaims (README.md), each with this run's worst cell. A queue forms where %s.\n", queueDefinition)
	for _, c := range claims {
		c.write(w)
	}
}

// ratioString formats a ratio with two decimals, or two significant digits
// when it is below 0.1.
func ratioString(r float64) string {
	switch {
	case math.IsNaN(r):
		return "n/a"
	case r < 0.1:
		return strconv.FormatFloat(r, 'g', 2, 64) + "x"
	}
	return strconv.FormatFloat(r, 'f', 2, 64) + "x"
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
