package layouts

import (
	"encoding/json"
	"math/rand/v2"
	"testing"
)

func TestGenerateTable(t *testing.T) {
	gen := func(seed uint64, opt TinyOptions) []*Table {
		rng := rand.New(rand.NewPCG(seed, 3))
		out := make([]*Table, 200)
		for i := range out {
			out[i] = GenerateTable(rng, opt)
		}
		return out
	}
	tests := []struct {
		name             string
		opt              TinyOptions
		minR, maxR, maxC int
	}{
		{"defaults", TinyOptions{}, 3, 12 + 2, 6},
		{"small", TinyOptions{MinRows: 1, MaxRows: 2, MinCols: 1, MaxCols: 2, MessyProb: -1, LongProb: -1}, 1, 2, 2},
		{"wide", TinyOptions{MinCols: 8, MaxCols: 10, MessyProb: -1}, 2, 24, 10},
	}
	for _, tc := range tests {
		ts := gen(1, tc.opt)
		multi := 0
		for _, tb := range ts {
			if err := tb.Validate(); err != nil {
				t.Fatalf("%s: invalid table: %v", tc.name, err)
			}
			if tb.NumRows() < tc.minR-1 || tb.NumRows() > tc.maxR+1 || tb.NumCols() > tc.maxC {
				t.Errorf("%s: table %dx%d outside %d..%d rows, %d cols", tc.name, tb.NumRows(), tb.NumCols(), tc.minR, tc.maxR, tc.maxC)
			}
			if tb.Levels() > 1 {
				multi++
			}
			if tb.Title == "" {
				t.Errorf("%s: no title", tc.name)
			}
			if _, err := loadFrame(tb); err != nil {
				t.Errorf("%s: bridge cannot load: %v", tc.name, err)
			}
		}
		if tc.name == "defaults" && multi == 0 {
			t.Errorf("defaults: no two-level header in 200 tables")
		}
	}
	a, _ := json.Marshal(gen(5, TinyOptions{}))
	b, _ := json.Marshal(gen(5, TinyOptions{}))
	c, _ := json.Marshal(gen(6, TinyOptions{}))
	if string(a) != string(b) || string(a) == string(c) {
		t.Error("tables are not a function of the seed")
	}
}
