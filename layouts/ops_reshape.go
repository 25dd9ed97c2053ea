package layouts

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
)

// Melt turns a wide table long: the IDs columns are kept, each of the
// Values columns becomes rows of (column name, cell) under VarName and
// ValueName, value column by value column.
//
//	df = df.melt(id_vars=[...], value_vars=[...], var_name=VAR, value_name=VALUE)
type Melt struct {
	IDs, Values        []int
	VarName, ValueName string
	idKeys, valKeys    []string // literals, bound by apply's checks
}

// NewMelt returns the operator.
func NewMelt(ids, values []int, varName, valueName string) *Melt {
	return &Melt{IDs: append([]int(nil), ids...), Values: append([]int(nil), values...), VarName: varName, ValueName: valueName}
}

func (*Melt) Name() string                     { return "melt" }
func (o *Melt) Apply(t *Table) (*Table, error) { return applyOne(o, t) }
func (o *Melt) Program() string {
	ids, vals := o.idKeys, o.valKeys
	if ids == nil && vals == nil {
		ids, vals = positional(o.IDs), positional(o.Values)
	}
	return fmt.Sprintf("df = df.melt(id_vars=[%s], value_vars=[%s], var_name=%s, value_name=%s)",
		strings.Join(ids, ", "), strings.Join(vals, ", "), strconv.Quote(o.VarName), strconv.Quote(o.ValueName))
}

func positional(cols []int) []string {
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = fmt.Sprintf("df.columns[%d]", c)
	}
	return out
}

func (o *Melt) check(f *frame) (ids, vals []string, err error) {
	const name = "melt"
	if err := f.singleLevel(name); err != nil {
		return nil, nil, err
	}
	if len(o.Values) == 0 {
		return nil, nil, notApplicable(name, "no value columns")
	}
	if o.VarName == o.ValueName {
		return nil, nil, notApplicable(name, "var_name and value_name are both %q", o.VarName)
	}
	used := map[int]bool{}
	for _, group := range [][]int{o.IDs, o.Values} {
		for _, c := range group {
			k, err := f.keyOf(name, c)
			if err != nil {
				return nil, nil, err
			}
			if used[c] {
				return nil, nil, notApplicable(name, "column %d listed twice", c)
			}
			used[c] = true
			if len(ids) < len(o.IDs) {
				ids = append(ids, k)
			} else {
				vals = append(vals, k)
			}
		}
	}
	for _, c := range o.IDs {
		l := f.cols[c].label[0]
		if l.pyEqual(strVal(o.VarName)) || l.pyEqual(strVal(o.ValueName)) {
			return nil, nil, notApplicable(name, "id column %q has the name of the var or value column", l.dump())
		}
	}
	return ids, vals, nil
}

func (o *Melt) apply(f *frame) (*frame, error) {
	if _, _, err := o.check(f); err != nil {
		return nil, err
	}
	k := len(o.Values)
	n := f.nrows * k
	g := &frame{nrows: n, title: f.title, caption: f.caption}
	for _, c := range o.IDs {
		src := f.cols[c]
		cells := make([]value, 0, n)
		for range k {
			cells = append(cells, src.cells...)
		}
		g.cols = append(g.cols, column{label: []value{src.label[0]}, dt: src.dt, cells: cells})
	}
	valCols := make([]column, k)
	labels := make([]value, k)
	for i, c := range o.Values {
		valCols[i] = f.cols[c]
		labels[i] = f.cols[c].label[0]
	}
	// melt takes the var column from frame.iloc[:, ...].columns, which keeps
	// the dtype of the whole columns Index (see Transpose).
	ldt, vdt := indexDtype(f.labels()), interleave(valCols)
	vars := make([]value, 0, n)
	vals := make([]value, 0, n)
	for i, vc := range valCols {
		for r := 0; r < f.nrows; r++ {
			vars = append(vars, cast(labels[i], ldt))
			vals = append(vals, cast(vc.cells[r], vdt))
		}
	}
	g.cols = append(g.cols,
		column{label: []value{strVal(o.VarName)}, dt: ldt, cells: vars},
		column{label: []value{strVal(o.ValueName)}, dt: vdt, cells: vals})
	return g, nil
}

var meltNames = [][2]string{{"variable", "value"}, {"attribute", "value"}, {"column", "cell"}, {"key", "val"}}

func sampleMelt(rng *rand.Rand, f *frame) Op {
	if f.levels() != 1 || f.index > 0 || len(f.cols) < 2 || f.nrows*len(f.cols) > 400 {
		return nil
	}
	nid := rng.IntN(min(2, len(f.cols)-1) + 1)
	if nid == 0 && rng.IntN(2) == 0 {
		nid = 1
	}
	ids := make([]int, nid)
	for i := range ids {
		ids[i] = i // the leading columns are the natural identifiers
	}
	var vals []int
	for c := nid; c < len(f.cols); c++ {
		vals = append(vals, c)
	}
	if len(vals) > 2 && rng.IntN(2) == 0 {
		vals = vals[:2+rng.IntN(len(vals)-1)]
	}
	nm := meltNames[rng.IntN(len(meltNames))]
	op := NewMelt(ids, vals, nm[0], nm[1])
	ik, vk, err := op.check(f)
	if err != nil {
		return nil
	}
	op.idKeys, op.valKeys = ik, vk
	return op
}

// Pivot turns a long table wide: one row per distinct value of Index (in
// sorted order), one column per distinct value of Columns (sorted), cells
// from Values; a missing pair is an empty cell.
//
//	df = df.pivot(index=I, columns=C, values=V).reset_index().rename_axis(columns=None)
type Pivot struct {
	Index, Columns, Values int
	keys                   [3]string
}

// NewPivot returns the operator.
func NewPivot(index, columns, values int) *Pivot {
	return &Pivot{Index: index, Columns: columns, Values: values}
}

func (*Pivot) Name() string                     { return "pivot" }
func (o *Pivot) Apply(t *Table) (*Table, error) { return applyOne(o, t) }
func (o *Pivot) Program() string {
	k := o.keys
	if k[0] == "" {
		p := positional([]int{o.Index, o.Columns, o.Values})
		k = [3]string{p[0], p[1], p[2]}
	}
	return fmt.Sprintf("df = df.pivot(index=%s, columns=%s, values=%s).reset_index().rename_axis(columns=None)", k[0], k[1], k[2])
}

// sortable reports whether a key column sorts the same in Go and pandas:
// int64, float64 without NaN, or strings only.
func sortable(c column) bool {
	switch c.dt {
	case dInt64:
		return true
	case dFloat64:
		for _, v := range c.cells {
			if v.isNA() {
				return false
			}
		}
		return true
	}
	return c.allStr(false)
}

// compareValues orders two non-NaN values of one sortable column.
func compareValues(a, b value) int {
	if a.k == vStr && b.k == vStr {
		return strings.Compare(a.s, b.s) // byte order of UTF-8 is code point order, as Python's
	}
	if a.k == vInt && b.k == vInt {
		return cmp.Compare(a.i, b.i)
	}
	return cmp.Compare(a.num(), b.num())
}

// distinctSorted is the sorted distinct values of a sortable column.
func distinctSorted(vs []value) []value {
	out := append([]value(nil), vs...)
	slices.SortStableFunc(out, compareValues)
	return slices.CompactFunc(out, func(a, b value) bool { return compareValues(a, b) == 0 })
}

func (o *Pivot) check(f *frame) ([3]string, error) {
	const name = "pivot"
	var keys [3]string
	if err := f.singleLevel(name); err != nil {
		return keys, err
	}
	cols := [3]int{o.Index, o.Columns, o.Values}
	for i, c := range cols {
		k, err := f.keyOf(name, c)
		if err != nil {
			return keys, err
		}
		for j := 0; j < i; j++ {
			if cols[j] == c {
				return keys, notApplicable(name, "column %d used twice", c)
			}
		}
		keys[i] = k
	}
	if f.cols[o.Index].label[0].k != vStr || f.cols[o.Columns].label[0].k != vStr {
		// pivot names MultiIndex levels after them, and unstack reads an
		// int level name as a level position.
		return keys, notApplicable(name, "index and columns need text names")
	}
	if !sortable(f.cols[o.Index]) || !sortable(f.cols[o.Columns]) {
		return keys, notApplicable(name, "index and columns must be int, float without blanks, or text")
	}
	seen := map[[2]string]bool{}
	for r := 0; r < f.nrows; r++ {
		key := [2]string{canonKey(f.cols[o.Index].cells[r]), canonKey(f.cols[o.Columns].cells[r])}
		if seen[key] {
			return keys, notApplicable(name, "pair (%s, %s) occurs twice: pivot needs unique pairs", key[0], key[1])
		}
		seen[key] = true
	}
	il := f.cols[o.Index].label[0]
	for _, v := range f.cols[o.Columns].cells {
		if v.pyEqual(il) {
			return keys, notApplicable(name, "a column value equals the index column's name %q", il.dump())
		}
	}
	return keys, nil
}

// canonKey is a map key under which pyEqual values coincide.
func canonKey(v value) string {
	if v.k == vStr {
		return "s" + v.s
	}
	return "n" + strconv.FormatFloat(v.num(), 'g', -1, 64)
}

func (o *Pivot) apply(f *frame) (*frame, error) {
	if _, err := o.check(f); err != nil {
		return nil, err
	}
	ic, cc, vc := f.cols[o.Index], f.cols[o.Columns], f.cols[o.Values]
	rowsK, colsK := distinctSorted(ic.cells), distinctSorted(cc.cells)
	rowAt, colAt := map[string]int{}, map[string]int{}
	for i, v := range rowsK {
		rowAt[canonKey(v)] = i
	}
	for i, v := range colsK {
		colAt[canonKey(v)] = i
	}
	grid := make([][]value, len(colsK))
	filled := make([][]bool, len(colsK))
	for j := range grid {
		grid[j] = make([]value, len(rowsK))
		filled[j] = make([]bool, len(rowsK))
	}
	complete := true
	for r := 0; r < f.nrows; r++ {
		i, j := rowAt[canonKey(ic.cells[r])], colAt[canonKey(cc.cells[r])]
		grid[j][i], filled[j][i] = vc.cells[r], true
	}
	for j := range grid {
		for i := range grid[j] {
			if !filled[j][i] {
				complete = false
				grid[j][i] = nanVal()
			}
		}
	}
	vdt := vc.dt
	if vdt == dInt64 && !complete {
		vdt = dFloat64
	}
	g := &frame{nrows: len(rowsK), title: f.title, caption: f.caption}
	g.cols = append(g.cols, column{label: []value{ic.label[0]}, dt: ic.dt, cells: rowsK})
	for j, cv := range colsK {
		g.cols = append(g.cols, column{label: []value{cv}, dt: vdt, cells: castAll(grid[j], vdt)})
	}
	return g, nil
}

func samplePivot(rng *rand.Rand, f *frame) Op {
	if f.levels() != 1 || f.index > 0 || len(f.cols) < 3 {
		return nil
	}
	// Try index/columns pairs whose columns have few distinct values.
	n := len(f.cols)
	fewValues := make([]bool, n)
	for c := range f.cols {
		fewValues[c] = sortable(f.cols[c]) && len(distinctSorted(f.cols[c].cells)) <= 12
	}
	for _, try := range rng.Perm(n * n) {
		i, c := try/n, try%n
		if i == c || !fewValues[c] {
			continue
		}
		for _, v := range rng.Perm(n) {
			if v == i || v == c {
				continue
			}
			op := NewPivot(i, c, v)
			if k, err := op.check(f); err == nil {
				op.keys = k
				return op
			}
			break // uniqueness does not depend on the values column
		}
	}
	return nil
}

// SetIndex moves columns into the row headers (the DataFrame's index): they
// become the leading columns, counted in RowHeaderCols. Only ResetIndex
// applies after it.
//
//	df = df.set_index([A, B])
type SetIndex struct {
	Cols []int
	keys []string
}

// NewSetIndex returns the operator.
func NewSetIndex(cols ...int) *SetIndex { return &SetIndex{Cols: append([]int(nil), cols...)} }

func (*SetIndex) Name() string                     { return "set_index" }
func (o *SetIndex) Apply(t *Table) (*Table, error) { return applyOne(o, t) }
func (o *SetIndex) Program() string {
	k := o.keys
	if k == nil {
		k = positional(o.Cols)
	}
	if len(k) == 1 {
		return "df = df.set_index(" + k[0] + ")"
	}
	return "df = df.set_index([" + strings.Join(k, ", ") + "])"
}

func (o *SetIndex) check(f *frame) ([]string, error) {
	const name = "set_index"
	if err := f.plain(name); err != nil {
		return nil, err
	}
	if f.nrows == 0 {
		return nil, notApplicable(name, "no rows")
	}
	if len(o.Cols) == 0 || len(o.Cols) >= len(f.cols) {
		return nil, notApplicable(name, "%d index columns of %d: leave at least one column", len(o.Cols), len(f.cols))
	}
	var keys []string
	for i, c := range o.Cols {
		k, err := f.keyOf(name, c)
		if err != nil {
			return nil, err
		}
		if slices.Contains(o.Cols[:i], c) {
			return nil, notApplicable(name, "column %d listed twice", c)
		}
		keys = append(keys, k)
	}
	return keys, nil
}

func (o *SetIndex) apply(f *frame) (*frame, error) {
	if _, err := o.check(f); err != nil {
		return nil, err
	}
	src := f.clone()
	g := &frame{nrows: f.nrows, title: f.title, caption: f.caption, index: len(o.Cols)}
	for _, c := range o.Cols {
		col := src.cols[c]
		if col.dt == dObject {
			// An Index infers its dtype: an object column of numbers
			// comes back from reset_index as int64 or float64.
			col.dt = indexDtype(col.cells)
			col.cells = castAll(col.cells, col.dt)
		}
		g.cols = append(g.cols, col)
	}
	for c := range src.cols {
		if !slices.Contains(o.Cols, c) {
			g.cols = append(g.cols, src.cols[c])
		}
	}
	return g, nil
}

func sampleSetIndex(rng *rand.Rand, f *frame) Op {
	if f.index > 0 || len(f.cols) < 2 {
		return nil
	}
	k := 1
	if len(f.cols) > 3 && rng.IntN(3) == 0 {
		k = 2
	}
	var cols []int
	if rng.IntN(2) == 0 {
		for c := range k {
			cols = append(cols, c)
		}
	} else {
		cols = rng.Perm(len(f.cols))[:k]
	}
	op := NewSetIndex(cols...)
	keys, err := op.check(f)
	if err != nil {
		return nil
	}
	op.keys = keys
	return op
}

// ResetIndex moves the row headers set by SetIndex back into ordinary
// leading columns.
//
//	df = df.reset_index()
type ResetIndex struct{}

// NewResetIndex returns the operator.
func NewResetIndex() *ResetIndex { return &ResetIndex{} }

func (*ResetIndex) Name() string                     { return "reset_index" }
func (o *ResetIndex) Apply(t *Table) (*Table, error) { return applyOne(o, t) }
func (*ResetIndex) Program() string                  { return "df = df.reset_index()" }

func (o *ResetIndex) apply(f *frame) (*frame, error) {
	if f.index == 0 {
		return nil, notApplicable("reset_index", "the table has no index columns (row headers load as ordinary columns)")
	}
	g := f.clone()
	g.index = 0
	return g, nil
}

func sampleResetIndex(_ *rand.Rand, f *frame) Op {
	if f.index == 0 {
		return nil
	}
	return NewResetIndex()
}
