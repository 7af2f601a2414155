package main

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// A Claim is one sentence of README.md's claims, checked cell by cell
// against one run.
type Claim struct {
	Name   string // the claim as README.md states it
	How    string // what is compared, and where
	Checks []Check
}

// A Check is one cell of a claim.
type Check struct {
	Where string  // the cell, e.g. "g=32/permits=1/work=0"
	Show  string  // what was measured, e.g. "0.62x"
	OK    bool    // the cell keeps the claim
	NA    bool    // a side was not measured: the cell neither keeps nor breaks it
	Worse float64 // orders the measured checks: the largest is the claim's worst cell
}

// verdict is MISSED when a measured cell breaks the claim, n/a when no cell
// was measured, and holds otherwise.
func (c Claim) verdict() string {
	measured := false
	for _, ch := range c.Checks {
		if ch.NA {
			continue
		}
		if !ch.OK {
			return "MISSED"
		}
		measured = true
	}
	if !measured {
		return "n/a"
	}
	return "holds"
}

// write prints the claim: its verdict and name, then the comparison, the
// cell counts and the worst cell, then every cell that breaks it.
func (c Claim) write(w io.Writer) {
	fmt.Fprintf(w, "  %-6s  %s\n", c.verdict(), c.Name)
	held, missed, na := 0, 0, 0
	var worst *Check
	var misses []string
	for i, ch := range c.Checks {
		switch {
		case ch.NA:
			na++
			continue
		case ch.OK:
			held++
		default:
			missed++
			misses = append(misses, ch.Where+" "+ch.Show)
		}
		if worst == nil || ch.Worse > worst.Worse {
			worst = &c.Checks[i]
		}
	}
	counts := []string{plural(len(c.Checks), "cell")}
	if len(c.Checks) == 0 {
		counts[0] = "no cell measured"
	}
	if held > 0 {
		counts = append(counts, fmt.Sprintf("%d hold", held))
	}
	if missed > 0 {
		counts = append(counts, fmt.Sprintf("%d missed", missed))
	}
	if na > 0 {
		counts = append(counts, fmt.Sprintf("%d not measured", na))
	}
	line := c.How + ": " + strings.Join(counts, ", ")
	if worst != nil {
		line += "; worst " + worst.Show
		if worst.Where != "" {
			line += " at " + worst.Where
		}
	}
	wrap(w, "          ", strings.Fields(line), " ")
	if len(misses) > 0 {
		wrap(w, "          missed: ", misses, "; ")
	}
}

// wrap prints items joined by sep after prefix, in lines of at most about
// 110 characters, continuation lines indented to the end of prefix. An
// item is never split.
func wrap(w io.Writer, prefix string, items []string, sep string) {
	indent := strings.Repeat(" ", len(prefix))
	line := prefix
	for i, it := range items {
		if i > 0 {
			if len(line)+len(sep)+len(it) > 110 {
				fmt.Fprintln(w, strings.TrimRight(line+sep, " "))
				line = indent
			} else {
				line += sep
			}
		}
		line += it
	}
	fmt.Fprintln(w, line)
}

// queueDefinition says, in the words of the verdict, which cells
// queueForms accepts.
const queueDefinition = "1 permit has 2 or more goroutines (with GOMAXPROCS=2, 4 permits are held by at most the 2 running goroutines, so a queue forms there only when a holder is preempted)"

// queueForms reports whether a cell's goroutines keep a queue of waiters
// (on GOMAXPROCS=2): one permit shared by 2 or more goroutines. With 4 or
// 64 permits at most two goroutines run, each holding one permit in these
// benchmarks, so a queue forms only when holders are preempted, and the
// shares follow the scheduler's time slices (the channel's and x/sync's
// permit-4 cells show the same), not the semaphore's order.
func queueForms(config string) bool {
	g, permits := -1, -1
	for _, p := range strings.Split(config, "/") {
		if v, ok := strings.CutPrefix(p, "g="); ok {
			g, _ = strconv.Atoi(v)
		} else if v, ok := strings.CutPrefix(p, "permits="); ok {
			permits, _ = strconv.Atoi(v)
		}
	}
	return permits == 1 && g >= 2
}

// contendedGrid is BenchmarkContended's grid (contended_test.go), which
// the claims about contended cells cover whether or not a cell ran.
func contendedGrid() []string {
	var cfgs []string
	for _, g := range []int{2, 8, 32, 128, 1024} {
		for _, permits := range []int{1, 4, 64} {
			for _, work := range []string{"0", "100ns", "10µs"} {
				cfgs = append(cfgs, fmt.Sprintf("g=%d/permits=%d/work=%s", g, permits, work))
			}
		}
	}
	return cfgs
}

// atLeast checks got >= want, showing got with show.
func atLeast(where string, got, want float64, show func(float64) string) Check {
	return Check{Where: where, Show: show(got), OK: got >= want, NA: math.IsNaN(got), Worse: -got}
}

// atMost checks got <= want, showing got with show.
func atMost(where string, got, want float64, show func(float64) string) Check {
	return Check{Where: where, Show: show(got), OK: got <= want, NA: math.IsNaN(got), Worse: got}
}

// plain shows a value that is not a ratio.
func plain(v float64) string { return strconv.FormatFloat(v, 'g', 3, 64) }

// speedChecks checks, in every cell, that peer's speed metric over
// contender's is at least want. A cell whose peer has Jain's index below
// unfairJain there says so, but still counts: a claim is kept or not.
func speedChecks(r *Run, cells []cellID, where func(cellID) string, peer, contender string, want float64) []Check {
	var out []Check
	for _, c := range cells {
		ch := atLeast(where(c), speedRatio(r, c, peer, contender), want, ratioString)
		if j := peerJain(r, c, peer); j < unfairJain {
			ch.Show += fmt.Sprintf(" (%s unfair, Jain %.2f)", peer, j)
		}
		out = append(out, ch)
	}
	return out
}

// withContender returns the cells of the given benchmarks in which
// contender was measured.
func withContender(r *Run, contender string, benches ...string) []cellID {
	var out []cellID
	for _, b := range benches {
		for _, c := range r.Cells(b) {
			if unit, ok := speedUnit(c.Bench); ok && !math.IsNaN(r.Median(c, contender, unit)) {
				out = append(out, c)
			}
		}
	}
	return out
}

func configOnly(c cellID) string { return c.Config }

// Claims checks README.md's claims against r, in README order.
func Claims(r *Run) []Claim {
	var uncontended []cellID
	for _, op := range []string{"acquire", "try"} {
		uncontended = append(uncontended, cellID{"UncontendedDirect", "op=" + op})
	}
	var grid, queued []cellID
	for _, cfg := range contendedGrid() {
		grid = append(grid, cellID{"Contended", cfg})
		if queueForms(cfg) {
			queued = append(queued, cellID{"Contended", cfg})
		}
	}
	var callers []cellID
	for _, c := range append(r.Cells("Callers"), r.Cells("Fairness")...) {
		if queueForms(c.Config) {
			callers = append(callers, c)
		}
	}

	var floor, allocs, fair, p999, fifo, dropInCells []Check
	for _, c := range uncontended {
		floor = append(floor, atMost(c.Config, r.Median(c, ours, "ns/op")/r.Median(c, "atomic", "ns/op"), 1.25, ratioString))
		allocs = append(allocs, atMost(c.Config, r.Median(c, ours, "allocs/op"), 0, func(v float64) string { return plain(v) + " allocs/op" }))
	}
	for _, c := range callers {
		jain, maxMin := r.Median(c, ours, "jain"), r.Median(c, ours, "grant-max/min")
		fair = append(fair, Check{
			Where: c.String(),
			Show:  fmt.Sprintf("Jain %.3f, max/min %.2f", jain, maxMin),
			OK:    jain >= 0.95 && maxMin <= 1.5,
			NA:    math.IsNaN(jain) || math.IsNaN(maxMin),
			Worse: max(0.95/jain, maxMin/1.5),
		})
	}
	for _, c := range r.Cells("Callers") {
		p999 = append(p999, atMost(c.Config, r.Median(c, ours, "release-p99.9-ns")/r.Median(c, "xsync", "release-p99.9-ns"), 2, ratioString))
	}
	fifo = append(fifo, atMost("", r.Median(cellID{"FIFO", ""}, ours, "fifo-violations"), 0, func(v float64) string { return plain(v) + " violations" }))
	for _, c := range withContender(r, dropIn, "") {
		dropInCells = append(dropInCells, atMost(c.String(), speedRatio(r, c, dropIn, ours), 1.05, ratioString))
	}
	xsyncCells := withContender(r, "xsync", "Contended", "ContendedDirect", "Weighted", "Cancel", "Handoff",
		"UncontendedDirect", "Uncontended", "EventWakeAll", "CondSignal")

	return []Claim{
		{"uncontended Acquire+Release within 1.25x of the atomic floor (CAS+add)",
			ours + " ns/op / atomic ns/op, UncontendedDirect (Acquire or TryAcquire, then Permit.Release)", floor},
		{"0 allocs/op uncontended", ours + " allocs/op, UncontendedDirect", allocs},
		{"faster than a buffered channel in every contended cell",
			"chan ns/op / " + ours + " ns/op, Contended grid", speedChecks(r, grid, configOnly, "chan", ours, 1)},
		{"at least 1.5x x/sync wherever a queue forms",
			"xsync ns/op / " + ours + " ns/op, Contended cells where a queue forms", speedChecks(r, queued, configOnly, "xsync", ours, 1.5)},
		{"at least as fast as x/sync in every cell of every scenario",
			"xsync / " + ours + " (ns/op; Handoff p50-ns), every cell with xsync of Contended, ContendedDirect, Weighted, " +
				"Cancel, Handoff, Uncontended, UncontendedDirect, EventWakeAll, CondSignal",
			speedChecks(r, xsyncCells, cellID.String, "xsync", ours, 1)},
		{"Jain ≥0.95 and grant max/min ≤1.5 wherever a queue forms",
			ours + "'s grant shares, Callers and Fairness cells where a queue forms", fair},
		{"Release p99.9 within 2x of x/sync", ours + " release-p99.9-ns / xsync release-p99.9-ns, Callers", p999},
		{"exact FIFO: 0 violations", ours + " fifo-violations, FIFO (8 queued waiters and a barger per round)", fifo},
		{"drop-in within 1.05x of core in every cell",
			"dropin / " + ours + " (ns/op; Handoff p50-ns), every cell both ran in", dropInCells},
	}
}
