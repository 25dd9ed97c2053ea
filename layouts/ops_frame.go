package layouts

import (
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// This file holds frame, the Go model of the pandas DataFrame that
// PandasBridge's load_table builds from a Table. Operators work on frames,
// not on string tables, because what a pandas program does to a column
// depends on its dtype (a sort is numeric on int64 and lexicographic on
// strings; a transpose of mixed columns yields object columns of mixed
// Python values), and a chain of operators must see the dtypes the previous
// pandas step really left behind, not those a reload of its output would
// infer.

// vkind is the Python type of one cell or label value.
type vkind uint8

const (
	vStr   vkind = iota // Python str
	vInt                // Python or numpy int
	vFloat              // Python or numpy float; NaN and None are NaN
)

// value is one cell or column label as pandas holds it.
type value struct {
	k vkind
	s string
	i int64
	f float64
}

func strVal(s string) value    { return value{k: vStr, s: s} }
func intVal(i int64) value     { return value{k: vInt, i: i} }
func floatVal(f float64) value { return value{k: vFloat, f: f} }
func nanVal() value            { return value{k: vFloat, f: math.NaN()} }

// isNA reports pandas' isna for the value.
func (v value) isNA() bool { return v.k == vFloat && math.IsNaN(v.f) }

// num is the value as a float64 (ints converted) for numeric comparison.
func (v value) num() float64 {
	if v.k == vInt {
		return float64(v.i)
	}
	return v.f
}

// pyEqual is Python's == between two hashable labels: numbers compare by
// value across int and float, strings only with strings, NaN with nothing.
func (v value) pyEqual(w value) bool {
	if v.k == vStr || w.k == vStr {
		return v.k == w.k && v.s == w.s
	}
	if v.k == vInt && w.k == vInt {
		return v.i == w.i
	}
	return v.num() == w.num()
}

// dump is the string dump_table writes for the value (frame.py's _cell).
func (v value) dump() string {
	switch v.k {
	case vStr:
		return v.s
	case vInt:
		return strconv.FormatInt(v.i, 10)
	}
	return pyFloatCell(v.f)
}

// pyFloatCell formats a float as frame.py's _cell does: NaN empty, integral
// values below 1e15 as integers, others as Python's repr.
func pyFloatCell(f float64) string {
	switch {
	case math.IsNaN(f):
		return ""
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	case f == math.Trunc(f) && math.Abs(f) < 1e15:
		return strconv.FormatInt(int64(f), 10)
	}
	return pyRepr(f)
}

// pyRepr is Python's repr of a finite float: the shortest round-tripping
// digits, in positional form for decimal exponents in [-4, 16), scientific
// otherwise.
func pyRepr(f float64) string {
	digits := strconv.FormatFloat(math.Abs(f), 'e', -1, 64) // d.ddde±XX
	mant, expS, _ := strings.Cut(digits, "e")
	exp, _ := strconv.Atoi(expS)
	ds := strings.Replace(mant, ".", "", 1)
	sign := ""
	if math.Signbit(f) {
		sign = "-"
	}
	if exp < -4 || exp >= 16 {
		m := ds[:1]
		if len(ds) > 1 {
			m += "." + ds[1:]
		}
		es := "+"
		if exp < 0 {
			es = "-"
			exp = -exp
		}
		return sign + m + "e" + es + leftPad(strconv.Itoa(exp), 2)
	}
	if exp < 0 {
		return sign + "0." + strings.Repeat("0", -exp-1) + ds
	}
	if len(ds) <= exp+1 {
		return sign + ds + strings.Repeat("0", exp+1-len(ds)) + ".0"
	}
	return sign + ds[:exp+1] + "." + ds[exp+1:]
}

func leftPad(s string, n int) string {
	for len(s) < n {
		s = "0" + s
	}
	return s
}

// dtype is a pandas column dtype as far as the operators care.
type dtype uint8

const (
	dObject dtype = iota
	dInt64
	dFloat64
)

// column is one column: its label (one value per header level) and cells.
type column struct {
	label []value
	dt    dtype
	cells []value
}

// frame is the model of a DataFrame. index counts leading columns that are
// the DataFrame's index (after set_index); dump_table writes them back as
// leading columns counted in row_header_cols.
type frame struct {
	cols  []column
	nrows int
	index int
	// title and caption travel from the source table to the result.
	title, caption string
}

func (f *frame) levels() int {
	if len(f.cols) == 0 {
		return 1
	}
	return len(f.cols[0].label)
}

// clone copies the column slices (cells are values, so sharing the backing
// arrays of untouched columns is avoided by copying everything: operators may
// then edit the copy freely).
func (f *frame) clone() *frame {
	g := *f
	g.cols = make([]column, len(f.cols))
	for i, c := range f.cols {
		g.cols[i] = column{label: append([]value(nil), c.label...), dt: c.dt, cells: append([]value(nil), c.cells...)}
	}
	return &g
}

// pyIsSpace is Python's str.isspace for one rune: Go's unicode.IsSpace plus
// the four ASCII separators U+001C..U+001F.
func pyIsSpace(r rune) bool { return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f) }

func pyStrip(s string) string { return strings.TrimFunc(s, pyIsSpace) }

// isBridgeNumber is frame.py's _is_number on an already stripped string:
// ^[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)?(?:\.\d+)?(?:[eE][+-]?\d+)?$ with ASCII
// digits and at least one digit. Hand-written because the generator calls it
// for every cell and a regexp costs a microsecond.
func isBridgeNumber(s string) bool {
	i, n := 0, len(s)
	if i < n && (s[i] == '+' || s[i] == '-') {
		i++
	}
	digits := func() int {
		j := i
		for i < n && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		return i - j
	}
	seen := false
	if d := digits(); d > 0 {
		seen = true
		if i < n && s[i] == ',' {
			if d > 3 {
				return false
			}
			for i < n && s[i] == ',' {
				i++
				if digits() != 3 {
					return false
				}
			}
		}
	}
	if i < n && s[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
		seen = true
	}
	if i < n && (s[i] == 'e' || s[i] == 'E') {
		if !seen {
			// "e5" alone: the regex allows an empty mantissa, but then
			// the digit comes from the exponent, which Python accepts
			// in the regex but float() rejects; frame.py would crash, so
			// it must not count as a number here either. frame.py
			// checks any digit, so keep parity: treat it as a number
			// only if float() would parse it, which it never does.
			return false
		}
		i++
		if i < n && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == n && seen
}

// loadFrame builds the frame load_table builds for t. It fails on tables
// that are not rectangular or hold invalid UTF-8 (the JSON form would not
// carry them unchanged).
func loadFrame(t *Table) (*frame, error) {
	if err := t.Validate(); err != nil {
		return nil, notApplicable("load", "%v", err)
	}
	f := &frame{nrows: len(t.Rows), title: t.Title, caption: t.Caption}
	w := t.NumCols()
	f.cols = make([]column, w)
	for c := 0; c < w; c++ {
		col := column{label: make([]value, len(t.Header))}
		for l := range t.Header {
			if !utf8.ValidString(t.Header[l][c]) {
				return nil, notApplicable("load", "header cell %d of level %d is not valid UTF-8", c, l)
			}
			col.label[l] = strVal(t.Header[l][c])
		}
		col.cells = make([]value, len(t.Rows))
		for r, row := range t.Rows {
			if !utf8.ValidString(row[c]) {
				return nil, notApplicable("load", "cell (%d, %d) is not valid UTF-8", r, c)
			}
			col.cells[r] = strVal(row[c])
		}
		convertColumn(&col)
		f.cols[c] = col
	}
	return f, nil
}

// convertColumn applies frame.py's _convert: int64 when every cell is an
// integer literal within int64, float64 when every non-empty cell is a
// number, otherwise the strings stay.
func convertColumn(col *column) {
	col.dt = dObject
	if len(col.cells) == 0 {
		return
	}
	nonempty, integral := 0, true
	for _, v := range col.cells {
		s := pyStrip(v.s)
		if s == "" {
			integral = false
			continue
		}
		if !isBridgeNumber(s) {
			return
		}
		nonempty++
		if strings.ContainsAny(s, ".eE") {
			integral = false
		}
	}
	if nonempty == 0 {
		return
	}
	if integral {
		out := make([]value, len(col.cells))
		ok := true
		for r, v := range col.cells {
			i, err := strconv.ParseInt(strings.ReplaceAll(pyStrip(v.s), ",", ""), 10, 64)
			if err != nil {
				ok = false // beyond int64: frame.py falls back to float64
				break
			}
			out[r] = intVal(i)
		}
		if ok {
			col.cells, col.dt = out, dInt64
			return
		}
	}
	for r, v := range col.cells {
		s := strings.ReplaceAll(pyStrip(v.s), ",", "")
		if s == "" {
			col.cells[r] = nanVal()
			continue
		}
		x, _ := strconv.ParseFloat(s, 64) // ±Inf on overflow, as Python's float()
		col.cells[r] = floatVal(x)
	}
	col.dt = dFloat64
}

// dumpFrame is dump_table: labels and cells as strings, the index columns
// counted in RowHeaderCols.
func dumpFrame(f *frame) *Table {
	L := f.levels()
	t := &Table{Title: f.title, Caption: f.caption, RowHeaderCols: f.index}
	t.Header = make([][]string, L)
	for l := range t.Header {
		t.Header[l] = make([]string, len(f.cols))
		for c, col := range f.cols {
			t.Header[l][c] = col.label[l].dump()
		}
	}
	t.Rows = make([][]string, f.nrows)
	for r := range t.Rows {
		row := make([]string, len(f.cols))
		for c, col := range f.cols {
			row[c] = col.cells[r].dump()
		}
		t.Rows[r] = row
	}
	return t
}

// numpySum is numpy's float64 add.reduce over a contiguous array: pairwise
// summation in blocks of 8 below 128 elements, starting from 0. Matching it
// bit for bit keeps a totals row exact.
func numpySum(a []float64) float64 { return 0 + pairwiseSum(a) }

func pairwiseSum(a []float64) float64 {
	n := len(a)
	switch {
	case n < 8:
		res := 0.0
		for _, x := range a {
			res += x
		}
		return res
	case n <= 128:
		var r [8]float64
		copy(r[:], a[:8])
		i := 8
		for ; i < n-n%8; i += 8 {
			for j := range 8 {
				r[j] += a[i+j]
			}
		}
		res := ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
		for ; i < n; i++ {
			res += a[i]
		}
		return res
	}
	n2 := n / 2
	n2 -= n2 % 8
	return pairwiseSum(a[:n2]) + pairwiseSum(a[n2:])
}
