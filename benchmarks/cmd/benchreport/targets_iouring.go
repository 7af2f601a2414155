package main

// iouringTargets checks issue 10's kernel-backend targets: core+iouring at
// least level with x/sync in every cell of every scenario that ran both
// (throughput, ns/op), and its handoff p99 within 4x the raw futex floor of
// the same shape (c=futex-threads in BenchmarkHandoff: two locked OS
// threads, the waiter asleep in FUTEX_WAIT when the releaser wakes it). The
// p99 against the hot ping-pong floor is printed as a reference by Targets.
// core+iocp gets the same throughput lines where it ran (Windows only; none
// on Linux, where the table has no such lines).
func iouringTargets(check func(what string, got float64, op string, want float64), rs []Result) {
	kernelCellTargets(check, rs, "core+iouring")
	kernelCellTargets(check, rs, "core+iocp")
	const u = "core+iouring"
	check("issue 10: handoff: core+iouring p99 / raw futex handoff p99 (futex-threads)",
		median(rs, "Handoff", "", u, "p99-ns")/median(rs, "Handoff", "", "futex-threads", "p99-ns"), "<=", 4)
}

// kernelCellTargets checks contender u against x/sync in every cell where
// both ran (ns/op, at least level).
func kernelCellTargets(check func(what string, got float64, op string, want float64), rs []Result, u string) {
	type cell struct{ scenario, bench, config string }
	var cells []cell
	seen := map[cell]bool{}
	for _, r := range rs {
		c := cell{r.Scenario, r.Bench, r.Config}
		if r.Contender != u || seen[c] || r.Bench == "Handoff" {
			continue
		}
		if _, ok := r.Metrics["ns/op"]; !ok {
			continue
		}
		seen[c] = true
		cells = append(cells, c)
	}
	for _, c := range cells {
		in := inScenario(rs, c.scenario)
		name := c.bench
		if c.config != "" {
			name += " " + c.config
		}
		check("issue 10: "+name+": throughput "+u+" / xsync",
			median(in, c.bench, c.config, "xsync", "ns/op")/median(in, c.bench, c.config, u, "ns/op"), ">=", 1)
	}
}
