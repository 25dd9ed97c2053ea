package layouts

import (
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"pgregory.net/rapid"
)

func tbl(header []string, rows ...[]string) *Table {
	return &Table{Header: [][]string{header}, Rows: rows}
}

func row(cells ...string) []string { return cells }

// Each operator on a small table, with the result written out by hand.
func TestOpsApply(t *testing.T) {
	people := tbl([]string{"Name", "Team", "Points"},
		row("Ana", "Lions", "10"), row("Ben", "Bears", "7"), row("Chen", "Lions", "1,200"))
	long := tbl([]string{"Name", "Year", "Goals"},
		row("Ana", "2020", "3"), row("Ana", "2019", "5"), row("Ben", "2020", "2"))
	tests := []struct {
		name string
		op   Op
		in   *Table
		want *Table
	}{
		{"transpose", NewTranspose(), people, tbl([]string{"Name", "Ana", "Ben", "Chen"},
			row("Team", "Lions", "Bears", "Lions"), row("Points", "10", "7", "1200"))},
		{"promote", NewPromoteHeader(0), people, tbl([]string{"Ana", "Lions", "10"},
			row("Ben", "Bears", "7"), row("Chen", "Lions", "1200"))},
		{"demote", NewDemoteHeader(), tbl([]string{"a", "b"}, row("1", "x")), tbl([]string{"0", "1"}, row("a", "b"), row("1", "x"))},
		{"flatten", NewFlattenHeader(" | "), &Table{Header: [][]string{{"", "2019", "2019"}, {"Name", "Men", "Women"}}, Rows: [][]string{{"a", "1", "2"}}},
			tbl([]string{"Name", "2019 | Men", "2019 | Women"}, row("a", "1", "2"))},
		{"split header", NewSplitHeader("_"), tbl([]string{"id", "x_a", "x_b_c"}, row("1", "2", "3")),
			&Table{Header: [][]string{{"id", "x", "x"}, {"", "a", "b"}, {"", "", "c"}}, Rows: [][]string{{"1", "2", "3"}}}},
		{"melt", NewMelt([]int{0}, []int{1, 2}, "variable", "value"), people, tbl([]string{"Name", "variable", "value"},
			row("Ana", "Team", "Lions"), row("Ben", "Team", "Bears"), row("Chen", "Team", "Lions"),
			row("Ana", "Points", "10"), row("Ben", "Points", "7"), row("Chen", "Points", "1200"))},
		{"pivot", NewPivot(0, 1, 2), long, tbl([]string{"Name", "2019", "2020"}, row("Ana", "5", "3"), row("Ben", "", "2"))},
		{"set index", NewSetIndex(1), people, &Table{Header: [][]string{{"Team", "Name", "Points"}}, RowHeaderCols: 1,
			Rows: [][]string{{"Lions", "Ana", "10"}, {"Bears", "Ben", "7"}, {"Lions", "Chen", "1200"}}}},
		{"sort desc numeric", NewSortRows(2, false), people, tbl([]string{"Name", "Team", "Points"},
			row("Chen", "Lions", "1200"), row("Ana", "Lions", "10"), row("Ben", "Bears", "7"))},
		{"sort text stable", NewSortRows(1, true), people, tbl([]string{"Name", "Team", "Points"},
			row("Ben", "Bears", "7"), row("Ana", "Lions", "10"), row("Chen", "Lions", "1200"))},
		{"sort blanks last", NewSortRows(0, false), tbl([]string{"x"}, row("1.5"), row(""), row("3")), tbl([]string{"x"}, row("3"), row("1.5"), row(""))},
		{"reorder", NewReorderColumns([]int{2, 0, 1}), people, tbl([]string{"Points", "Name", "Team"},
			row("10", "Ana", "Lions"), row("7", "Ben", "Bears"), row("1200", "Chen", "Lions"))},
		{"rename", NewRenameColumns(Rename{Col: 2, To: "pts"}), people, tbl([]string{"Name", "Team", "pts"},
			row("Ana", "Lions", "10"), row("Ben", "Bears", "7"), row("Chen", "Lions", "1200"))},
		{"insert blank", NewInsertBlankRows(1), people, tbl([]string{"Name", "Team", "Points"},
			row("Ana", "Lions", "10"), row("", "", ""), row("Ben", "Bears", "7"), row("Chen", "Lions", "1200"))},
		{"remove blank", NewRemoveBlankRows(), tbl([]string{"a", "b"}, row("1", "x"), row(" ", ""), row("2", "y")), tbl([]string{"a", "b"}, row("1", "x"), row("2", "y"))},
		{"fill down", NewFillDown(0), tbl([]string{"g", "v"}, row("", "1"), row("a", "2"), row("", "3"), row("b", "4")),
			tbl([]string{"g", "v"}, row("", "1"), row("a", "2"), row("a", "3"), row("b", "4"))},
		{"blank repeats adjacent", NewBlankRepeats(0), tbl([]string{"g"}, row("a"), row("a"), row("a"), row("b")), tbl([]string{"g"}, row("a"), row(""), row(""), row("b"))},
		{"append total", NewAppendTotal(0, "Total"), tbl([]string{"n", "t", "i", "f"}, row("a", "x", "1", "0.1"), row("b", "y", "2", "0.2")),
			tbl([]string{"n", "t", "i", "f"}, row("a", "x", "1", "0.1"), row("b", "y", "2", "0.2"), row("Total", "", "3", "0.30000000000000004"))},
		{"remove total", NewRemoveTotal(0), tbl([]string{"n", "v"}, row("a", "1"), row(" TOTAL ", "1")), tbl([]string{"n", "v"}, row("a", "1"))},
		{"split column", NewSplitColumn(1, "-", [2]string{"home", "away"}), tbl([]string{"m", "score"}, row("x", "3-1"), row("y", "2")),
			tbl([]string{"m", "home", "away"}, row("x", "3", "1"), row("y", "2", ""))},
		{"join columns", NewJoinColumns(0, 2, " ", "who"), people, tbl([]string{"who", "Team"},
			row("Ana 10", "Lions"), row("Ben 7", "Bears"), row("Chen 1200", "Lions"))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before, _ := json.Marshal(tc.in)
			got, err := tc.op.Apply(tc.in)
			if err != nil {
				t.Fatalf("%s: %v", tc.op.Name(), err)
			}
			if !Equal(stripMeta(got), stripMeta(tc.want)) {
				g, _ := json.Marshal(got)
				w, _ := json.Marshal(tc.want)
				t.Errorf("%s:\n got %s\nwant %s", tc.op.Name(), g, w)
			}
			if after, _ := json.Marshal(tc.in); string(after) != string(before) {
				t.Errorf("%s modified its input", tc.op.Name())
			}
			if tc.op.Program() == "" {
				t.Errorf("%s: empty program", tc.op.Name())
			}
		})
	}
}

func stripMeta(t *Table) *Table {
	c := t.Clone()
	c.Title, c.Caption = "", ""
	return c
}

// Operators refuse tables they do not fit with a typed error.
func TestOpsRefuse(t *testing.T) {
	dup := tbl([]string{"a", "b"}, row("x", "1"), row("x", "2"))
	mixed := tbl([]string{"a", "b"}, row("x", "1"), row("2", "y"))
	tests := []struct {
		name string
		op   Op
		in   *Table
	}{
		{"transpose repeated first column", NewTranspose(), dup},
		{"pivot repeated pairs", NewPivot(0, 1, 1), dup},
		{"pivot same column twice", NewPivot(0, 0, 1), dup},
		{"sort out of range", NewSortRows(5, true), dup},
		{"sort duplicate label", NewSortRows(0, true), tbl([]string{"a", "a"}, row("1", "2"))},
		{"reorder not a permutation", NewReorderColumns([]int{0, 0}), dup},
		{"rename clash", NewRenameColumns(Rename{Col: 0, To: "b"}), dup},
		{"reset without index", NewResetIndex(), dup},
		{"remove blank none", NewRemoveBlankRows(), dup},
		{"remove total none", NewRemoveTotal(0), dup},
		{"append total no numbers", NewAppendTotal(0, "Total"), mixed},
		{"append total overflow", NewAppendTotal(0, "Total"), tbl([]string{"a", "b"}, row("x", "9223372036854775807"), row("y", "1"))},
		{"fill nothing", NewFillDown(0), dup},
		{"blank repeats none", NewBlankRepeats(0), mixed},
		{"split no separator", NewSplitColumn(0, "-", [2]string{"p", "q"}), dup},
		{"join float", NewJoinColumns(0, 1, " ", "j"), tbl([]string{"a", "b"}, row("x", "1.5"))},
		{"flatten one level", NewFlattenHeader(" "), dup},
		{"split header no separator", NewSplitHeader("|"), dup},
		{"melt no values", NewMelt([]int{0}, nil, "variable", "value"), dup},
		{"melt id named value", NewMelt([]int{0}, []int{1}, "variable", "a"), dup},
		{"promote last row", NewPromoteHeader(1), dup},
		{"insert blank outside", NewInsertBlankRows(2), dup},
		{"set index all columns", NewSetIndex(0, 1), dup},
		{"ragged table", NewTranspose(), &Table{Header: [][]string{{"a", "b"}}, Rows: [][]string{{"1"}}}},
		{"invalid utf8", NewTranspose(), tbl([]string{"a", "b"}, row("\xff", "1"))},
	}
	for _, tc := range tests {
		_, err := tc.op.Apply(tc.in)
		var oe *OpError
		if !errors.Is(err, ErrNotApplicable) || !errors.As(err, &oe) || oe.Reason == "" {
			t.Errorf("%s: err %v, want an *OpError wrapping ErrNotApplicable", tc.name, err)
		}
	}
	if _, err := NewTranspose().Apply(nil); !errors.Is(err, ErrNotApplicable) {
		t.Errorf("nil table: %v", err)
	}
}

// Chains: after set_index only reset_index applies; a chain's program is
// its operators' programs in order.
func TestChain(t *testing.T) {
	in := tbl([]string{"a", "b"}, row("x", "2"), row("y", "1"))
	if _, err := (Chain{NewSetIndex(0), NewSortRows(0, true)}).Apply(in); !errors.Is(err, ErrNotApplicable) {
		t.Errorf("sort after set_index: %v, want ErrNotApplicable", err)
	}
	c := Chain{NewSortRows(1, true), NewSetIndex(1), NewResetIndex()}
	got, err := c.Apply(in)
	if err != nil {
		t.Fatal(err)
	}
	want := tbl([]string{"b", "a"}, row("1", "y"), row("2", "x"))
	if !EqualCanonical(got, want) || got.RowHeaderCols != 0 {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if p := c.Program(); strings.Count(p, "\n") != 2 || !strings.HasPrefix(p, c[0].Program()) {
		t.Errorf("program %q", p)
	}
	if n := c.Names(); strings.Join(n, ",") != "sort_rows,set_index,reset_index" {
		t.Errorf("names %v", n)
	}
}

func TestSampleOp(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	in := tbl([]string{"Name", "Team", "Points"}, row("Ana", "Lions", "10"), row("Ben", "Bears", "7"), row("Chen", "Lions", "1"))
	op, err := SampleOp(rng, "sort_rows", in)
	if err != nil || op.Name() != "sort_rows" {
		t.Fatalf("SampleOp: %v %v", op, err)
	}
	if _, err := op.Apply(in); err != nil {
		t.Errorf("sampled op refuses its table: %v", err)
	}
	if _, err := SampleOp(rng, "pivot", tbl([]string{"a"}, row("1"))); !errors.Is(err, ErrNotApplicable) {
		t.Errorf("pivot on one column: %v", err)
	}
	if _, err := SampleOp(rng, "nope", in); err == nil || !strings.Contains(err.Error(), "known:") {
		t.Errorf("unknown op: %v", err)
	}
	if len(OpNames()) < 14 {
		t.Errorf("%d operators, want at least 14", len(OpNames()))
	}
}

// The frame model's helpers against values computed in Python.
func TestFrameHelpers(t *testing.T) {
	for _, tc := range []struct {
		f    float64
		want string
	}{
		{0.1, "0.1"}, {1e16, "1e+16"}, {1.5e-5, "1.5e-05"}, {0.0001, "0.0001"}, {123456789012345.6, "123456789012345.6"},
		{-2.5, "-2.5"}, {1e22, "1e+22"}, {1.2345678901234567e+19, "1.2345678901234567e+19"}, {1e15, "1000000000000000.0"},
	} {
		if got := pyRepr(tc.f); got != tc.want {
			t.Errorf("pyRepr(%v) = %q, want %q", tc.f, got, tc.want)
		}
	}
	for _, tc := range []struct {
		s    string
		want bool
	}{
		{"5", true}, {"-.5e3", true}, {"1,234", true}, {"1,234.5", true}, {"e5", false}, {"5e", false}, {"+", false},
		{"1,2345", false}, {"1234,567", false}, {"5.", false}, {".5", true}, {"٣", false}, {"1e-7", true}, {"", false},
	} {
		if got := isBridgeNumber(tc.s); got != tc.want {
			t.Errorf("isBridgeNumber(%q) = %v, want %v", tc.s, got, tc.want)
		}
	}
	// numpy: np.add.reduce over 0.1 * 200 is 20.0, a plain loop gives 20.000000000000014.
	xs := make([]float64, 200)
	for i := range xs {
		xs[i] = 0.1
	}
	if got := numpySum(xs); got != 20.0 {
		t.Errorf("numpySum(0.1 x 200) = %v, want 20", got)
	}
	if got := pyFloatCell(math.NaN()); got != "" {
		t.Errorf("NaN cell %q", got)
	}
}

// Property: on any table, every sampled operator either applies, giving a
// valid table, or refuses with ErrNotApplicable; nothing panics.
func TestOpsPropertyNeverPanic(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		cols := rapid.IntRange(1, 5).Draw(rt, "cols")
		levels := rapid.IntRange(1, 2).Draw(rt, "levels")
		cell := rapid.SampledFrom(append(append([]string{}, nastyCells...), nastyNames...))
		tb := &Table{}
		for range levels {
			tb.Header = append(tb.Header, rapid.SliceOfN(cell, cols, cols).Draw(rt, "header"))
		}
		for range rapid.IntRange(0, 6).Draw(rt, "rows") {
			tb.Rows = append(tb.Rows, rapid.SliceOfN(cell, cols, cols).Draw(rt, "row"))
		}
		rng := rand.New(rand.NewPCG(rapid.Uint64().Draw(rt, "seed"), 0))
		for _, name := range OpNames() {
			op, err := SampleOp(rng, name, tb)
			if err != nil {
				if !errors.Is(err, ErrNotApplicable) {
					rt.Fatalf("%s: %v", name, err)
				}
				continue
			}
			out, err := op.Apply(tb)
			if err != nil {
				rt.Fatalf("%s: sampled op refused: %v", name, err)
			}
			if err := out.Validate(); err != nil && out.NumRows() > 0 {
				rt.Fatalf("%s: invalid result: %v", name, err)
			}
		}
	})
}

// FuzzOpsApply feeds arbitrary tables (JSON form) to every operator.
func FuzzOpsApply(f *testing.F) {
	f.Add([]byte(`{"header":[["a","b"]],"rows":[["1","x"],["","y"]]}`), uint64(1))
	f.Add([]byte(`{"header":[["","g"],["a","b"]],"rows":[["1,000","e5"],["nan","1e400"]]}`), uint64(2))
	f.Fuzz(func(t *testing.T, data []byte, seed uint64) {
		var tb Table
		if json.Unmarshal(data, &tb) != nil || tb.Validate() != nil || tb.NumCols() > 20 || tb.NumRows() > 50 {
			return
		}
		rng := rand.New(rand.NewPCG(seed, 0))
		for _, name := range OpNames() {
			op, err := SampleOp(rng, name, &tb)
			if err != nil {
				continue
			}
			if _, err := op.Apply(&tb); err != nil {
				t.Fatalf("%s: sampled op refused: %v", name, err)
			}
		}
	})
}

// FuzzIsBridgeNumber checks the hand-written matcher against the regular
// expression frame.py uses, plus its rule that a digit comes before any
// exponent.
func FuzzIsBridgeNumber(f *testing.F) {
	for _, s := range []string{"1,234.5", "e5", "-.5e3", "1,2345", "+", "٣", "007", "1e", "1.e5"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		mant := strings.IndexAny(s, "eE")
		if mant < 0 {
			mant = len(s)
		}
		want := numberRE.MatchString(s) && strings.ContainsAny(s[:mant], "0123456789")
		if got := isBridgeNumber(s); got != want {
			t.Errorf("isBridgeNumber(%q) = %v, want %v", s, got, want)
		}
	})
}

// FuzzParseOpWeights: any input gives weights of known operators or an
// error, never a panic.
func FuzzParseOpWeights(f *testing.F) {
	f.Add("melt,sort_rows=2")
	f.Add("=,==1e9")
	f.Fuzz(func(t *testing.T, s string) {
		w, err := ParseOpWeights(s)
		if err != nil {
			return
		}
		for name, x := range w {
			if !containsStr(OpNames(), name) || !(x >= 0) || math.IsInf(x, 0) {
				t.Errorf("%q: weight %s=%v", s, name, x)
			}
		}
	})
}
