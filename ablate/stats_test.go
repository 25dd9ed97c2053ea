package ablate

import (
	"math"
	"testing"

	"pgregory.net/rapid"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestMeanSD(t *testing.T) {
	cases := []struct {
		xs       []float64
		mean, sd float64
	}{
		{[]float64{1, 2, 3, 4}, 2.5, math.Sqrt(5.0 / 3)}, // squares 2.25+.25+.25+2.25 = 5, over n-1 = 3
		{[]float64{0.5}, 0.5, 0},
		{[]float64{2, 4, 4, 4, 5, 5, 7, 9}, 5, math.Sqrt(32.0 / 7)},
		{[]float64{0.1, 0.3}, 0.2, math.Sqrt(0.02)},
	}
	for _, c := range cases {
		if m, sd := Mean(c.xs), SD(c.xs); !near(m, c.mean) || !near(sd, c.sd) {
			t.Errorf("%v: mean %v sd %v, want %v %v", c.xs, m, sd, c.mean, c.sd)
		}
	}
	if !math.IsNaN(Mean(nil)) {
		t.Error("mean of nothing is not NaN")
	}
}

func TestQuantile(t *testing.T) {
	xs := []float64{1, 2, 3, 4, 5}
	cases := []struct{ q, want float64 }{{0, 1}, {1, 5}, {0.5, 3}, {0.25, 2}, {0.1, 1.4}, {0.975, 4.9}}
	for _, c := range cases {
		if got := Quantile(xs, c.q); !near(got, c.want) {
			t.Errorf("Quantile(%v) = %v, want %v", c.q, got, c.want)
		}
	}
}

func TestBootstrapCI(t *testing.T) {
	// All equal: every resample has the same mean.
	if lo, hi := BootstrapCI([]float64{0.4, 0.4, 0.4}, 500, 1, 0.95); !near(lo, 0.4) || !near(hi, 0.4) {
		t.Errorf("constant: [%v, %v]", lo, hi)
	}
	// {1, 2, 3}: the resample sum is 3 with probability 1/27 (3.7%) and 9
	// likewise, so the 2.5% and 97.5% quantiles of the means are 1 and 3.
	if lo, hi := BootstrapCI([]float64{1, 2, 3}, 10000, 7, 0.95); !near(lo, 1) || !near(hi, 3) {
		t.Errorf("{1,2,3}: [%v, %v], want [1, 3]", lo, hi)
	}
	// {0, 1}: means 0, 0.5, 1 with probabilities 1/4, 1/2, 1/4: the 50%
	// interval is [0.5, 0.5] ... up to the resampling noise at its edges,
	// so ask for a level whose quantiles fall well inside the middle mass.
	if lo, hi := BootstrapCI([]float64{0, 1}, 10000, 3, 0.2); !near(lo, 0.5) || !near(hi, 0.5) {
		t.Errorf("{0,1} at 20%%: [%v, %v], want [0.5, 0.5]", lo, hi)
	}
	// Seeded: the same seed gives the same interval, another seed may not.
	xs := []float64{0.1, 0.5, 0.35, 0.9}
	lo1, hi1 := BootstrapCI(xs, 200, 5, 0.95)
	lo2, hi2 := BootstrapCI(xs, 200, 5, 0.95)
	if lo1 != lo2 || hi1 != hi2 {
		t.Errorf("same seed, different intervals: [%v %v] [%v %v]", lo1, hi1, lo2, hi2)
	}
	s := Summarize(xs, BootstrapConfig{Resamples: 200, Seed: 5})
	if s.N != 4 || s.Lo != lo1 || s.Hi != hi1 || !near(s.Mean, 0.4625) {
		t.Errorf("Summarize: %+v", s)
	}
	if (Summarize(nil, BootstrapConfig{Resamples: 10, Seed: 1}) != Summary{}) {
		t.Error("Summarize of nothing is not the zero Summary")
	}
}

// The interval lies within the values' range and around the mean.
func TestBootstrapCIProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		xs := rapid.SliceOfN(rapid.Float64Range(-100, 100), 1, 8).Draw(t, "xs")
		seed := rapid.Uint64().Draw(t, "seed")
		lo, hi := BootstrapCI(xs, 300, seed, 0.95)
		mn, mx := xs[0], xs[0]
		for _, x := range xs {
			mn, mx = math.Min(mn, x), math.Max(mx, x)
		}
		if lo > hi || lo < mn-1e-9 || hi > mx+1e-9 {
			t.Fatalf("interval [%v, %v] outside [%v, %v]", lo, hi, mn, mx)
		}
	})
}
