package main

import (
	"fmt"
	"image/color"
	"path/filepath"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// latencyBucket is the width of the buckets of the latency chart.
const latencyBucket = 100 * time.Millisecond

// Charts draws, for every load, the limit over time (with the capacity in
// force as a dashed line) and the p99 latency of admitted work per
// 100 ms of calls (with the target, 1.5x the unloaded latency, dashed),
// one line per contender, as SVG and PNG files in dir (a p99 above the
// deadline, which only a stalled process shows, is drawn at the top). A contender whose
// limit stays above the chart (the fixed limit set too high) is named in
// the title instead. It returns the files written.
func Charts(p Plan, cells []Cell, unloaded time.Duration, dir string) ([]string, error) {
	var loads []float64
	byLoad := map[float64][]Cell{}
	for _, c := range cells {
		if _, ok := byLoad[c.Load]; !ok {
			loads = append(loads, c.Load)
		}
		byLoad[c.Load] = append(byLoad[c.Load], c)
	}
	top := 0
	for _, ph := range p.Phases {
		top = max(top, ph.Capacity)
	}
	yMax := 2.5 * float64(top)
	var files []string
	for _, load := range loads {
		// The limit.
		lp := plot.New()
		lp.X.Label.Text = "seconds"
		lp.Y.Label.Text = "limit"
		lp.Legend.Top = true
		var lines []any
		var above []string
		for _, c := range byLoad[load] {
			var xy plotter.XYs
			over := true
			for _, s := range c.Limits {
				xy = append(xy, plotter.XY{X: s.At.Seconds(), Y: min(float64(s.Limit), yMax)})
				over = over && float64(s.Limit) > yMax
			}
			if over {
				above = append(above, fmt.Sprintf("%s (%d)", c.Contender, c.Limits[0].Limit))
				continue
			}
			lines = append(lines, c.Contender, xy)
		}
		if err := plotutil.AddLines(lp, lines...); err != nil {
			return files, err
		}
		var capXY plotter.XYs
		for i, ph := range p.Phases {
			capXY = append(capXY, plotter.XY{X: p.Start(i).Seconds(), Y: float64(ph.Capacity)},
				plotter.XY{X: (p.Start(i) + ph.Length).Seconds(), Y: float64(ph.Capacity)})
		}
		if err := addDashed(lp, "capacity", capXY); err != nil {
			return files, err
		}
		lp.Y.Min, lp.Y.Max = 0, yMax
		lp.Title.Text = fmt.Sprintf("limit over time at %gx load", load)
		if len(above) > 0 {
			lp.Title.Text += "; above the chart: " + strings.Join(above, ", ")
		}
		fs, err := save(lp, dir, fmt.Sprintf("overload_limit_%gx", load))
		files = append(files, fs...)
		if err != nil {
			return files, err
		}

		// The latency.
		tp := plot.New()
		tp.Title.Text = fmt.Sprintf("p99 latency of admitted work per %s of calls at %gx load", latencyBucket, load)
		tp.X.Label.Text = "seconds"
		tp.Y.Label.Text = "p99 (ms), call to completion"
		tp.Legend.Top = true
		yLat := float64(p.Deadline) / 1e6 * 1.1 // an abandoned request returns at its deadline
		lines = lines[:0]
		for _, c := range byLoad[load] {
			buckets := make([][]time.Duration, int(p.Length()/latencyBucket)+1)
			for _, r := range c.Requests {
				if r.Admitted() {
					b := int(r.Call / latencyBucket)
					buckets[b] = append(buckets[b], r.Latency)
				}
			}
			var xy plotter.XYs
			for i, b := range buckets {
				if len(b) > 0 {
					xy = append(xy, plotter.XY{X: (time.Duration(i)*latencyBucket + latencyBucket/2).Seconds(), Y: min(float64(quantile(b, 0.99))/1e6, yLat)})
				}
			}
			lines = append(lines, c.Contender, xy)
		}
		if err := plotutil.AddLines(tp, lines...); err != nil {
			return files, err
		}
		target := float64(maxP99Factor*float64(unloaded)) / 1e6
		if err := addDashed(tp, fmt.Sprintf("%.1fx unloaded", maxP99Factor),
			plotter.XYs{{X: 0, Y: target}, {X: p.Length().Seconds(), Y: target}}); err != nil {
			return files, err
		}
		tp.Y.Min, tp.Y.Max = 0, yLat
		fs, err = save(tp, dir, fmt.Sprintf("overload_latency_%gx", load))
		files = append(files, fs...)
		if err != nil {
			return files, err
		}
	}
	return files, nil
}

func addDashed(p *plot.Plot, name string, xy plotter.XYs) error {
	l, err := plotter.NewLine(xy)
	if err != nil {
		return err
	}
	l.Color = color.Gray{Y: 80}
	l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
	l.Width = vg.Points(1.5)
	p.Add(l)
	p.Legend.Add(name, l)
	return nil
}

func save(p *plot.Plot, dir, name string) ([]string, error) {
	var files []string
	for _, ext := range []string{".svg", ".png"} {
		f := filepath.Join(dir, name+ext)
		if err := p.Save(9*vg.Inch, 4.5*vg.Inch, f); err != nil {
			return files, err
		}
		files = append(files, f)
	}
	return files, nil
}
