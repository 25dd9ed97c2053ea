package model

import (
	"math"
	"math/rand/v2"
	"sort"
	"testing"

	"pgregory.net/rapid"
)

// sampleToken only returns tokens of the top-p nucleus, and argmax at
// temperature 0.
func TestSampleTokenStaysInNucleus(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(1, 40).Draw(t, "n")
		probs := make([]float64, n)
		sum := 0.0
		for i := range probs {
			probs[i] = rapid.Float64Range(0, 1).Draw(t, "p")
			sum += probs[i]
		}
		if sum == 0 {
			probs[0], sum = 1, 1
		}
		for i := range probs {
			probs[i] /= sum
		}
		temp := rapid.Float64Range(0, 2).Draw(t, "temp")
		topP := rapid.Float64Range(0.05, 1).Draw(t, "top_p")
		rng := rand.New(rand.NewPCG(rapid.Uint64().Draw(t, "seed"), 1))
		tok := sampleToken(probs, temp, topP, rng, make([]float64, n), make([]int, n))
		if tok < 0 || tok >= n {
			t.Fatalf("token %d outside 0..%d", tok, n-1)
		}
		if temp == 0 {
			for _, p := range probs {
				if p > probs[tok] {
					t.Fatalf("greedy picked %d (p=%v), a larger p=%v exists", tok, probs[tok], p)
				}
			}
			return
		}
		// Nucleus at this temperature: the most likely tokens until their
		// tempered mass reaches top_p; ties make the set ambiguous, so only
		// tokens strictly less likely than every member are excluded.
		q := make([]float64, n)
		qs := 0.0
		for i, p := range probs {
			q[i] = pow(p, 1/temp)
			qs += q[i]
		}
		ix := make([]int, n)
		for i := range ix {
			ix[i] = i
		}
		sort.Slice(ix, func(a, b int) bool { return q[ix[a]] > q[ix[b]] })
		acc, last := 0.0, 0
		for k, i := range ix {
			acc += q[i]
			last = k
			if acc >= topP*qs {
				break
			}
		}
		if q[tok] < q[ix[last]]*(1-1e-12) {
			t.Fatalf("token %d (q=%v) is outside the top-%v nucleus (smallest member q=%v)", tok, q[tok], topP, q[ix[last]])
		}
		if probs[tok] == 0 {
			t.Fatalf("sampled a zero-probability token")
		}
	})
}

func pow(x, y float64) float64 {
	if y == 1 {
		return x
	}
	return math.Pow(x, y)
}
