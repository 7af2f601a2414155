package main

import (
	"strings"
	"testing"
)

func TestParseSplitsConfigContenderAndMetrics(t *testing.T) {
	in := `goos: linux
BenchmarkContended/g=32/permits=1/work=0/c=core+generic-2   	  200000	        61.5 ns/op	     420 wait-p99-ns	       0 B/op	       0 allocs/op
BenchmarkFloor/op=chan-pingpong-2    	   20000	       570.1 ns/op	       285.0 ns/handoff
benchmarks: contender core+iouring skipped: nope
PASS
`
	got, err := Parse(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("Parse returned %d results, want 2: %+v", len(got), got)
	}
	c := got[0]
	if c.Bench != "Contended" || c.Config != "g=32/permits=1/work=0" || c.Contender != "core+generic" {
		t.Errorf("first result = %q %q %q, want Contended g=32/permits=1/work=0 core+generic", c.Bench, c.Config, c.Contender)
	}
	if c.Metrics["ns/op"] != 61.5 || c.Metrics["wait-p99-ns"] != 420 || c.Metrics["allocs/op"] != 0 {
		t.Errorf("first metrics = %v", c.Metrics)
	}
	f := got[1]
	if f.Bench != "Floor" || f.Contender != "chan-pingpong" || f.Config != "" || f.Metrics["ns/handoff"] != 285 {
		t.Errorf("floor result = %+v", f)
	}
}

func TestMedianAndSpread(t *testing.T) {
	m, sp := medianSpread([]float64{10, 12, 11})
	if m != 11 || sp != 1 {
		t.Fatalf("medianSpread(10,12,11) = %v, %v, want 11, 1", m, sp)
	}
	m, _ = medianSpread([]float64{1, 2, 3, 4})
	if m != 2.5 {
		t.Fatalf("median(1..4) = %v, want 2.5", m)
	}
}

func TestTargetsReadTheirOwnScenarioOnly(t *testing.T) {
	res := func(scenario, contender string, ns float64) Result {
		return Result{Bench: "Contended", Config: "g=32/permits=4/work=0", Contender: contender,
			Metrics: map[string]float64{"ns/op": ns}, Scenario: scenario}
	}
	rs := []Result{
		// The grid run says core is 10x x/sync; the target cells say 2x.
		res("contended (empty and 100ns critical sections)", "xsync", 1000),
		res("contended (empty and 100ns critical sections)", "core+generic", 100),
		res(scTargetCells, "xsync", 200),
		res(scTargetCells, "core+generic", 100),
		res(scTargetCells, "chan", 100),
	}
	var out strings.Builder
	Targets(&out, rs)
	var line string
	for _, l := range strings.Split(out.String(), "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "contended g=32/permits=4/work=0: throughput core+generic / xsync") {
			line = l
		}
	}
	if !strings.Contains(line, " 2 >= 3") || !strings.HasSuffix(line, "MISSED") {
		t.Fatalf("target line = %q, want the target cells' ratio 2, MISSED", line)
	}
}
