package benchmarks

import (
	"slices"
	"time"
)

// Percentiles summarises a latency sample.
type Percentiles struct {
	P50, P99, Max time.Duration
}

// Summarize returns the 50th and 99th percentiles (nearest rank) and the
// maximum of samples, sorting samples in place. It returns the zero value
// for an empty sample.
func Summarize(samples []time.Duration) Percentiles {
	if len(samples) == 0 {
		return Percentiles{}
	}
	slices.Sort(samples)
	return Percentiles{
		P50: rank(samples, 50),
		P99: rank(samples, 99),
		Max: samples[len(samples)-1],
	}
}

// rank returns the nearest-rank p-th percentile of sorted samples.
func rank(sorted []time.Duration, p int) time.Duration {
	return rankPermille(sorted, p*10)
}

// rankPermille returns the nearest-rank percentile of sorted samples at pm
// per mille (999 is p99.9), or 0 for an empty sample.
func rankPermille(sorted []time.Duration, pm int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := (len(sorted)*pm + 999) / 1000 // ceil(len*pm/1000), 1-based
	if i < 1 {
		i = 1
	}
	return sorted[i-1]
}

// MaxMinRatio returns max(counts)/min(counts), the fairness spread of
// per-goroutine grant counts, and how many counts are zero (starved). A zero
// minimum is counted as one, so the ratio stays finite; it is 0 for an empty
// slice.
func MaxMinRatio(counts []int64) (ratio float64, starved int) {
	if len(counts) == 0 {
		return 0, 0
	}
	lo, hi := counts[0], counts[0]
	for _, c := range counts {
		lo, hi = min(lo, c), max(hi, c)
		if c == 0 {
			starved++
		}
	}
	return float64(hi) / float64(max(lo, 1)), starved
}

// JainIndex returns Jain's fairness index of per-goroutine grant counts,
// (sum x)^2 / (n * sum x^2): 1 when every count is equal, 1/n when one
// goroutine got everything, 0 for an empty or all-zero slice.
func JainIndex(counts []int64) float64 {
	var sum, sq float64
	for _, c := range counts {
		x := float64(c)
		sum += x
		sq += x * x
	}
	if sq == 0 {
		return 0
	}
	return sum * sum / (float64(len(counts)) * sq)
}
