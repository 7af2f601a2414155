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

// inScenario returns the results that the named scenario produced.
func inScenario(rs []Result, scenario string) []Result {
	var out []Result
	for _, r := range rs {
		if r.Scenario == scenario {
			out = append(out, r)
		}
	}
	return out
}

// Targets prints every target of issues 2 and 6 as a ratio measured in this
// run, with HOLDS, MISSED, or n/a when a side was not measured, followed by
// reference ratios (no verdict) that explain the targets' outcome.
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
		fmt.Fprintf(w, "  %-78s %8.4g %s %-5g %s\n", what, got, op, want, verdict)
	}
	info := func(what string, got float64) {
		fmt.Fprintf(w, "  %-78s %8.4g  (reference)\n", what, got)
	}
	const g = "core+generic"
	direct := inScenario(rs, scUncontendedDirect)
	for _, op := range []string{"acquire", "try"} {
		cfg := "op=" + op
		ours := median(direct, "UncontendedDirect", cfg, g, "ns/op")
		check("uncontended "+op+" (direct, Permit.Release): core+generic / atomic floor", ours/median(direct, "UncontendedDirect", cfg, "atomic", "ns/op"), "<=", 1.25)
		check("uncontended "+op+" (direct, Permit.Release): xsync / core+generic (speed-up)", median(direct, "UncontendedDirect", cfg, "xsync", "ns/op")/ours, ">=", 1.8)
		check("uncontended "+op+" (direct): core+generic allocs/op", median(direct, "UncontendedDirect", cfg, g, "allocs/op"), "<=", 0)
	}
	cells := inScenario(rs, scTargetCells)
	for _, permits := range []string{"1", "4"} {
		for _, work := range []string{"0", "100ns"} {
			cfg := "g=32/permits=" + permits + "/work=" + work
			ours := median(cells, "Contended", cfg, g, "ns/op")
			check("contended "+cfg+": throughput core+generic / xsync", median(cells, "Contended", cfg, "xsync", "ns/op")/ours, ">=", 3)
			check("contended "+cfg+": throughput core+generic / chan", median(cells, "Contended", cfg, "chan", "ns/op")/ours, ">=", 1.25)
		}
	}
	check("FIFO: core+generic fifo-violations (exact benchmark, median per run)", median(rs, "FIFO", "", g, "fifo-violations"), "<=", 0)
	check("memory: core+generic B/waiter / xsync B/waiter", median(rs, "Memory", "", g, "B/waiter")/median(rs, "Memory", "", "xsync", "B/waiter"), "<=", 1)
	futex := median(rs, "Floor", "", "futex-pingpong", "ns/handoff")
	check("handoff: core+iouring p50 / raw futex ns/handoff", median(rs, "Handoff", "", "core+iouring", "p50-ns")/futex, "<=", 2)
	check("handoff: core+iouring p99 / raw futex ns/handoff", median(rs, "Handoff", "", "core+iouring", "p99-ns")/futex, "<=", 2)

	fairTargets(check, rs)
	dropInTargets(check, rs)
	iouringTargets(check, rs)
	observedTargets(check, rs)
	stripesTargets(check, rs)

	fmt.Fprintf(w, "\n  reference ratios (no target):\n")
	for _, op := range []string{"acquire", "try"} {
		cfg := "op=" + op
		ours := median(direct, "UncontendedDirect", cfg, g, "ns/op")
		info("uncontended "+op+" (direct): core+generic-Release(n) / core+generic", median(direct, "UncontendedDirect", cfg, g+"-Release(n)", "ns/op")/ours)
		info("uncontended "+op+" (direct): xsync / core+generic-Release(n)", median(direct, "UncontendedDirect", cfg, "xsync", "ns/op")/median(direct, "UncontendedDirect", cfg, g+"-Release(n)", "ns/op"))
		info("uncontended "+op+" (Sem interface): xsync / core+generic", median(rs, "Uncontended", cfg, "xsync", "ns/op")/median(rs, "Uncontended", cfg, g, "ns/op"))
	}
	info("handoff: core+iouring p99 / raw futex ns/handoff (hot ping-pong)", median(rs, "Handoff", "", "core+iouring", "p99-ns")/futex)
	info("handoff: raw futex handoff p99 (futex-threads) / raw futex ns/handoff (hot ping-pong)", median(rs, "Handoff", "", "futex-threads", "p99-ns")/futex)
	twoCore := median(rs, "Floor", "", "atomic-2core", "ns/op")
	const c2 = "g=2/permits=64/work=0"
	info("contended "+c2+": core+generic / two-core atomic floor", median(rs, "Contended", c2, g, "ns/op")/twoCore)
	info("contended "+c2+": xsync / two-core atomic floor", median(rs, "Contended", c2, "xsync", "ns/op")/twoCore)
	info("contended "+c2+" (direct, Permit.Release): core+generic / two-core floor", median(rs, "ContendedDirect", c2, g, "ns/op")/twoCore)
	info("contended "+c2+" (direct): core+generic-Release(n) / two-core floor", median(rs, "ContendedDirect", c2, g+"-Release(n)", "ns/op")/twoCore)
	info("contended "+c2+" (direct): xsync / two-core floor", median(rs, "ContendedDirect", c2, "xsync", "ns/op")/twoCore)
	for _, permits := range []string{"1", "4"} {
		for _, work := range []string{"0", "100ns"} {
			cfg := "g=32/permits=" + permits + "/work=" + work
			info("contended "+cfg+": xsync allocs/op (above 0: x/sync's queue formed)", median(cells, "Contended", cfg, "xsync", "allocs/op"))
		}
	}
}

// fairTargets checks issue 9's targets: Release never stalls its caller,
// grant shares are even, and the queue-forming cells are still faster than
// the channel and x/sync, for core+generic and the drop-in.
func fairTargets(check func(what string, got float64, op string, want float64), rs []Result) {
	callers := inScenario(rs, scCallers)
	contended := inScenario(rs, scContended)
	fairness := inScenario(rs, scFairness)
	for _, c := range []string{"core+generic", "core+generic-striped", "dropin"} {
		for _, g := range []string{"8", "32", "1024"} {
			for _, permits := range []string{"1", "4"} {
				for _, work := range []string{"0", "100ns"} {
					cfg := "g=" + g + "/permits=" + permits + "/work=" + work
					check("issue 9: callers "+cfg+": Release p99.9 "+c+" / xsync",
						median(callers, "Callers", cfg, c, "release-p99.9-ns")/median(callers, "Callers", cfg, "xsync", "release-p99.9-ns"), "<=", 2)
					if permits == "1" && g != "1024" {
						check("issue 9: callers "+cfg+": "+c+" Jain's index", median(callers, "Callers", cfg, c, "jain"), ">=", 0.95)
						check("issue 9: callers "+cfg+": "+c+" grant max/min", median(callers, "Callers", cfg, c, "grant-max/min"), "<=", 1.5)
					}
					ours := median(contended, "Contended", cfg, c, "ns/op")
					check("issue 9: contended "+cfg+": throughput "+c+" / chan", median(contended, "Contended", cfg, "chan", "ns/op")/ours, ">=", 1)
					check("issue 9: contended "+cfg+": throughput "+c+" / xsync", median(contended, "Contended", cfg, "xsync", "ns/op")/ours, ">=", 1.5)
					check("issue 9: contended "+cfg+": "+c+" allocs/op", median(contended, "Contended", cfg, c, "allocs/op"), "<=", 0)
				}
			}
		}
		for _, g := range []string{"8", "32"} {
			check("issue 9: fairness g="+g+"/permits=1: "+c+" overtaken", median(fairness, "Fairness", "g="+g+"/permits=1", c, "overtaken"), "<=", 0)
		}
	}
}
