package main

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
)

// medianSpread returns the median of xs and half their range, the
// "± spread" of the tables. It returns NaN, NaN for no values.
func medianSpread(xs []float64) (median, spread float64) {
	if len(xs) == 0 {
		return math.NaN(), math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		median = s[n/2]
	} else {
		median = (s[n/2-1] + s[n/2]) / 2
	}
	return median, (s[n-1] - s[0]) / 2
}

// Cell is the summary of one (config, contender, metric).
type Cell struct {
	Median, Spread float64
	N              int
}

// Table is one scenario's results: configs in first-seen order, contenders
// in first-seen order, and a cell per (config, contender, metric).
type Table struct {
	Configs, Contenders []string
	cells               map[[3]string]Cell
}

// Summarize groups results into a Table.
func Summarize(rs []Result) *Table {
	t := &Table{cells: map[[3]string]Cell{}}
	vals := map[[3]string][]float64{}
	for _, r := range rs {
		if !slices.Contains(t.Configs, r.Config) {
			t.Configs = append(t.Configs, r.Config)
		}
		if !slices.Contains(t.Contenders, r.Contender) {
			t.Contenders = append(t.Contenders, r.Contender)
		}
		for unit, v := range r.Metrics {
			k := [3]string{r.Config, r.Contender, unit}
			vals[k] = append(vals[k], v)
		}
	}
	for k, v := range vals {
		m, s := medianSpread(v)
		t.cells[k] = Cell{m, s, len(v)}
	}
	return t
}

// Get returns the cell for (config, contender, unit).
func (t *Table) Get(config, contender, unit string) (Cell, bool) {
	c, ok := t.cells[[3]string{config, contender, unit}]
	return c, ok
}

// Write prints unit's medians ± spread for every config and contender, each
// followed by its ratio to the baseline contender in the same config. With
// higherIsWorse (times, latencies, bytes), the ratio is baseline/contender,
// so above 1 means better than the baseline (for ns/op: that many times the
// baseline's throughput); otherwise contender/baseline.
func (t *Table) Write(w io.Writer, unit, baseline string, higherIsWorse bool) {
	has := false
	for _, cfg := range t.Configs {
		for _, c := range t.Contenders {
			if _, ok := t.Get(cfg, c, unit); ok {
				has = true
			}
		}
	}
	if !has {
		return
	}
	ratioNote := "ratio = " + baseline + "/contender (above 1: better than " + baseline + ")"
	if !higherIsWorse {
		ratioNote = "ratio = contender/" + baseline
	}
	fmt.Fprintf(w, "\n  %s: median ± half-range, [%s]\n", unit, ratioNote)
	cfgW := len("config")
	for _, cfg := range t.Configs {
		cfgW = max(cfgW, len(cfg))
	}
	const colW = 24
	fmt.Fprintf(w, "  %-*s", cfgW, "config")
	for _, c := range t.Contenders {
		fmt.Fprintf(w, " | %-*s", colW, c)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "  %s", strings.Repeat("-", cfgW))
	for range t.Contenders {
		fmt.Fprintf(w, "-+-%s", strings.Repeat("-", colW))
	}
	fmt.Fprintln(w)
	for _, cfg := range t.Configs {
		fmt.Fprintf(w, "  %-*s", cfgW, cfg)
		base, hasBase := t.Get(cfg, baseline, unit)
		for _, c := range t.Contenders {
			cell, ok := t.Get(cfg, c, unit)
			s := "-"
			if ok {
				s = fmt.Sprintf("%s ±%s", num(cell.Median), num(cell.Spread))
				if hasBase && base.Median != 0 && cell.Median != 0 {
					r := cell.Median / base.Median
					if higherIsWorse {
						r = base.Median / cell.Median
					}
					s += fmt.Sprintf(" [%.2fx]", r)
				}
			}
			fmt.Fprintf(w, " | %-*s", colW, s)
		}
		fmt.Fprintln(w)
	}
}

// num formats a value compactly.
func num(v float64) string {
	switch a := math.Abs(v); {
	case a == 0:
		return "0"
	case a >= 1e6:
		return fmt.Sprintf("%.3gM", v/1e6)
	case a >= 1e4:
		return fmt.Sprintf("%.3gk", v/1e3)
	case a >= 100:
		return fmt.Sprintf("%.0f", v)
	case a >= 1:
		return fmt.Sprintf("%.3g", v)
	default:
		return fmt.Sprintf("%.2g", v)
	}
}
