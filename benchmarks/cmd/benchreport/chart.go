package main

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// Charts draws, for every permits/work pair of the Contended table, the
// throughput (million ops/s) and the p99 Acquire wait (us) against the
// goroutine count, one line per contender, as SVG and PNG files in dir. It
// returns the files written.
func Charts(t *Table, dir string) ([]string, error) {
	// Group configs "g=G/permits=P/work=W" by "permits=P/work=W".
	groups := map[string][]string{}
	var order []string
	for _, cfg := range t.Configs {
		g, rest, ok := strings.Cut(cfg, "/")
		if !ok || !strings.HasPrefix(g, "g=") {
			continue
		}
		if _, seen := groups[rest]; !seen {
			order = append(order, rest)
		}
		groups[rest] = append(groups[rest], cfg)
	}
	var files []string
	for _, rest := range order {
		for _, kind := range []struct {
			file, title, ylabel, unit string
			f                         func(float64) float64
		}{
			{"throughput", "throughput", "million Acquire+Release per second", "ns/op", func(ns float64) float64 { return 1e3 / ns }},
			{"p99", "p99 time in Acquire", "p99 wait (microseconds)", "wait-p99-ns", func(ns float64) float64 { return ns / 1e3 }},
		} {
			p := plot.New()
			p.Title.Text = fmt.Sprintf("%s, %s (GOMAXPROCS=2)", kind.title, strings.ReplaceAll(rest, "/", ", "))
			p.X.Label.Text = "goroutines"
			p.Y.Label.Text = kind.ylabel
			p.X.Scale = plot.LogScale{}
			p.X.Tick.Marker = plot.LogTicks{Prec: -1}
			p.Legend.Top = true
			var lines []any
			for _, c := range t.Contenders {
				var xy plotter.XYs
				for _, cfg := range groups[rest] {
					cell, ok := t.Get(cfg, c, kind.unit)
					if !ok || cell.Median <= 0 {
						continue
					}
					g, _ := strconv.Atoi(strings.TrimPrefix(strings.SplitN(cfg, "/", 2)[0], "g="))
					xy = append(xy, plotter.XY{X: float64(g), Y: kind.f(cell.Median)})
				}
				if len(xy) > 0 {
					lines = append(lines, c, xy)
				}
			}
			if len(lines) == 0 {
				continue
			}
			if err := plotutil.AddLinePoints(p, lines...); err != nil {
				return files, err
			}
			base := filepath.Join(dir, kind.file+"_"+strings.NewReplacer("/", "_", "=", "", "µ", "u").Replace(rest))
			for _, ext := range []string{".svg", ".png"} {
				if err := p.Save(7*vg.Inch, 4.5*vg.Inch, base+ext); err != nil {
					return files, err
				}
				files = append(files, base+ext)
			}
		}
	}
	return files, nil
}
