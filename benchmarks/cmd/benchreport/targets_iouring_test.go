package main

import (
	"strings"
	"testing"
)

// TestIouringTargetsCoverEveryCellAndTheSameShapeFloor: every cell in which
// core+iouring and xsync both ran gets its own issue-10 line (so a losing
// cell in any scenario is reported), and the handoff p99 is read against
// the futex-threads handoff, not the hot ping-pong.
func TestIouringTargetsCoverEveryCellAndTheSameShapeFloor(t *testing.T) {
	res := func(scenario, bench, config, contender string, m map[string]float64) Result {
		return Result{Bench: bench, Config: config, Contender: contender, Metrics: m, Scenario: scenario}
	}
	ns := func(v float64) map[string]float64 { return map[string]float64{"ns/op": v} }
	rs := []Result{
		res(scContended, "Contended", "g=1024/permits=1/work=0", "xsync", ns(500)),
		res(scContended, "Contended", "g=1024/permits=1/work=0", "core+iouring", ns(1000)),
		res("weighted 1..16 on 64 permits", "Weighted", "g=8/permits=64/n=1..16", "xsync", ns(300)),
		res("weighted 1..16 on 64 permits", "Weighted", "g=8/permits=64/n=1..16", "core+iouring", ns(150)),
		res("handoff latency", "Handoff", "", "core+iouring", map[string]float64{"p99-ns": 30000, "ns/op": 1}),
		res("handoff latency", "Handoff", "", "futex-threads", map[string]float64{"p99-ns": 10000}),
		res("floors", "Floor", "", "futex-pingpong", map[string]float64{"ns/handoff": 1000}),
		res("weighted 1..16 on 64 permits", "Weighted", "g=8/permits=64/n=1..16", "core+iocp", ns(600)),
	}
	var out strings.Builder
	iouringTargets(func(what string, got float64, op string, want float64) {
		verdict := "holds"
		if (op == ">=" && got < want) || (op == "<=" && got > want) {
			verdict = "MISSED"
		}
		out.WriteString(what + " " + verdict + "\n")
	}, rs)
	for _, want := range []string{
		"issue 10: Contended g=1024/permits=1/work=0: throughput core+iouring / xsync MISSED",
		"issue 10: Weighted g=8/permits=64/n=1..16: throughput core+iouring / xsync holds",
		"issue 10: Weighted g=8/permits=64/n=1..16: throughput core+iocp / xsync MISSED",
		"issue 10: handoff: core+iouring p99 / raw futex handoff p99 (futex-threads) holds", // 3x, not 30x
	} {
		if !strings.Contains(out.String(), want+"\n") {
			t.Errorf("iouringTargets output lacks %q; got:\n%s", want, out.String())
		}
	}
	if strings.Count(out.String(), "\n") != 4 {
		t.Errorf("iouringTargets printed %d lines, want 4 (three cells and the handoff); got:\n%s", strings.Count(out.String(), "\n"), out.String())
	}
}
