package health

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// The property: folding raw values into 5-minute buckets and those into hourly buckets keeps,
// for every hour, exactly the min, max and count of the raw values in it, and their mean.
func TestDownsampleKeepsMinAvgMax(t *testing.T) {
	for seed := uint64(1); seed <= 200; seed++ {
		r := rand.New(rand.NewPCG(seed, seed))
		start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(r.IntN(3600)) * time.Second)
		var raw []Point
		for i, at := 0, start; i < 1+r.IntN(2000); i++ {
			at = at.Add(time.Duration(1+r.IntN(60)) * time.Second)
			raw = append(raw, Raw(at, r.NormFloat64()*100))
		}
		hourly := Downsample(Downsample(raw, Step5Min), StepHour)
		want := map[time.Time][]float64{}
		for _, p := range raw {
			h := p.At.Truncate(time.Hour)
			want[h] = append(want[h], p.Avg)
		}
		if len(hourly) != len(want) {
			t.Fatalf("seed %d: %d hourly buckets, raw spans %d hours", seed, len(hourly), len(want))
		}
		for _, b := range hourly {
			vs := want[b.At]
			lo, hi, sum := math.Inf(1), math.Inf(-1), 0.0
			for _, v := range vs {
				lo, hi, sum = min(lo, v), max(hi, v), sum+v
			}
			if b.N != len(vs) || b.Min != lo || b.Max != hi || math.Abs(b.Avg-sum/float64(len(vs))) > 1e-9 {
				t.Fatalf("seed %d hour %s: got min %v avg %v max %v n %d, want %v %v %v %d",
					seed, b.At, b.Min, b.Avg, b.Max, b.N, lo, sum/float64(len(vs)), hi, len(vs))
			}
		}
	}
}
