package main

// dropInTargets checks issue 10's drop-in targets: backend-generic/semaphore
// within 1.05x of core+generic in every uncontended and contended cell, and
// core's x/sync-style Semaphore.Release(n) within 1.5x of Permit.Release
// where two goroutines take turns on one permit.
func dropInTargets(check func(what string, got float64, op string, want float64), rs []Result) {
	const g, d = "core+generic", "dropin"
	direct := inScenario(rs, scUncontendedDirect)
	for _, op := range []string{"acquire", "try"} {
		cfg := "op=" + op
		check("issue 10: uncontended "+op+" (direct): dropin / core+generic",
			median(direct, "UncontendedDirect", cfg, d, "ns/op")/median(direct, "UncontendedDirect", cfg, g, "ns/op"), "<=", 1.05)
	}
	pairs := inScenario(rs, scContendedDirect)
	for _, permits := range []string{"64", "1"} {
		cfg := "g=2/permits=" + permits + "/work=0"
		ours := median(pairs, "ContendedDirect", cfg, g, "ns/op")
		check("issue 10: contended "+cfg+" (direct): dropin / core+generic",
			median(pairs, "ContendedDirect", cfg, d, "ns/op")/ours, "<=", 1.05)
		if permits == "1" {
			check("issue 10: contended "+cfg+" (direct): core+generic-Release(n) / core+generic",
				median(pairs, "ContendedDirect", cfg, g+"-Release(n)", "ns/op")/ours, "<=", 1.5)
		}
	}
	contended := inScenario(rs, scContended)
	seen := map[string]bool{}
	for _, r := range contended {
		if r.Contender != d || seen[r.Config] {
			continue
		}
		seen[r.Config] = true
		check("issue 10: contended "+r.Config+": dropin / core+generic",
			median(contended, "Contended", r.Config, d, "ns/op")/median(contended, "Contended", r.Config, g, "ns/op"), "<=", 1.05)
	}
}
