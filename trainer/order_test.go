package trainer

import (
	"fmt"
	"testing"

	"pgregory.net/rapid"
)

func itemsNamed(prefix string, n int) []Item {
	out := make([]Item, n)
	for i := range out {
		out[i] = Item{ID: fmt.Sprintf("%s%d", prefix, i)}
	}
	return out
}

// Every epoch of a single source is a permutation of it: nothing repeated
// or skipped within an epoch.
func TestOrderEpochIsPermutation(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(1, 50).Draw(t, "n")
		seed := rapid.Uint64().Draw(t, "seed")
		o, err := NewOrder(seed, [][]Item{itemsNamed("a", n)}, []float64{1})
		if err != nil {
			t.Fatal(err)
		}
		for e := 0; e < 3; e++ {
			seen := map[string]bool{}
			for k := e * n; k < (e+1)*n; k++ {
				id := o.At(k).ID
				if seen[id] {
					t.Fatalf("epoch %d repeats %s", e, id)
				}
				seen[id] = true
			}
		}
	})
}

// At is a pure function: a fresh Order, or draws in any order, give the
// same items.
func TestOrderIsPure(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		seed := rapid.Uint64().Draw(t, "seed")
		srcs := [][]Item{itemsNamed("a", rapid.IntRange(1, 20).Draw(t, "na")), itemsNamed("b", rapid.IntRange(1, 20).Draw(t, "nb"))}
		w := []float64{rapid.Float64Range(0.1, 5).Draw(t, "wa"), rapid.Float64Range(0.1, 5).Draw(t, "wb")}
		o1, _ := NewOrder(seed, srcs, w)
		o2, _ := NewOrder(seed, srcs, w)
		ks := rapid.SliceOfN(rapid.IntRange(0, 500), 1, 30).Draw(t, "ks")
		for _, k := range ks {
			if a, b := o1.At(k).ID, o2.At(k).ID; a != b {
				t.Fatalf("At(%d) = %s and %s", k, a, b)
			}
		}
	})
}

func TestOrderWeights(t *testing.T) {
	o, err := NewOrder(1, [][]Item{itemsNamed("a", 10), itemsNamed("b", 10)}, []float64{3, 1})
	if err != nil {
		t.Fatal(err)
	}
	counts := map[byte]int{}
	for k := 0; k < o.EpochLen()*10; k++ {
		counts[o.At(k).ID[0]]++
	}
	if counts['a'] != 3*counts['b'] {
		t.Errorf("draws a:b = %d:%d, want 3:1", counts['a'], counts['b'])
	}
}

func TestOrderRejects(t *testing.T) {
	for _, tc := range []struct {
		srcs [][]Item
		w    []float64
	}{
		{nil, nil},
		{[][]Item{{}}, []float64{1}},
		{[][]Item{itemsNamed("a", 2)}, []float64{0}},
		{[][]Item{itemsNamed("a", 2)}, []float64{-1}},
		{[][]Item{itemsNamed("a", 2)}, nil},
	} {
		if _, err := NewOrder(1, tc.srcs, tc.w); err == nil {
			t.Errorf("NewOrder(%v, %v) accepted", tc.srcs, tc.w)
		}
	}
}
