// Command overload drives each adaptive limiter, two fixed limits and
// failsafe-go's adaptive limiter in front of a simulated service whose
// capacity halves and then doubles back, under open-loop arrivals at
// 0.5x, 1x, 2x and 4x its capacity, in real time. It prints one table per
// load (goodput, latency of admitted work, refusals, the time the limit
// took to settle after each capacity change) and the verdict on the
// claims of README.md, and writes them to overload.txt with charts of the
// limit and the latency over time (SVG and PNG) in the output directory.
//
// Usage, from the benchmarks module:
//
//	go run ./cmd/overload [-out results] [-loads 0.5,1,2,4] [-only substring]
//	    [-base 20ms] [-capacity 64] [-phase 3s] [-settle 2s]
//
// -base and -capacity set the service (its timeout is 3 × base, each
// caller's deadline 5 × base), -phase the length of each of the three
// phases (capacity C, C/2, C), -settle the settle target (each phase is
// measured as settled from this long after its start).
//
// A missed claim is reported, not an exit status: this is a real-time
// benchmark and its numbers are only as quiet as the machine.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/compio-sync/gosync/benchmarks/internal/runinfo"
)

func main() {
	out := flag.String("out", "results", "directory for overload.txt and the charts")
	base := flag.Duration("base", 20*time.Millisecond, "the service's latency up to its capacity")
	capacity := flag.Int("capacity", 64, "the service's nominal capacity (requests in flight)")
	phase := flag.Duration("phase", 3*time.Second, "the length of each of the three phases (capacity C, C/2, C)")
	settleBound := flag.Duration("settle", 2*time.Second, "the settle target; each phase is measured as settled from this long after it starts")
	loadList := flag.String("loads", "0.5,1,2,4", "offered loads, as multiples of the capacity in force")
	only := flag.String("only", "", "run only the contenders whose name contains this")
	count := flag.Int("count", 4, "how many times each adaptive contender (ours and failsafe-go) runs each load; the fixed limits run once")
	flag.Parse()
	if *capacity < 2 || *base <= 0 || *phase <= 0 || *count < 1 {
		fail("overload: want -capacity >= 2, a positive -base and -phase, and -count >= 1")
	}
	var loads []float64
	for _, f := range strings.Split(*loadList, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil || v <= 0 {
			fail("overload: -loads: %q is not a positive number", f)
		}
		loads = append(loads, v)
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		fail("overload: %v", err)
	}
	plan := Plan{
		Base:           *base,
		ServiceTimeout: 3 * *base,
		Deadline:       5 * *base,
		Phases:         []Phase{{*capacity, *phase}, {*capacity / 2, *phase}, {*capacity, *phase}},
		SettleBound:    *settleBound,
		SampleEvery:    5 * time.Millisecond,
	}
	set := settings{base: *base, capacity: *capacity}
	var cs []contender
	for _, c := range contenders(set) {
		if strings.Contains(c.name, *only) {
			cs = append(cs, c)
		}
	}
	start := time.Now()
	cellsPerLoad := 0
	for _, c := range cs {
		cellsPerLoad++
		if c.adaptive() {
			cellsPerLoad += *count - 1
		}
	}
	fmt.Printf("overload: %d contenders x %d loads (the adaptive ones %d times), %s each (about %s), GOMAXPROCS=%d\n",
		len(cs), len(loads), *count, plan.Length(), (time.Duration(cellsPerLoad*len(loads))*plan.Length() + time.Second).Round(time.Second), runtime.GOMAXPROCS(0))

	// The unloaded latency: a quarter of the capacity, nothing in the way.
	cal := Plan{Base: plan.Base, ServiceTimeout: plan.ServiceTimeout, Deadline: plan.Deadline,
		Phases: []Phase{{*capacity, time.Second}}, SampleEvery: time.Second}
	calReqs, _, _ := runCell(cal, newFixed(1<<20), arrivals(cal, 0.25, rand.New(rand.NewPCG(0, 1))))
	var calLat []time.Duration
	for _, r := range calReqs {
		calLat = append(calLat, r.Latency)
	}
	unloaded := quantile(calLat, 0.50)
	fmt.Printf("unloaded latency (p50 at 0.25x, no limiter): %s, p99 %s\n", ms3(unloaded), ms3(quantile(calLat, 0.99)))

	var cells []Cell
	var ms []Metrics
	for _, load := range loads {
		// Every contender at a load sees the same arrivals, in every count.
		// The counts take turns, so that a slow stretch of the machine
		// falls on every contender alike.
		calls := arrivals(plan, load, rand.New(rand.NewPCG(uint64(load*1000), 2)))
		runs := map[string][]Metrics{}
		for k := range *count {
			for _, c := range cs {
				if k > 0 && !c.adaptive() {
					continue
				}
				fmt.Printf("  %-12s at %gx, count %d: %d calls (%s elapsed)\n", c.name, load, k+1, len(calls), time.Since(start).Round(time.Second))
				reqs, limits, lag := runCell(plan, c.build(set), calls)
				cell := Cell{Contender: c.name, Ours: c.ours, Load: load, Requests: reqs, Limits: limits, MaxLag: lag}
				if k == 0 {
					cells = append(cells, cell) // the charts draw the first count
				}
				runs[c.name] = append(runs[c.name], Summarize(plan, cell))
			}
		}
		for _, c := range cs {
			ms = append(ms, MedianOf(runs[c.name]))
		}
	}

	var report bytes.Buffer
	w := io.MultiWriter(os.Stdout, &report)
	fmt.Fprintf(w, "\nRun: %s, GOMAXPROCS=%d, %s, %s.\n", runinfo.Commit(), runtime.GOMAXPROCS(0), runinfo.Machine(), time.Now().Format("2006-01-02"))
	fmt.Fprintf(w, "Service: capacity %d, then %d, then %d, %s each; latency %s up to the capacity, base x inflight/capacity past it; the service times out at %s; each caller's deadline %s from its call. Unloaded latency %s.\n",
		plan.Phases[0].Capacity, plan.Phases[1].Capacity, plan.Phases[2].Capacity, *phase, plan.Base, plan.ServiceTimeout, plan.Deadline, ms3(unloaded))
	fmt.Fprintf(w, "Counts: each adaptive contender (ours and failsafe-go) ran each load %d times, taking turns; its row is the median of the counts, field by field, its charts the first count. The fixed limits ran once.\n", *count)
	fmt.Fprintf(w, "\nClaims (adaptive limiters: aimd, vegas, gradient2):\n")
	WriteClaims(w, Claims(ms, unloaded, plan.SettleBound))
	WriteTables(w, plan, ms)
	files, err := Charts(plan, cells, unloaded, *out)
	if err != nil {
		fmt.Fprintf(os.Stderr, "overload: charts: %v\n", err)
	}
	if err := os.WriteFile(filepath.Join(*out, "overload.txt"), report.Bytes(), 0o644); err != nil {
		fail("overload: %v", err)
	}
	fmt.Printf("\noverload: done in %s; wrote %s and %d charts\n", time.Since(start).Round(time.Second), filepath.Join(*out, "overload.txt"), len(files))
}

// WriteTables prints one table per load.
func WriteTables(w io.Writer, p Plan, ms []Metrics) {
	last := -1.0
	for _, m := range ms {
		if m.Load != last {
			last = m.Load
			fmt.Fprintf(w, "\n## %gx load (%d calls)\n", m.Load, m.Offered)
			fmt.Fprintf(w, "%-12s %8s %8s %8s %8s %8s %8s %6s %7s %8s %9s %8s", "contender", "good/off", "good/cap", "p50", "p99", "st.p50", "st.p99",
				"shed", "expired", "timedout", "abandoned", "max lag")
			for i := 1; i < len(p.Phases); i++ {
				fmt.Fprintf(w, " %12s", fmt.Sprintf("settle->%d", p.Phases[i].Capacity))
			}
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "%-12s %8.4f %8.3f %8s %8s %8s %8s %6d %7d %8d %9d %8s", m.Contender, m.GoodputOffered, m.SteadyGoodputCapacity,
			ms3(m.P50), ms3(m.P99), ms3(m.SteadyP50), ms3(m.SteadyP99), m.Shed, m.Expired, m.TimedOut, m.Abandoned, ms3(m.MaxLag))
		for _, s := range m.Settles {
			v := "never"
			if s.OK {
				v = s.Time.Round(time.Millisecond).String()
			}
			fmt.Fprintf(w, " %12s", v)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, `
good/off: requests the service answered within their deadline, over the requests offered (the whole run).
good/cap: the same, counted in the settled windows (each phase from %s after its start), over what the capacity in force could serve in them.
p50, p99: latency of admitted work, from the call (before the limiter) until it returned, over the whole run; st.p50, st.p99: in the settled windows.
shed: refused by the limiter, at once or when its own wait bound passed (a tenth of the base latency, for failsafe-go and ours); expired: its deadline passed while queued; timedout: the service gave up; abandoned: admitted, deadline passed first.
max lag: the latest an arrival started after its scheduled time; tens of milliseconds mean the process stalled and the cell is noise.
settle->C: time from the capacity change to C until the limit entered [%.2f, %.2f] x C and stayed there to the phase's end (sampled every %s); never: still out at the end.
`, p.SettleBound, Band.Lo, Band.Hi, p.SampleEvery)
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
	os.Exit(1)
}
