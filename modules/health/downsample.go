package health

import (
	"sort"
	"time"
)

// History steps: raw points for a day, 5-minute buckets for 30 days, hourly for a year.
const (
	StepRaw  = 0
	Step5Min = 300
	StepHour = 3600
)

// Retention of each step: older points are folded into the next step, then deleted.
var retention = map[int]time.Duration{
	StepRaw:  24 * time.Hour,
	Step5Min: 30 * 24 * time.Hour,
	StepHour: 365 * 24 * time.Hour,
}

// A Point is one value (n = 1, min = avg = max) or a bucket of n values.
type Point struct {
	At  time.Time `json:"at"`
	Min float64   `json:"min"`
	Avg float64   `json:"avg"`
	Max float64   `json:"max"`
	N   int       `json:"n"`
}

// Raw is a single observation as a point.
func Raw(at time.Time, v float64) Point { return Point{At: at, Min: v, Avg: v, Max: v, N: 1} }

// merge folds b into a. The average is weighted by counts, so folding buckets into larger
// buckets gives the same average as folding the raw values directly.
func merge(a, b Point) Point {
	if a.N == 0 {
		return b
	}
	n := a.N + b.N
	a.Avg = (a.Avg*float64(a.N) + b.Avg*float64(b.N)) / float64(n)
	a.N = n
	a.Min = min(a.Min, b.Min)
	a.Max = max(a.Max, b.Max)
	return a
}

// Downsample folds points into buckets of step seconds, each stamped with its start, in time
// order. It is pure so the property test can compare it with the raw series.
func Downsample(points []Point, step int) []Point {
	if step <= 0 {
		return points
	}
	d := time.Duration(step) * time.Second
	byStart := map[int64]Point{}
	for _, p := range points {
		start := p.At.Truncate(d)
		b := byStart[start.Unix()]
		b = merge(b, p)
		b.At = start
		byStart[start.Unix()] = b
	}
	out := make([]Point, 0, len(byStart))
	for _, b := range byStart {
		out = append(out, b)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].At.Before(out[j].At) })
	return out
}
