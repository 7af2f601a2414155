// Command benchreport runs gosync's comparison benchmarks with fixed
// iteration counts, prints each scenario as it starts and then a table per
// scenario with every contender as a ratio to x/sync's Weighted measured in
// the same run, and ends with the verdict: every cell in which the default
// Semaphore (core+generic) or the drop-in is slower than a buffered channel
// or x/sync, and README.md's claims checked against this run. It writes
// tables.txt (the verdict first, then the tables), raw.txt, benchstat.txt
// and throughput and p99-latency charts (SVG and PNG).
//
// Usage, from the benchmarks module:
//
//	go run ./cmd/benchreport [-profile quick|full] [-out results] [-cpu 2] [-only substring]
//
// It exits 1 if a benchmark run fails; a losing cell or a missed claim is
// reported, not an exit status (the numbers are noisy; see README.md).
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/compio-sync/gosync/benchmarks/internal/runinfo"
)

// A Scenario is one `go test -bench` invocation.
type Scenario struct {
	Name  string
	Bench string // -test.bench regexp
	N     int    // -test.benchtime=Nx
	Count int    // -test.count
	Units []unit // tables to print
}

type unit struct {
	name          string
	higherIsWorse bool
}

var (
	timeUnit   = unit{"ns/op", true}
	allocUnit  = unit{"allocs/op", true}
	waitP99    = unit{"wait-p99-ns", true}
	handoffP50 = unit{"p50-ns", true}
	handoffP99 = unit{"p99-ns", true}
	handoffMax = unit{"max-ns", true}
)

// scenarios returns the runs of a profile, every one the median of at
// least 5 counts. quick is estimated at about 3 minutes on 2 cores (the
// same iterations at 3 counts took 2m13s; limit 5 minutes); full doubles
// the iterations and takes 10 counts, enough for benchstat's significance
// tests.
func scenarios(profile string) []Scenario {
	k := map[string]int{"quick": 5, "full": 10}[profile]
	scale := map[string]int{"quick": 1, "full": 2}[profile]
	return []Scenario{
		{"floors", "^BenchmarkFloor$", 200000 * scale, k, []unit{timeUnit, {"ns/handoff", true}}},
		{"uncontended, APIs called directly", "^BenchmarkUncontendedDirect$", 2000000 * scale, k, []unit{timeUnit, allocUnit}},
		{"uncontended through the Sem interface (includes one dynamic call per operation)", "^BenchmarkUncontended$", 2000000 * scale, k, []unit{timeUnit, allocUnit}},
		{"two goroutines, 64 and 1 permits, empty critical section, APIs called directly", "^BenchmarkContendedDirect$", 200000 * scale, k, []unit{timeUnit, allocUnit}},
		{"contended (empty and 100ns critical sections)", "^BenchmarkContended$/g=.*/permits=.*/work=(0|100ns)$", 100000 * scale, k, []unit{timeUnit, waitP99, allocUnit}},
		{"contended (10us critical section)", "^BenchmarkContended$/g=.*/permits=.*/work=10µs$", 3000 * scale, k, []unit{timeUnit, waitP99}},
		{"weighted 1..16 on 64 permits", "^BenchmarkWeighted$", 50000 * scale, k, []unit{timeUnit, waitP99, allocUnit}},
		{"cancellation-heavy", "^BenchmarkCancel$", 30000 * scale, k, []unit{timeUnit, {"cancelled-frac", false}, allocUnit}},
		{"handoff latency", "^BenchmarkHandoff$", 1000 * scale, k, []unit{handoffP50, handoffP99, handoffMax}},
		{"FIFO order (exact, queued waiters plus a barger)", "^BenchmarkFIFO$", 20 * scale, k, []unit{{"fifo-violations", true}}},
		{"fairness window (1 permit)", "^BenchmarkFairness$", 200000 * scale, k, []unit{{"grant-max/min", true}, {"jain", false}, {"overtaken", true}, {"starved", true}, timeUnit}},
		{"what callers feel: Release latency, cycle time and grant shares", "^BenchmarkCallers$", 200000 * scale, k, []unit{{"release-p50-ns", true}, {"release-p99-ns", true}, {"release-p99.9-ns", true}, {"cycle-p99-ns", true}, {"jain", false}, {"grant-max/min", true}}},
		{"observed vs unobserved Semaphore, uncontended", "^BenchmarkObservedUncontended$", 2000000 * scale, k, []unit{timeUnit, allocUnit}},
		{"observed vs unobserved Semaphore, 32 goroutines on 1 and 4 permits", "^BenchmarkObservedContended$", 200000 * scale, k, []unit{timeUnit, waitP99, allocUnit}},
		{"Event wake-all vs a closed channel", "^BenchmarkEventWakeAll$", 3000 * scale, k, []unit{timeUnit, {"ns/waiter", true}, allocUnit}},
		{"Cond signal vs sync.Cond", "^BenchmarkCondSignal$", 200000 * scale, k, []unit{timeUnit, allocUnit}},
		{"memory per parked waiter (10k parked)", "^BenchmarkMemory$", 1, k, []unit{{"B/waiter", true}, {"allocs/waiter", true}}},
	}
}

func main() {
	profile := flag.String("profile", "quick", "quick (about 3 minutes on 2 cores) or full (benchstat-grade counts)")
	out := flag.String("out", "results", "directory for raw output, tables, benchstat and charts")
	cpu := flag.Int("cpu", 2, "GOMAXPROCS for the benchmarks (the claims assume 2)")
	only := flag.String("only", "", "run only scenarios whose name contains this")
	flag.Parse()
	if *profile != "quick" && *profile != "full" {
		fail("benchreport: -profile must be quick or full, not %q", *profile)
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		fail("benchreport: %v", err)
	}
	abs, _ := filepath.Abs(*out)
	fmt.Printf("benchreport: profile %s, GOMAXPROCS=%d, writing to %s\n", *profile, *cpu, abs)

	bin := filepath.Join(abs, "benchmarks.test")
	build := exec.Command("go", "test", "-c", "-o", bin, ".")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fail("benchreport: building the benchmarks: %v", err)
	}

	start := time.Now()
	raw, err := os.Create(filepath.Join(abs, "raw.txt"))
	if err != nil {
		fail("benchreport: %v", err)
	}
	defer raw.Close()
	var report bytes.Buffer
	w := io.MultiWriter(os.Stdout, &report)
	var all []Result
	tables := map[string]*Table{}
	for _, sc := range scenarios(*profile) {
		if *only != "" && !strings.Contains(sc.Name, *only) {
			continue
		}
		fmt.Printf("\n=== %s: -bench '%s' -benchtime=%dx -count=%d (%s elapsed)\n", sc.Name, sc.Bench, sc.N, sc.Count, time.Since(start).Round(time.Second))
		var buf bytes.Buffer
		cmd := exec.Command(bin, "-test.run", "^$", "-test.bench", sc.Bench,
			"-test.benchtime", fmt.Sprintf("%dx", sc.N), "-test.count", fmt.Sprint(sc.Count),
			"-test.cpu", fmt.Sprint(*cpu), "-test.timeout", "30m")
		cmd.Dir = "."
		cmd.Stdout = io.MultiWriter(&buf, raw)
		cmd.Stderr = os.Stderr
		if err := cmd.Run(); err != nil {
			os.Stdout.Write(buf.Bytes())
			fail("benchreport: scenario %q failed: %v", sc.Name, err)
		}
		rs, err := Parse(&buf)
		if err != nil {
			fail("benchreport: parsing %q: %v", sc.Name, err)
		}
		for i := range rs {
			rs[i].Scenario = sc.Name
		}
		all = append(all, rs...)
		t := Summarize(rs)
		tables[sc.Name] = t
		fmt.Fprintf(w, "\n## %s (-benchtime=%dx, median of %d)\n", sc.Name, sc.N, sc.Count)
		for _, line := range strings.Split(buf.String(), "\n") {
			if strings.Contains(line, "skipped:") {
				fmt.Fprintln(w, "  "+line)
			}
		}
		for _, u := range sc.Units {
			t.Write(w, u.name, baseline(t), u.higherIsWorse)
		}
	}
	var files []string
	for name, t := range tables {
		if strings.HasPrefix(name, "contended") {
			fs, err := Charts(t, abs)
			if err != nil {
				fmt.Fprintf(os.Stderr, "benchreport: charts: %v\n", err)
			}
			files = append(files, fs...)
		}
	}
	bs := exec.Command("go", "tool", "benchstat", "-col", "/c", filepath.Join(abs, "raw.txt"))
	if res, err := bs.Output(); err == nil {
		os.WriteFile(filepath.Join(abs, "benchstat.txt"), res, 0o644)
	} else {
		fmt.Fprintf(os.Stderr, "benchreport: go tool benchstat: %v\n", err)
	}

	header := fmt.Sprintf("Run: %s, profile %s, GOMAXPROCS=%d, %s, %s.", runinfo.Commit(), *profile, *cpu, runinfo.Machine(), time.Now().Format("2006-01-02"))
	if *only != "" {
		header += fmt.Sprintf(" Only the scenarios whose name contains %q ran.", *only)
	}
	var verdict bytes.Buffer
	Verdict(&verdict, all, header)
	fmt.Printf("\n%s", verdict.Bytes())
	verdict.WriteString("\n")
	verdict.Write(report.Bytes())
	if err := os.WriteFile(filepath.Join(abs, "tables.txt"), verdict.Bytes(), 0o644); err != nil {
		fail("benchreport: %v", err)
	}
	fmt.Printf("\nbenchreport: done in %s; in %s: tables.txt (this verdict, then the tables), raw.txt, "+
		"benchstat.txt (benchstat -col /c: every contender against xsync, with significance), %d charts\n",
		time.Since(start).Round(time.Second), abs, len(files))
}

// baseline returns the column ratios are taken against: xsync when present
// (every scenario but the floors), else the first column.
func baseline(t *Table) string {
	for _, c := range t.Contenders {
		if c == "xsync" {
			return c
		}
	}
	if len(t.Contenders) > 0 {
		return t.Contenders[0]
	}
	return ""
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
	os.Exit(1)
}
