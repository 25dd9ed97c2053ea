package eval

import (
	"math"
	"slices"
	"testing"

	"pgregory.net/rapid"
)

func TestPassAt(t *testing.T) {
	for _, c := range []struct {
		n, c, k int
		want    float64
	}{
		{5, 0, 1, 0},
		{5, 2, 1, 0.4},
		{5, 2, 2, 0.7}, // 1 - C(3,2)/C(5,2) = 1 - 3/10
		{5, 2, 3, 0.9}, // 1 - C(3,3)/C(5,3) = 1 - 1/10
		{5, 2, 4, 1},
		{5, 5, 1, 1},
		{10, 1, 5, 0.5},
		{200, 3, 100, 1 - (100.0*99*98)/(200.0*199*198)},
	} {
		if got := passAt(c.n, c.c, c.k); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("passAt(%d, %d, %d) = %v, want %v", c.n, c.c, c.k, got, c.want)
		}
	}
}

func TestPassAtProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(1, 300).Draw(t, "n")
		c := rapid.IntRange(0, n).Draw(t, "c")
		// pass@1 is the share of correct samples; pass@n is "any correct".
		if got := passAt(n, c, 1); math.Abs(got-float64(c)/float64(n)) > 1e-9 {
			t.Fatalf("pass@1 = %v, want %v", got, float64(c)/float64(n))
		}
		if got, want := passAt(n, c, n), map[bool]float64{true: 1, false: 0}[c > 0]; got != want {
			t.Fatalf("pass@n = %v, want %v", got, want)
		}
		// Non-decreasing in k, within [0, 1].
		prev := 0.0
		for k := 1; k <= n; k++ {
			p := passAt(n, c, k)
			if p < prev-1e-12 || p < 0 || p > 1 {
				t.Fatalf("pass@%d = %v after %v", k, p, prev)
			}
			prev = p
		}
	})
}

func TestPassAtKs(t *testing.T) {
	for K, want := range map[int][]int{2: {1, 2}, 5: {1, 2, 4, 5}, 8: {1, 2, 4, 8}, 16: {1, 2, 4, 8, 16}} {
		if got := passAtKs(K); !slices.Equal(got, want) {
			t.Errorf("passAtKs(%d) = %v, want %v", K, got, want)
		}
	}
}
