package main

import (
	"fmt"
	"strings"
	"testing"
)

// parseRun builds a Run from `go test -bench` lines of the form
// "Benchmark<name>/c=<contender> <value> <unit> [<value> <unit>...]": the
// iteration count and the -GOMAXPROCS suffix are added here.
func parseRun(t *testing.T, lines ...string) []Result {
	t.Helper()
	var in strings.Builder
	for _, l := range lines {
		name, metrics, _ := strings.Cut(l, " ")
		fmt.Fprintf(&in, "%s-2 \t 1000 \t %s\n", name, metrics)
	}
	rs, err := Parse(strings.NewReader(in.String()))
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != len(lines) {
		t.Fatalf("Parse returned %d results for %d lines", len(rs), len(lines))
	}
	return rs
}

// verdictLines is a run with one cell of each kind the verdict tells
// apart.
var verdictLines = []string{
	// Loses to chan only.
	"BenchmarkContended/g=8/permits=1/work=0/c=xsync 200 ns/op",
	"BenchmarkContended/g=8/permits=1/work=0/c=core+generic 100 ns/op",
	"BenchmarkContended/g=8/permits=1/work=0/c=dropin 100 ns/op",
	"BenchmarkContended/g=8/permits=1/work=0/c=chan 50 ns/op",
	// Loses to chan, whose grant shares in the same cell are uneven.
	"BenchmarkContended/g=32/permits=1/work=100ns/c=xsync 300 ns/op",
	"BenchmarkContended/g=32/permits=1/work=100ns/c=core+generic 100 ns/op",
	"BenchmarkContended/g=32/permits=1/work=100ns/c=chan 80 ns/op",
	"BenchmarkCallers/g=32/permits=1/work=100ns/c=xsync 300 ns/op 0.99 jain",
	"BenchmarkCallers/g=32/permits=1/work=100ns/c=core+generic 70 ns/op 0.99 jain 1.2 grant-max/min",
	"BenchmarkCallers/g=32/permits=1/work=100ns/c=chan 80 ns/op 0.5 jain",
	// Wins: not listed.
	"BenchmarkWeighted/g=8/permits=64/n=1..16/c=xsync 300 ns/op",
	"BenchmarkWeighted/g=8/permits=64/n=1..16/c=core+generic 100 ns/op",
	"BenchmarkWeighted/g=8/permits=64/n=1..16/c=dropin 110 ns/op",
	// The drop-in loses to xsync here, core+generic does not.
	"BenchmarkCancel/g=8/permits=4/deadline=10µs/c=xsync 1000 ns/op",
	"BenchmarkCancel/g=8/permits=4/deadline=10µs/c=core+generic 900 ns/op",
	"BenchmarkCancel/g=8/permits=4/deadline=10µs/c=dropin 1100 ns/op",
	// Handoff is compared by p50-ns, not by its ns/op.
	"BenchmarkHandoff/c=xsync 51000 ns/op 700 p50-ns",
	"BenchmarkHandoff/c=core+generic 52000 ns/op 600 p50-ns",
	// FIFO's ns/op is spacing, not speed.
	"BenchmarkFIFO/c=chan 400000 ns/op 0 fifo-violations",
	"BenchmarkFIFO/c=core+generic 410000 ns/op 0 fifo-violations",
}

// squash folds every run of spaces in s into one and trims each line.
func squash(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.Join(strings.Fields(l), " ")
	}
	return strings.Join(lines, "\n")
}

func TestVerdictLeadsWithTheLosingCells(t *testing.T) {
	var out strings.Builder
	Verdict(&out, parseRun(t, verdictLines...), "Run: test.")
	got := squash(out.String())
	if !strings.HasPrefix(got, "VERDICT: core+generic loses 1 cell, dropin loses 2 cells;") {
		t.Errorf("first line = %q, want the verdict with 1 and 2 losing cells", strings.SplitN(got, "\n", 2)[0])
	}
	section := func(from, to string) string {
		_, s, _ := strings.Cut(got, from)
		s, _, _ = strings.Cut(s, to)
		return s
	}
	core := section("core+generic (the default Semaphore)", "dropin (the drop-in)")
	dropin := section("dropin (the drop-in)", "Claims")
	for _, want := range []string{
		"Contended g=8/permits=1/work=0 loses to chan 0.50x\n",
		"Contended g=32/permits=1/work=100ns peer unfair chan 0.80x (unfair, Jain 0.50)\n",
	} {
		if !strings.Contains(core, want) {
			t.Errorf("core+generic's cells lack %q; got:\n%s", want, core)
		}
	}
	if !strings.Contains(core, ": 1 losing cell, 1 peer-unfair cell\n") {
		t.Errorf("core+generic's count is not 1 losing and 1 peer-unfair; got:\n%s", core)
	}
	for _, not := range []string{"Weighted", "Cancel", "Handoff", "FIFO"} {
		if strings.Contains(core, not) {
			t.Errorf("core+generic's cells list %s, where it is not slower; got:\n%s", not, core)
		}
	}
	for _, want := range []string{
		"Contended g=8/permits=1/work=0",
		"Cancel g=8/permits=4/deadline=10µs loses to xsync 0.91x\n",
	} {
		if !strings.Contains(dropin, want) {
			t.Errorf("dropin's cells lack %q; got:\n%s", want, dropin)
		}
	}
}

// TestPeerUnfairNeedsTheSameCell: a peer's uneven shares excuse a loss only
// in the cell where they were measured, and only when every peer that wins
// there is unfair.
func TestPeerUnfairNeedsTheSameCell(t *testing.T) {
	r := NewRun(parseRun(t,
		"BenchmarkContended/g=32/permits=1/work=0/c=core+generic 100 ns/op",
		"BenchmarkContended/g=32/permits=1/work=0/c=chan 80 ns/op",
		"BenchmarkContended/g=32/permits=1/work=0/c=xsync 90 ns/op",
		"BenchmarkCallers/g=32/permits=1/work=0/c=chan 80 ns/op 0.5 jain",
		"BenchmarkCallers/g=32/permits=1/work=0/c=xsync 80 ns/op 0.99 jain",
		"BenchmarkContended/g=8/permits=1/work=100ns/c=core+generic 100 ns/op",
		"BenchmarkContended/g=8/permits=1/work=100ns/c=chan 80 ns/op",
		// Fairness holds its permit for 100 ns: the same cell as work=100ns.
		"BenchmarkFairness/g=8/permits=1/c=chan 1000 ns/op 0.3 jain",
		"BenchmarkWeighted/g=32/permits=64/n=1..16/c=core+generic 100 ns/op",
		"BenchmarkWeighted/g=32/permits=64/n=1..16/c=xsync 80 ns/op",
		"BenchmarkCallers/g=32/permits=64/work=0/c=xsync 80 ns/op 0.1 jain",
	))
	got := map[string]bool{}
	for _, lc := range losses(r, ours) {
		got[lc.cell.String()] = lc.excused
	}
	want := map[string]bool{
		"Contended g=32/permits=1/work=0":    false, // xsync beats it too, and is fair
		"Contended g=8/permits=1/work=100ns": true,
		"Weighted g=32/permits=64/n=1..16":   false, // no fairness cell of its shape
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("losing cells (cell: excused) = %v, want %v", got, want)
	}
}

func TestQueueForms(t *testing.T) {
	for cfg, want := range map[string]bool{
		"g=2/permits=1/work=0":     true,
		"g=2/permits=4/work=0":     false,
		"g=8/permits=4/work=100ns": false,
		"g=1024/permits=4/work=0":  false,
		"g=1024/permits=64/work=0": false,
		"g=8/permits=1":            true,
		"op=acquire":               false,
	} {
		if got := queueForms(cfg); got != want {
			t.Errorf("queueForms(%q) = %v, want %v", cfg, got, want)
		}
	}
	n := 0
	for _, cfg := range contendedGrid() {
		if queueForms(cfg) {
			n++
		}
	}
	if n != 15 { // 1 permit: 5 goroutine counts, 3 works each
		t.Errorf("%d of the Contended grid's cells form a queue, want 15", n)
	}
}

func TestClaims(t *testing.T) {
	rs := parseRun(t,
		"BenchmarkUncontendedDirect/op=acquire/c=core+generic 14 ns/op 0 allocs/op",
		"BenchmarkUncontendedDirect/op=acquire/c=dropin 15 ns/op 0 allocs/op",
		"BenchmarkUncontendedDirect/op=acquire/c=xsync 25 ns/op 0 allocs/op",
		"BenchmarkUncontendedDirect/op=acquire/c=atomic 12 ns/op 0 allocs/op",
		"BenchmarkUncontendedDirect/op=try/c=core+generic 16 ns/op 1 allocs/op",
		"BenchmarkUncontendedDirect/op=try/c=dropin 16 ns/op 0 allocs/op",
		"BenchmarkUncontendedDirect/op=try/c=atomic 12 ns/op 0 allocs/op",
		"BenchmarkContended/g=8/permits=1/work=0/c=core+generic 100 ns/op",
		"BenchmarkContended/g=8/permits=1/work=0/c=chan 90 ns/op",
		"BenchmarkContended/g=8/permits=1/work=0/c=xsync 160 ns/op",
		"BenchmarkContended/g=2/permits=64/work=0/c=core+generic 90 ns/op",
		"BenchmarkContended/g=2/permits=64/work=0/c=xsync 50 ns/op",
		"BenchmarkCallers/g=8/permits=1/work=0/c=core+generic 100 ns/op 0.99 jain 1.1 grant-max/min 900 release-p99.9-ns",
		"BenchmarkCallers/g=8/permits=1/work=0/c=xsync 100 ns/op 0.99 jain 1.1 grant-max/min 400 release-p99.9-ns",
		"BenchmarkFairness/g=8/permits=1/c=core+generic 100 ns/op 0.99 jain 1.6 grant-max/min",
		"BenchmarkFIFO/c=core+generic 400000 ns/op 0 fifo-violations",
		"BenchmarkEventWakeAll/g=8/c=core+generic 9000 ns/op",
		"BenchmarkEventWakeAll/g=8/c=chan-close 4000 ns/op",
	)
	claims := map[string]Claim{}
	for _, c := range Claims(NewRun(rs)) {
		claims[c.Name] = c
	}
	for name, want := range map[string]string{
		"uncontended Acquire+Release within 1.25x of the atomic floor (CAS+add)": "MISSED", // try: 16/12 = 1.33x
		"0 allocs/op uncontended":                                    "MISSED",
		"faster than a buffered channel in every contended cell":     "MISSED", // 100 against chan's 90
		"at least 1.5x x/sync wherever a queue forms":                "holds",  // 1.6x, the one cell measured
		"at least as fast as x/sync in every cell of every scenario": "MISSED", // 0.56x at g=2/permits=64
		"Jain ≥0.95 and grant max/min ≤1.5 wherever a queue forms":   "MISSED", // Fairness max/min 1.6
		"Release p99.9 within 2x of x/sync":                          "MISSED", // 2.25x
		"exact FIFO: 0 violations":                                   "holds",
		"drop-in within 1.05x of core in every cell":                 "MISSED", // acquire 15/14 = 1.07x
	} {
		c, ok := claims[name]
		if !ok {
			t.Errorf("no claim %q", name)
		} else if got := c.verdict(); got != want {
			t.Errorf("%q: %s, want %s", name, got, want)
		}
	}
	if len(claims) != 9 {
		t.Errorf("%d claims, want 9", len(claims))
	}
	queued := claims["at least 1.5x x/sync wherever a queue forms"]
	asFast := claims["at least as fast as x/sync in every cell of every scenario"]
	if len(queued.Checks) != 15 {
		t.Errorf("1.5x x/sync where a queue forms checks %d cells, want the grid's 15", len(queued.Checks))
	}
	// Cells without xsync (the Event scenario, the try cell) are not checked.
	if len(asFast.Checks) != 3 || asFast.verdict() != "MISSED" {
		t.Errorf("as fast as x/sync: %d checks, %s; want 3 (acquire and two Contended cells), MISSED", len(asFast.Checks), asFast.verdict())
	}
	var out strings.Builder
	asFast.write(&out)
	if want := "worst 0.56x at Contended g=2/permits=64/work=0\n          missed: Contended g=2/permits=64/work=0 0.56x\n"; !strings.Contains(out.String(), want) {
		t.Errorf("as fast as x/sync printed:\n%s\nwant it to contain:\n%s", out.String(), want)
	}
}

func TestClaimsWithNothingMeasuredAreNA(t *testing.T) {
	for _, c := range Claims(NewRun(nil)) {
		if v := c.verdict(); v != "n/a" {
			t.Errorf("%q with no results: %s, want n/a", c.Name, v)
		}
	}
	var out strings.Builder
	Verdict(&out, nil, "Run: nothing.")
	if first := strings.SplitN(out.String(), "\n", 2)[0]; first != "VERDICT: core+generic loses 0 cells, dropin loses 0 cells; 0 of 9 claims MISSED, 9 n/a" {
		t.Errorf("first line with no results = %q", first)
	}
}

func TestRatioString(t *testing.T) {
	for r, want := range map[float64]string{1.254: "1.25x", 0.5: "0.50x", 0.00693: "0.0069x"} {
		if got := ratioString(r); got != want {
			t.Errorf("ratioString(%v) = %q, want %q", r, got, want)
		}
	}
}
