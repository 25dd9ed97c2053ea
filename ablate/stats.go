package ablate

import (
	"math"
	"math/rand/v2"
	"sort"
)

// Summary is a metric over seeds.
type Summary struct {
	N    int     `json:"n"`
	Mean float64 `json:"mean"`
	// SD is the sample standard deviation (n-1 in the denominator; 0 for
	// one seed).
	SD float64 `json:"sd"`
	// Lo and Hi bound the 95% percentile bootstrap interval of the mean.
	Lo float64 `json:"ci_lo"`
	Hi float64 `json:"ci_hi"`
}

// Mean is the arithmetic mean (NaN for no values).
func Mean(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

// SD is the sample standard deviation, with n-1 in the denominator (0 for
// fewer than two values).
func SD(xs []float64) float64 {
	if len(xs) < 2 {
		return 0
	}
	m := Mean(xs)
	s := 0.0
	for _, x := range xs {
		s += (x - m) * (x - m)
	}
	return math.Sqrt(s / float64(len(xs)-1))
}

// BootstrapCI is the percentile bootstrap interval of the mean at the given
// level (0.95 for 95%): resamples means of len(xs) values drawn with
// replacement by a PCG source seeded with seed, and their
// (1-level)/2 and (1+level)/2 quantiles (Quantile). A pure function of its
// arguments.
func BootstrapCI(xs []float64, resamples int, seed uint64, level float64) (lo, hi float64) {
	if len(xs) == 0 || resamples <= 0 {
		return math.NaN(), math.NaN()
	}
	r := rand.New(rand.NewPCG(seed, 0x626f6f74))
	means := make([]float64, resamples)
	for b := range means {
		s := 0.0
		for range xs {
			s += xs[r.IntN(len(xs))]
		}
		means[b] = s / float64(len(xs))
	}
	sort.Float64s(means)
	return Quantile(means, (1-level)/2), Quantile(means, (1+level)/2)
}

// Quantile is the q-quantile of sorted values by linear interpolation
// between order statistics (type 7, NumPy's default).
func Quantile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return math.NaN()
	}
	h := q * float64(len(sorted)-1)
	i := int(math.Floor(h))
	if i >= len(sorted)-1 {
		return sorted[len(sorted)-1]
	}
	if i < 0 {
		return sorted[0]
	}
	return sorted[i] + (h-float64(i))*(sorted[i+1]-sorted[i])
}

// Summarize is xs's mean, SD and 95% bootstrap interval.
// No values give the zero Summary.
func Summarize(xs []float64, bc BootstrapConfig) Summary {
	if len(xs) == 0 {
		return Summary{}
	}
	lo, hi := BootstrapCI(xs, bc.Resamples, bc.Seed, 0.95)
	return Summary{N: len(xs), Mean: Mean(xs), SD: SD(xs), Lo: lo, Hi: hi}
}
