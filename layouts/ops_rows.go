package layouts

import (
	"fmt"
	"math/bits"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
)

// SortRows sorts the rows by one column, stably, blanks last in both
// directions (pandas' mergesort with na_position="last").
//
//	df = df.sort_values(by=COL, ascending=ASC, kind="mergesort").reset_index(drop=True)
type SortRows struct {
	Col       int
	Ascending bool
	key       string
}

// NewSortRows returns the operator.
func NewSortRows(col int, ascending bool) *SortRows { return &SortRows{Col: col, Ascending: ascending} }

func (*SortRows) Name() string                     { return "sort_rows" }
func (o *SortRows) Apply(t *Table) (*Table, error) { return applyOne(o, t) }
func (o *SortRows) Program() string {
	k := o.key
	if k == "" {
		k = fmt.Sprintf("df.columns[%d]", o.Col)
	}
	asc := "True"
	if !o.Ascending {
		asc = "False"
	}
	return fmt.Sprintf("df = df.sort_values(by=%s, ascending=%s, kind=\"mergesort\").reset_index(drop=True)", k, asc)
}

// sortKind says how a column sorts: 1 numerically, 2 as strings, 0 not
// at all in a way Go can mirror (mixed Python types).
func sortKind(c column) int {
	str, ints, floats, big := false, false, false, false
	for _, v := range c.cells {
		switch {
		case v.isNA():
		case v.k == vStr:
			str = true
		case v.k == vInt:
			ints = true
			big = big || v.i > 1<<53 || v.i < -(1<<53)
		default:
			floats = true
		}
	}
	switch {
	case str && (ints || floats):
		return 0
	case ints && floats && big:
		return 0 // Python compares big ints with floats exactly; float64 cannot
	case str:
		return 2
	}
	return 1
}

func (o *SortRows) apply(f *frame) (*frame, error) {
	const name = "sort_rows"
	if err := f.plain(name); err != nil {
		return nil, err
	}
	if _, err := f.keyOf(name, o.Col); err != nil {
		return nil, err
	}
	col := f.cols[o.Col]
	if sortKind(col) == 0 {
		return nil, notApplicable(name, "column %d mixes numbers and text", o.Col)
	}
	var valid, nas []int
	for r, v := range col.cells {
		if v.isNA() {
			nas = append(nas, r)
		} else {
			valid = append(valid, r)
		}
	}
	slices.SortStableFunc(valid, func(a, b int) int {
		c := compareValues(col.cells[a], col.cells[b])
		if !o.Ascending {
			c = -c
		}
		return c
	})
	return f.takeRows(append(valid, nas...)), nil
}

// takeRows is the frame with the given rows, in order.
func (f *frame) takeRows(rows []int) *frame {
	g := &frame{nrows: len(rows), title: f.title, caption: f.caption, index: f.index, cols: make([]column, len(f.cols))}
	for c, col := range f.cols {
		cells := make([]value, len(rows))
		for i, r := range rows {
			cells[i] = col.cells[r]
		}
		g.cols[c] = column{label: append([]value(nil), col.label...), dt: col.dt, cells: cells}
	}
	return g
}

func sampleSortRows(rng *rand.Rand, f *frame) Op {
	if f.index > 0 || f.nrows < 2 {
		return nil
	}
	for _, c := range rng.Perm(len(f.cols)) {
		k, err := f.keyOf("sort_rows", c)
		if err != nil || sortKind(f.cols[c]) == 0 {
			continue
		}
		op := NewSortRows(c, rng.IntN(2) == 0)
		op.key = k
		return op
	}
	return nil
}

// InsertBlankRows inserts an empty separator row after each of the first
// After[i] rows (positions strictly increasing, inside the table). Blank
// cells are NaN, so int columns become float.
//
//	_blank = pd.DataFrame([[np.nan] * df.shape[1]], columns=df.columns)
//	df = pd.concat([df.iloc[:3], _blank, df.iloc[3:]], ignore_index=True)
type InsertBlankRows struct{ After []int }

// NewInsertBlankRows returns the operator.
func NewInsertBlankRows(after ...int) *InsertBlankRows {
	return &InsertBlankRows{After: append([]int(nil), after...)}
}

func (*InsertBlankRows) Name() string                     { return "insert_blank_rows" }
func (o *InsertBlankRows) Apply(t *Table) (*Table, error) { return applyOne(o, t) }
func (o *InsertBlankRows) Program() string {
	parts := []string{}
	prev := 0
	for _, a := range o.After {
		parts = append(parts, fmt.Sprintf("df.iloc[%d:%d]", prev, a), "_blank")
		prev = a
	}
	parts = append(parts, fmt.Sprintf("df.iloc[%d:]", prev))
	return "_blank = pd.DataFrame([[np.nan] * df.shape[1]], columns=df.columns)\n" +
		"df = pd.concat([" + strings.Join(parts, ", ") + "], ignore_index=True)"
}

func (o *InsertBlankRows) apply(f *frame) (*frame, error) {
	const name = "insert_blank_rows"
	if err := f.plain(name); err != nil {
		return nil, err
	}
	if !strictlyIncreasing(o.After, 1, f.nrows-1) {
		return nil, notApplicable(name, "positions %v must increase strictly within 1..%d", o.After, f.nrows-1)
	}
	g := &frame{nrows: f.nrows + len(o.After), title: f.title, caption: f.caption, cols: make([]column, len(f.cols))}
	for c, col := range f.cols {
		dt := col.dt
		if dt == dInt64 {
			dt = dFloat64
		}
		cells := make([]value, 0, g.nrows)
		k := 0
		for r, v := range col.cells {
			if k < len(o.After) && o.After[k] == r {
				cells = append(cells, nanVal())
				k++
			}
			cells = append(cells, cast(v, dt))
		}
		g.cols[c] = column{label: append([]value(nil), col.label...), dt: dt, cells: cells}
	}
	return g, nil
}

func sampleInsertBlankRows(rng *rand.Rand, f *frame) Op {
	if f.index > 0 || f.nrows < 3 || len(f.cols) == 0 {
		return nil
	}
	k := 1 + rng.IntN(min(3, f.nrows-1))
	pos := pick(rng, f.nrows-1, k)
	for i := range pos {
		pos[i]++
	}
	return NewInsertBlankRows(pos...)
}

// RemoveBlankRows drops rows in which every cell is empty (NaN or blank
// text).
//
//	df = df[~df.apply(lambda s: s.isna() | s.astype(str).str.strip().eq("")).all(axis=1)].reset_index(drop=True)
type RemoveBlankRows struct{}

// NewRemoveBlankRows returns the operator.
func NewRemoveBlankRows() *RemoveBlankRows { return &RemoveBlankRows{} }

func (*RemoveBlankRows) Name() string                     { return "remove_blank_rows" }
func (o *RemoveBlankRows) Apply(t *Table) (*Table, error) { return applyOne(o, t) }
func (*RemoveBlankRows) Program() string {
	return "df = df[~df.apply(lambda s: s.isna() | s.astype(str).str.strip().eq(\"\")).all(axis=1)].reset_index(drop=True)"
}

func (f *frame) blankRow(r int) bool {
	for _, c := range f.cols {
		v := c.cells[r]
		if !v.isNA() && !(v.k == vStr && pyStrip(v.s) == "") {
			return false
		}
	}
	return true
}

func (o *RemoveBlankRows) apply(f *frame) (*frame, error) {
	const name = "remove_blank_rows"
	if err := f.plain(name); err != nil {
		return nil, err
	}
	if len(f.cols) == 0 {
		return nil, notApplicable(name, "no columns")
	}
	var keep []int
	for r := 0; r < f.nrows; r++ {
		if !f.blankRow(r) {
			keep = append(keep, r)
		}
	}
	if len(keep) == f.nrows || len(keep) == 0 {
		return nil, notApplicable(name, "%d of %d rows are blank: want some but not all", f.nrows-len(keep), f.nrows)
	}
	return f.takeRows(keep), nil
}

func sampleRemoveBlankRows(_ *rand.Rand, f *frame) Op {
	if _, err := NewRemoveBlankRows().apply(f); err != nil {
		return nil
	}
	return NewRemoveBlankRows()
}

// FillDown fills the empty cells of text columns (merged cells spread out)
// with the value above; also NaN in float columns.
//
//	df[COL] = df[COL].replace("", np.nan).ffill()
type FillDown struct {
	Cols []int
	keys []string
}

// NewFillDown returns the operator.
func NewFillDown(cols ...int) *FillDown { return &FillDown{Cols: append([]int(nil), cols...)} }

func (*FillDown) Name() string                     { return "fill_down" }
func (o *FillDown) Apply(t *Table) (*Table, error) { return applyOne(o, t) }
func (o *FillDown) Program() string {
	lines := make([]string, len(o.Cols))
	for i, c := range o.Cols {
		k := fmt.Sprintf("df.columns[%d]", c)
		if i < len(o.keys) {
			k = o.keys[i]
		}
		lines[i] = fmt.Sprintf("df[%s] = df[%s].replace(\"\", np.nan).ffill()", k, k)
	}
	return strings.Join(lines, "\n")
}

// fillable reports whether column c has an empty cell below a filled one
// and a dtype the fill keeps (text, or float).
func fillable(c column) bool {
	empty := func(v value) bool { return v.isNA() || (v.k == vStr && v.s == "") }
	if c.dt != dFloat64 && !c.allStr(true) {
		return false
	}
	seen := false
	for _, v := range c.cells {
		if !empty(v) {
			seen = true
		} else if seen {
			return true
		}
	}
	return false
}

// checkCellCols refuses a cell operator's column list unless it is
// non-empty, names existing columns once each, and every column passes ok
// (why says what a refused column lacks).
func checkCellCols(f *frame, name string, cols []int, ok func(column) bool, why string) error {
	if len(cols) == 0 {
		return notApplicable(name, "no columns")
	}
	for i, c := range cols {
		if _, err := f.keyOf(name, c); err != nil {
			return err
		}
		if slices.Contains(cols[:i], c) {
			return notApplicable(name, "column %d listed twice", c)
		}
		if !ok(f.cols[c]) {
			return notApplicable(name, "column %d %s", c, why)
		}
	}
	return nil
}

func (o *FillDown) apply(f *frame) (*frame, error) {
	const name = "fill_down"
	if err := f.plain(name); err != nil {
		return nil, err
	}
	if err := checkCellCols(f, name, o.Cols, fillable, "has nothing to fill or is not text or float"); err != nil {
		return nil, err
	}
	g := f.clone()
	for _, c := range o.Cols {
		cells := g.cols[c].cells
		last := nanVal()
		for r, v := range cells {
			if v.isNA() || (v.k == vStr && v.s == "") {
				cells[r] = last
			} else {
				last = v
			}
		}
	}
	return g, nil
}

func sampleFillDown(rng *rand.Rand, f *frame) Op {
	if f.index > 0 {
		return nil
	}
	var fit []int
	for c := range f.cols {
		if _, err := f.keyOf("fill_down", c); err == nil && fillable(f.cols[c]) {
			fit = append(fit, c)
		}
	}
	if len(fit) == 0 {
		return nil
	}
	var cols []int
	for _, i := range pick(rng, len(fit), 1+rng.IntN(min(2, len(fit)))) {
		cols = append(cols, fit[i])
	}
	op := NewFillDown(cols...)
	for _, c := range cols {
		k, _ := f.keyOf("fill_down", c)
		op.keys = append(op.keys, k)
	}
	return op
}

// BlankRepeats blanks a text cell equal to the one above it, the way
// merged cells are printed.
//
//	df[COL] = df[COL].where(df[COL].ne(df[COL].shift()), "")
type BlankRepeats struct {
	Cols []int
	keys []string
}

// NewBlankRepeats returns the operator.
func NewBlankRepeats(cols ...int) *BlankRepeats {
	return &BlankRepeats{Cols: append([]int(nil), cols...)}
}

func (*BlankRepeats) Name() string                     { return "blank_repeats" }
func (o *BlankRepeats) Apply(t *Table) (*Table, error) { return applyOne(o, t) }
func (o *BlankRepeats) Program() string {
	lines := make([]string, len(o.Cols))
	for i, c := range o.Cols {
		k := fmt.Sprintf("df.columns[%d]", c)
		if i < len(o.keys) {
			k = o.keys[i]
		}
		lines[i] = fmt.Sprintf("df[%s] = df[%s].where(df[%s].ne(df[%s].shift()), \"\")", k, k, k, k)
	}
	return strings.Join(lines, "\n")
}

func repeats(c column) bool {
	if !c.allStr(false) {
		return false
	}
	for r := 1; r < len(c.cells); r++ {
		if c.cells[r].s != "" && c.cells[r].s == c.cells[r-1].s {
			return true
		}
	}
	return false
}

func (o *BlankRepeats) apply(f *frame) (*frame, error) {
	const name = "blank_repeats"
	if err := f.plain(name); err != nil {
		return nil, err
	}
	if err := checkCellCols(f, name, o.Cols, repeats, "is not text with repeated adjacent cells"); err != nil {
		return nil, err
	}
	g := f.clone()
	for _, c := range o.Cols {
		src := f.cols[c].cells
		for r := 1; r < len(src); r++ {
			if src[r].s == src[r-1].s {
				g.cols[c].cells[r] = strVal("")
			}
		}
	}
	return g, nil
}

func sampleBlankRepeats(rng *rand.Rand, f *frame) Op {
	if f.index > 0 {
		return nil
	}
	var fit []int
	for c := range f.cols {
		if _, err := f.keyOf("blank_repeats", c); err == nil && repeats(f.cols[c]) {
			fit = append(fit, c)
		}
	}
	if len(fit) == 0 {
		return nil
	}
	c := fit[rng.IntN(len(fit))]
	op := NewBlankRepeats(c)
	k, _ := f.keyOf("blank_repeats", c)
	op.keys = []string{k}
	return op
}

// AppendTotal appends a totals row: Label in column LabelCol (a text
// column), the sum of every int or float column, empty text elsewhere.
//
//	_total = [df.iloc[:, i].sum() if df.iloc[:, i].dtype.kind in "if" else "" for i in range(df.shape[1])]
//	_total[LABELCOL] = LABEL
//	df = pd.concat([df, pd.DataFrame([_total], columns=df.columns)], ignore_index=True)
type AppendTotal struct {
	LabelCol int
	Label    string
}

// NewAppendTotal returns the operator.
func NewAppendTotal(labelCol int, label string) *AppendTotal {
	return &AppendTotal{LabelCol: labelCol, Label: label}
}

func (*AppendTotal) Name() string                     { return "append_total" }
func (o *AppendTotal) Apply(t *Table) (*Table, error) { return applyOne(o, t) }
func (o *AppendTotal) Program() string {
	return "_total = [df.iloc[:, i].sum() if df.iloc[:, i].dtype.kind in \"if\" else \"\" for i in range(df.shape[1])]\n" +
		fmt.Sprintf("_total[%d] = %s\n", o.LabelCol, strconv.Quote(o.Label)) +
		"df = pd.concat([df, pd.DataFrame([_total], columns=df.columns)], ignore_index=True)"
}

func (o *AppendTotal) apply(f *frame) (*frame, error) {
	const name = "append_total"
	if err := f.plain(name); err != nil {
		return nil, err
	}
	if o.LabelCol < 0 || o.LabelCol >= len(f.cols) || f.cols[o.LabelCol].dt != dObject {
		return nil, notApplicable(name, "label column %d must be a text column", o.LabelCol)
	}
	total := make([]value, len(f.cols))
	numeric := 0
	for c, col := range f.cols {
		switch col.dt {
		case dInt64:
			var s int64
			for _, v := range col.cells {
				var overflow bool
				s, overflow = addInt64(s, v.i)
				if overflow {
					return nil, notApplicable(name, "column %d's total overflows int64", c)
				}
			}
			total[c] = intVal(s)
			numeric++
		case dFloat64:
			xs := make([]float64, len(col.cells))
			for r, v := range col.cells {
				if !v.isNA() {
					xs[r] = v.f // NaN counts as 0 (skipna)
				}
			}
			total[c] = floatVal(numpySum(xs))
			numeric++
		default:
			total[c] = strVal("")
		}
	}
	if numeric == 0 {
		return nil, notApplicable(name, "no int or float column to total")
	}
	total[o.LabelCol] = strVal(o.Label)
	g := f.clone()
	for c := range g.cols {
		g.cols[c].cells = append(g.cols[c].cells, total[c])
	}
	g.nrows++
	return g, nil
}

func addInt64(a, b int64) (int64, bool) {
	s, _ := bits.Add64(uint64(a), uint64(b), 0)
	r := int64(s)
	return r, (a >= 0) == (b >= 0) && (r >= 0) != (a >= 0)
}

var totalLabels = []string{"Total", "Sum", "All", "Overall"}

func sampleAppendTotal(rng *rand.Rand, f *frame) Op {
	if f.index > 0 || f.nrows < 2 {
		return nil
	}
	for c, col := range f.cols {
		if col.dt == dObject {
			op := NewAppendTotal(c, totalLabels[rng.IntN(len(totalLabels))])
			if _, err := op.apply(f); err != nil {
				return nil
			}
			return op
		}
	}
	return nil
}

// RemoveTotal drops the rows whose cell in column LabelCol is a totals
// label (total, sum, all, overall, grand total; any case, surrounding
// blanks ignored).
//
//	df = df[~df.iloc[:, COL].astype(str).str.strip().str.lower().isin([...])].reset_index(drop=True)
type RemoveTotal struct{ LabelCol int }

// NewRemoveTotal returns the operator.
func NewRemoveTotal(labelCol int) *RemoveTotal { return &RemoveTotal{LabelCol: labelCol} }

var totalWords = []string{"total", "sum", "all", "overall", "grand total"}

func (*RemoveTotal) Name() string                     { return "remove_total" }
func (o *RemoveTotal) Apply(t *Table) (*Table, error) { return applyOne(o, t) }
func (o *RemoveTotal) Program() string {
	return fmt.Sprintf("df = df[~df.iloc[:, %d].astype(str).str.strip().str.lower().isin(%s)].reset_index(drop=True)", o.LabelCol, pyStrList(totalWords))
}

func isTotalLabel(v value) bool {
	if v.k != vStr {
		return false
	}
	// Go and Python lower-case a few non-ASCII runes differently (U+0130),
	// but none of them lower-cases to a letter of the keywords.
	return slices.Contains(totalWords, strings.ToLower(pyStrip(v.s)))
}

func (o *RemoveTotal) apply(f *frame) (*frame, error) {
	const name = "remove_total"
	if err := f.plain(name); err != nil {
		return nil, err
	}
	if o.LabelCol < 0 || o.LabelCol >= len(f.cols) || f.cols[o.LabelCol].dt != dObject {
		return nil, notApplicable(name, "label column %d must be a text column", o.LabelCol)
	}
	var keep []int
	for r, v := range f.cols[o.LabelCol].cells {
		if !isTotalLabel(v) {
			keep = append(keep, r)
		}
	}
	if len(keep) == f.nrows || len(keep) == 0 {
		return nil, notApplicable(name, "no totals row to remove (or only totals rows)")
	}
	return f.takeRows(keep), nil
}

func sampleRemoveTotal(_ *rand.Rand, f *frame) Op {
	if f.index > 0 {
		return nil
	}
	for c, col := range f.cols {
		if col.dt == dObject {
			op := NewRemoveTotal(c)
			if _, err := op.apply(f); err == nil {
				return op
			}
		}
	}
	return nil
}
