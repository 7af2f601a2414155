package main

// stripesTargets checks issue 10's plentiful-permit targets (item 1, the
// striped fast path) for core+generic and for core+generic-striped (core
// created WithStripes): in each cell, throughput at least 1.5x x/sync and
// 1.2x the buffered channel; and two goroutines on 64 permits within 1.5x
// the one-goroutine cost of the same contender (both through the Sem
// interface).
func stripesTargets(check func(what string, got float64, op string, want float64), rs []Result) {
	contended := inScenario(rs, scContended)
	var cells []string
	for _, work := range []string{"0", "100ns"} {
		cells = append(cells, "g=2/permits=4/work="+work, "g=32/permits=4/work="+work)
		for _, g := range []string{"2", "8", "32", "128", "1024"} {
			cells = append(cells, "g="+g+"/permits=64/work="+work)
		}
	}
	for _, c := range []string{"core+generic", "core+generic-striped"} {
		for _, cfg := range cells {
			ours := median(contended, "Contended", cfg, c, "ns/op")
			check("issue 10: contended "+cfg+": throughput "+c+" / xsync", median(contended, "Contended", cfg, "xsync", "ns/op")/ours, ">=", 1.5)
			check("issue 10: contended "+cfg+": throughput "+c+" / chan", median(contended, "Contended", cfg, "chan", "ns/op")/ours, ">=", 1.2)
		}
		one := median(inScenario(rs, scUncontended), "Uncontended", "op=acquire", c, "ns/op")
		check("issue 10: contended g=2/permits=64/work=0: "+c+" / its uncontended cost", median(contended, "Contended", "g=2/permits=64/work=0", c, "ns/op")/one, "<=", 1.5)
	}
}
