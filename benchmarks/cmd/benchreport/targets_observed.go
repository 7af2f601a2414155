package main

// observedTargets checks issue 11's cost of observing a Semaphore: without
// an Observer the uncontended cycle stays within 1.25x of the atomic floor;
// with one, within 1.5x of without; neither allocates; and with the
// OpenTelemetry instrumentation attached, each issue-2 contended cell stays
// within 1.2x of without.
func observedTargets(check func(what string, got float64, op string, want float64), rs []Result) {
	const g = "core+generic"
	obs := inScenario(rs, scObservedUncontended)
	unobserved := median(obs, "ObservedUncontended", "", g, "ns/op")
	check("observed: uncontended core+generic / atomic floor (no Observer)", unobserved/median(obs, "ObservedUncontended", "", "atomic", "ns/op"), "<=", 1.25)
	check("observed: uncontended core+generic+observed / core+generic", median(obs, "ObservedUncontended", "", g+"+observed", "ns/op")/unobserved, "<=", 1.5)
	check("observed: uncontended core+generic+observed allocs/op", median(obs, "ObservedUncontended", "", g+"+observed", "allocs/op"), "<=", 0)
	cells := inScenario(rs, scObservedContended)
	for _, permits := range []string{"1", "4"} {
		for _, work := range []string{"0", "100ns"} {
			cfg := "g=32/permits=" + permits + "/work=" + work
			check("observed: contended "+cfg+": core+generic+otel / core+generic", median(cells, "ObservedContended", cfg, g+"+otel", "ns/op")/median(cells, "ObservedContended", cfg, g, "ns/op"), "<=", 1.2)
		}
	}
}
