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
