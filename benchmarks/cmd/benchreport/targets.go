package main

import (
	"fmt"
	"io"
	"math"
)

// median returns the median of one metric over all results matching bench,
// config and contender, or NaN when there are none.
func median(rs []Result, bench, config, contender, unit string) float64 {
	var xs []float64
	for _, r := range rs {
		if r.Bench == bench && r.Config == config && r.Contender == contender {
			if v, ok := r.Metrics[unit]; ok {
				xs = append(xs, v)
			}
		}
	}
	m, _ := medianSpread(xs)
	return m
}

// Targets prints every target of issues 2 and 6 as a ratio measured in this
// run, with HOLDS, MISSED, or n/a when a side was not measured.
func Targets(w io.Writer, rs []Result) {
	check := func(what string, got float64, op string, want float64) {
		verdict := "n/a (not measured in this run)"
		if !math.IsNaN(got) {
			ok := (op == "<=" && got <= want) || (op == ">=" && got >= want)
			verdict = "MISSED"
			if ok {
				verdict = "holds"
			}
		}
		fmt.Fprintf(w, "  %-78s %8.3g %s %-5g %s\n", what, got, op, want, verdict)
	}
	const g = "core+generic"
	for _, op := range []string{"acquire", "try"} {
		cfg := "op=" + op
		ours := median(rs, "Uncontended", cfg, g, "ns/op")
		check("uncontended "+op+": core+generic / atomic floor (same interface)", ours/median(rs, "Uncontended", cfg, "atomic", "ns/op"), "<=", 1.25)
		check("uncontended "+op+": xsync / core+generic (speed-up)", median(rs, "Uncontended", cfg, "xsync", "ns/op")/ours, ">=", 1.8)
		check("uncontended "+op+": core+generic allocs/op", median(rs, "Uncontended", cfg, g, "allocs/op"), "<=", 0)
	}
	for _, permits := range []string{"1", "4"} {
		for _, work := range []string{"0", "100ns"} {
			cfg := "g=32/permits=" + permits + "/work=" + work
			ours := median(rs, "Contended", cfg, g, "ns/op")
			check("contended "+cfg+": throughput core+generic / xsync", median(rs, "Contended", cfg, "xsync", "ns/op")/ours, ">=", 3)
			check("contended "+cfg+": throughput core+generic / chan", median(rs, "Contended", cfg, "chan", "ns/op")/ours, ">=", 1.25)
		}
	}
	check("FIFO: core+generic fifo-violations (exact benchmark, median per run)", median(rs, "FIFO", "", g, "fifo-violations"), "<=", 0)
	check("memory: core+generic B/waiter / xsync B/waiter", median(rs, "Memory", "", g, "B/waiter")/median(rs, "Memory", "", "xsync", "B/waiter"), "<=", 1)
	futex := median(rs, "Floor", "", "futex-pingpong", "ns/handoff")
	check("handoff: core+iouring p50 / raw futex ns/handoff", median(rs, "Handoff", "", "core+iouring", "p50-ns")/futex, "<=", 2)
	check("handoff: core+iouring p99 / raw futex ns/handoff", median(rs, "Handoff", "", "core+iouring", "p99-ns")/futex, "<=", 2)
}
