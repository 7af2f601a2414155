package main

import (
	"bufio"
	"io"
	"strconv"
	"strings"
)

// A Result is one benchmark line: its name split into the config (every
// path element but c=...) and the contender, and its metrics by unit.
type Result struct {
	Bench     string // top-level benchmark, e.g. "Contended"
	Config    string // e.g. "g=32/permits=1/work=0"
	Contender string // e.g. "core+generic"
	Metrics   map[string]float64
	Scenario  string // set by the caller: the benchreport scenario that ran it
}

// Parse reads `go test -bench` text output and returns every benchmark line
// that names a contender (c=...). Other lines are ignored.
func Parse(r io.Reader) ([]Result, error) {
	var out []Result
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		name := f[0]
		if i := strings.LastIndexByte(name, '-'); i > 0 { // strip -GOMAXPROCS
			if _, err := strconv.Atoi(name[i+1:]); err == nil {
				name = name[:i]
			}
		}
		parts := strings.Split(strings.TrimPrefix(name, "Benchmark"), "/")
		res := Result{Bench: parts[0], Metrics: map[string]float64{}}
		var cfg []string
		for _, p := range parts[1:] {
			if c, ok := strings.CutPrefix(p, "c="); ok {
				res.Contender = c
			} else {
				cfg = append(cfg, p)
			}
		}
		if res.Contender == "" {
			// Floors have no contender: their op= is the column.
			for i, p := range cfg {
				if op, ok := strings.CutPrefix(p, "op="); ok {
					res.Contender = op
					cfg = append(cfg[:i:i], cfg[i+1:]...)
					break
				}
			}
		}
		res.Config = strings.Join(cfg, "/")
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				break
			}
			res.Metrics[f[i+1]] = v
		}
		out = append(out, res)
	}
	return out, sc.Err()
}
