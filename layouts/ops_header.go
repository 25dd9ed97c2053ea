package layouts

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
)

// Transpose swaps rows and columns around the first column: the first
// column's values become the header, the other column names become the
// first column (named like the old first column).
//
//	df = df.set_index(FIRST).T.rename_axis(FIRST).reset_index()
type Transpose struct {
	key string // the first column's label literal, set by the sampler
}

// NewTranspose returns the transpose operator.
func NewTranspose() *Transpose { return &Transpose{} }

func (*Transpose) Name() string                     { return "transpose" }
func (o *Transpose) Apply(t *Table) (*Table, error) { return applyOne(o, t) }

// Program needs the first column's label, known only with a table: it uses
// df.columns[0], which names the same column.
func (o *Transpose) Program() string {
	k := "df.columns[0]"
	if o.key != "" {
		k = o.key
	}
	return "df = df.set_index(" + k + ").T.rename_axis(" + k + ").reset_index()"
}

func (o *Transpose) apply(f *frame) (*frame, error) {
	const name = "transpose"
	if err := f.singleLevel(name); err != nil {
		return nil, err
	}
	if len(f.cols) < 2 || f.nrows < 1 {
		return nil, notApplicable(name, "need at least 2 columns and 1 row")
	}
	if _, err := f.keyOf(name, 0); err != nil {
		return nil, err
	}
	first := f.cols[0]
	x := first.label[0]
	for r, v := range first.cells {
		if v.isNA() {
			return nil, notApplicable(name, "first column is empty in row %d: it would become an empty column name", r)
		}
		if v.pyEqual(x) {
			return nil, notApplicable(name, "first column holds its own name %q in row %d", x.dump(), r)
		}
		for q := 0; q < r; q++ {
			if first.cells[q].pyEqual(v) {
				return nil, notApplicable(name, "first column value %q repeats (rows %d and %d): column names would not be unique", v.dump(), q, r)
			}
		}
	}
	rest := f.cols[1:]
	dt := interleave(rest)
	labels := make([]value, len(rest))
	for i, c := range rest {
		labels[i] = c.label[0]
	}
	g := &frame{nrows: len(rest), title: f.title, caption: f.caption}
	g.cols = make([]column, 0, f.nrows+1)
	// The old names reach the new first column through the columns Index
	// minus the first label (Index.delete keeps the dtype), so their dtype
	// is that of the whole Index: inferred over every label, as every
	// operator leaves it.
	ldt := indexDtype(f.labels())
	g.cols = append(g.cols, column{label: []value{x}, dt: ldt, cells: castAll(labels, ldt)})
	// set_index makes an Index of the first column, which infers a dtype.
	names := castAll(first.cells, indexDtype(first.cells))
	for r := 0; r < f.nrows; r++ {
		c := column{label: []value{names[r]}, dt: dt, cells: make([]value, len(rest))}
		for i, rc := range rest {
			c.cells[i] = cast(rc.cells[r], dt)
		}
		g.cols = append(g.cols, c)
	}
	return g, nil
}

func sampleTranspose(_ *rand.Rand, f *frame) Op {
	if f.nrows > 30 || f.levels() != 1 || len(f.cols) < 2 {
		return nil // a very wide result makes a poor task
	}
	k, err := f.keyOf("transpose", 0)
	if err != nil {
		return nil
	}
	return &Transpose{key: k}
}

// PromoteHeader makes body row Row the header; the rows above it and the
// old header are dropped (pd.read_csv's header=Row).
//
//	df.columns = list(df.iloc[ROW])
//	df = df.iloc[ROW+1:].reset_index(drop=True)
type PromoteHeader struct{ Row int }

// NewPromoteHeader returns the operator promoting body row row.
func NewPromoteHeader(row int) *PromoteHeader { return &PromoteHeader{Row: row} }

func (*PromoteHeader) Name() string                     { return "promote_header" }
func (o *PromoteHeader) Apply(t *Table) (*Table, error) { return applyOne(o, t) }
func (o *PromoteHeader) Program() string {
	return fmt.Sprintf("df.columns = list(df.iloc[%d])\ndf = df.iloc[%d:].reset_index(drop=True)", o.Row, o.Row+1)
}

func (o *PromoteHeader) apply(f *frame) (*frame, error) {
	const name = "promote_header"
	if err := f.singleLevel(name); err != nil {
		return nil, err
	}
	if o.Row < 0 || o.Row+1 >= f.nrows {
		return nil, notApplicable(name, "row %d must leave at least one body row (table has %d)", o.Row, f.nrows)
	}
	dt := interleave(f.cols)
	g := f.clone()
	for c := range g.cols {
		v := cast(g.cols[c].cells[o.Row], dt)
		if v.isNA() {
			return nil, notApplicable(name, "row %d is empty in column %d: the header would hold NaN", o.Row, c)
		}
		g.cols[c].label = []value{v}
		g.cols[c].cells = g.cols[c].cells[o.Row+1:]
	}
	g.nrows = f.nrows - o.Row - 1
	return g, nil
}

func samplePromoteHeader(_ *rand.Rand, f *frame) Op {
	if f.nrows < 3 {
		return nil
	}
	return NewPromoteHeader(0) // the first row is where a misplaced header sits
}

// DemoteHeader turns the header into the first body row; the columns are
// numbered 0..n-1 and every column becomes object dtype.
//
//	df = pd.DataFrame([list(df.columns)] + df.values.tolist(), dtype=object)
type DemoteHeader struct{}

// NewDemoteHeader returns the operator.
func NewDemoteHeader() *DemoteHeader { return &DemoteHeader{} }

func (*DemoteHeader) Name() string                     { return "demote_header" }
func (o *DemoteHeader) Apply(t *Table) (*Table, error) { return applyOne(o, t) }
func (*DemoteHeader) Program() string {
	return "df = pd.DataFrame([list(df.columns)] + df.values.tolist(), dtype=object)"
}

func (o *DemoteHeader) apply(f *frame) (*frame, error) {
	const name = "demote_header"
	if err := f.singleLevel(name); err != nil {
		return nil, err
	}
	if len(f.cols) == 0 {
		return nil, notApplicable(name, "no columns")
	}
	dt := interleave(f.cols)
	g := &frame{nrows: f.nrows + 1, title: f.title, caption: f.caption, cols: make([]column, len(f.cols))}
	for c, col := range f.cols {
		cells := make([]value, 0, f.nrows+1)
		cells = append(cells, col.label[0])
		for _, v := range col.cells {
			cells = append(cells, cast(v, dt))
		}
		g.cols[c] = column{label: []value{intVal(int64(c))}, dt: dObject, cells: cells}
	}
	return g, nil
}

func sampleDemoteHeader(_ *rand.Rand, f *frame) Op {
	if f.levels() != 1 {
		return nil
	}
	return NewDemoteHeader()
}

// FlattenHeader joins a multi-level header into one level: each column's
// non-empty level names, repeats dropped, joined by Sep.
//
//	df.columns = [SEP.join(dict.fromkeys(p for p in c if p != "")) for c in df.columns]
type FlattenHeader struct{ Sep string }

// NewFlattenHeader returns the operator joining levels with sep.
func NewFlattenHeader(sep string) *FlattenHeader { return &FlattenHeader{Sep: sep} }

func (*FlattenHeader) Name() string                     { return "flatten_header" }
func (o *FlattenHeader) Apply(t *Table) (*Table, error) { return applyOne(o, t) }
func (o *FlattenHeader) Program() string {
	return fmt.Sprintf("df.columns = [%s.join(dict.fromkeys(p for p in c if p != \"\")) for c in df.columns]", strconv.Quote(o.Sep))
}

func (o *FlattenHeader) apply(f *frame) (*frame, error) {
	const name = "flatten_header"
	if err := f.plain(name); err != nil {
		return nil, err
	}
	if f.levels() < 2 {
		return nil, notApplicable(name, "the header has one level")
	}
	g := f.clone()
	for c := range g.cols {
		var parts []string
		for _, v := range g.cols[c].label {
			if v.k != vStr {
				return nil, notApplicable(name, "column %d has a non-string level name", c)
			}
			if v.s == "" || containsStr(parts, v.s) {
				continue
			}
			parts = append(parts, v.s)
		}
		g.cols[c].label = []value{strVal(strings.Join(parts, o.Sep))}
	}
	return g, nil
}

func containsStr(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

var headerSeps = []string{" | ", "_", " - ", ": ", " / ", " "}

func sampleFlattenHeader(rng *rand.Rand, f *frame) Op {
	if f.levels() < 2 {
		return nil
	}
	return NewFlattenHeader(headerSeps[rng.IntN(len(headerSeps)-1)])
}

// SplitHeader splits one-level column names on Sep into header levels;
// names with fewer parts are padded with empty names at the bottom.
//
//	_parts = [c.split(SEP) for c in df.columns]
//	_depth = max(len(p) for p in _parts)
//	df.columns = pd.MultiIndex.from_tuples([tuple(p + [""] * (_depth - len(p))) for p in _parts])
type SplitHeader struct{ Sep string }

// NewSplitHeader returns the operator splitting names on sep.
func NewSplitHeader(sep string) *SplitHeader { return &SplitHeader{Sep: sep} }

func (*SplitHeader) Name() string                     { return "split_header" }
func (o *SplitHeader) Apply(t *Table) (*Table, error) { return applyOne(o, t) }
func (o *SplitHeader) Program() string {
	return fmt.Sprintf("_parts = [c.split(%s) for c in df.columns]\n_depth = max(len(p) for p in _parts)\n"+
		"df.columns = pd.MultiIndex.from_tuples([tuple(p + [\"\"] * (_depth - len(p))) for p in _parts])", strconv.Quote(o.Sep))
}

// maxSplitLevels bounds the levels SplitHeader creates.
const maxSplitLevels = 4

func (o *SplitHeader) apply(f *frame) (*frame, error) {
	const name = "split_header"
	if err := f.singleLevel(name); err != nil {
		return nil, err
	}
	if o.Sep == "" {
		return nil, notApplicable(name, "empty separator")
	}
	parts := make([][]string, len(f.cols))
	depth := 0
	for c, col := range f.cols {
		if col.label[0].k != vStr {
			return nil, notApplicable(name, "column %d has a non-string name", c)
		}
		parts[c] = strings.Split(col.label[0].s, o.Sep)
		depth = max(depth, len(parts[c]))
	}
	if depth < 2 || depth > maxSplitLevels {
		return nil, notApplicable(name, "splitting on %q gives %d levels, want 2..%d", o.Sep, depth, maxSplitLevels)
	}
	g := f.clone()
	for c := range g.cols {
		lab := make([]value, depth)
		for l := range lab {
			if l < len(parts[c]) {
				lab[l] = strVal(parts[c][l])
			} else {
				lab[l] = strVal("")
			}
		}
		g.cols[c].label = lab
	}
	return g, nil
}

func sampleSplitHeader(rng *rand.Rand, f *frame) Op {
	if f.levels() != 1 {
		return nil
	}
	var fit []string
	for _, sep := range headerSeps {
		n := 0
		for _, c := range f.cols {
			if c.label[0].k == vStr && strings.Contains(c.label[0].s, sep) {
				n++
			}
		}
		if n > 0 {
			fit = append(fit, sep)
		}
	}
	if len(fit) == 0 {
		return nil
	}
	return NewSplitHeader(fit[rng.IntN(len(fit))])
}

// ReorderColumns puts the columns in the order Order (a permutation of
// column positions).
//
//	df = df[[NAME, ...]]            (or df.iloc[:, [POS, ...]] without unique names)
type ReorderColumns struct {
	Order []int
	// keys are the labels' literals, set when bound to a table whose
	// labels are unique; Program then names columns.
	keys []string
}

// NewReorderColumns returns the operator; order[i] is the old position of
// new column i.
func NewReorderColumns(order []int) *ReorderColumns {
	return &ReorderColumns{Order: append([]int(nil), order...)}
}

func (*ReorderColumns) Name() string                     { return "reorder_columns" }
func (o *ReorderColumns) Apply(t *Table) (*Table, error) { return applyOne(o, t) }
func (o *ReorderColumns) Program() string {
	if len(o.keys) == len(o.Order) && len(o.keys) > 0 {
		return "df = df[[" + strings.Join(o.keys, ", ") + "]]"
	}
	return "df = df.iloc[:, " + pyIntList(o.Order) + "]"
}

func (o *ReorderColumns) apply(f *frame) (*frame, error) {
	const name = "reorder_columns"
	if err := f.plain(name); err != nil {
		return nil, err
	}
	if len(o.Order) != len(f.cols) {
		return nil, notApplicable(name, "order has %d positions, table has %d columns", len(o.Order), len(f.cols))
	}
	seen := make([]bool, len(f.cols))
	for _, p := range o.Order {
		if p < 0 || p >= len(f.cols) || seen[p] {
			return nil, notApplicable(name, "order %v is not a permutation of 0..%d", o.Order, len(f.cols)-1)
		}
		seen[p] = true
	}
	g := &frame{nrows: f.nrows, title: f.title, caption: f.caption, cols: make([]column, len(f.cols))}
	src := f.clone()
	for i, p := range o.Order {
		g.cols[i] = src.cols[p]
	}
	return g, nil
}

func sampleReorderColumns(rng *rand.Rand, f *frame) Op {
	if len(f.cols) < 2 || f.index > 0 {
		return nil
	}
	var order []int
	for {
		order = rng.Perm(len(f.cols))
		if !isIdentity(order) {
			break
		}
	}
	op := NewReorderColumns(order)
	keys := make([]string, len(order))
	for i, p := range order {
		k, err := f.keyOf("reorder_columns", p)
		if err != nil {
			return op
		}
		keys[i] = k
	}
	op.keys = keys
	return op
}

func isIdentity(p []int) bool {
	for i, x := range p {
		if i != x {
			return false
		}
	}
	return true
}

// Rename is one column rename: the column at position Col gets name To.
type Rename struct {
	Col int
	To  string
}

// RenameColumns renames columns of a one-level header.
//
//	df = df.rename(columns={OLD: NEW, ...})
type RenameColumns struct {
	Renames []Rename
	keys    []string // the old labels' literals, set when bound to a table
}

// NewRenameColumns returns the operator. Program names the old labels, so
// it is complete once the operator has been applied to (or sampled for) a
// table.
func NewRenameColumns(renames ...Rename) *RenameColumns {
	return &RenameColumns{Renames: append([]Rename(nil), renames...)}
}

func (*RenameColumns) Name() string                     { return "rename_columns" }
func (o *RenameColumns) Apply(t *Table) (*Table, error) { return applyOne(o, t) }
func (o *RenameColumns) Program() string {
	parts := make([]string, len(o.Renames))
	for i, r := range o.Renames {
		k := fmt.Sprintf("df.columns[%d]", r.Col)
		if i < len(o.keys) {
			k = o.keys[i]
		}
		parts[i] = k + ": " + strconv.Quote(r.To)
	}
	return "df = df.rename(columns={" + strings.Join(parts, ", ") + "})"
}

func (o *RenameColumns) apply(f *frame) (*frame, error) {
	const name = "rename_columns"
	if err := f.singleLevel(name); err != nil {
		return nil, err
	}
	if len(o.Renames) == 0 {
		return nil, notApplicable(name, "no renames")
	}
	g := f.clone()
	for i, r := range o.Renames {
		if _, err := f.keyOf(name, r.Col); err != nil {
			return nil, err
		}
		if f.cols[r.Col].label[0].k != vStr {
			return nil, notApplicable(name, "column %d's name is not a string", r.Col)
		}
		for j := 0; j < i; j++ {
			if o.Renames[j].Col == r.Col {
				return nil, notApplicable(name, "column %d renamed twice", r.Col)
			}
		}
		g.cols[r.Col].label = []value{strVal(r.To)}
	}
	for i := range g.cols {
		for j := 0; j < i; j++ {
			if labelsEqual(g.cols[i].label, g.cols[j].label) && (isRenamed(o.Renames, i) || isRenamed(o.Renames, j)) {
				return nil, notApplicable(name, "new name %q clashes with another column", g.cols[i].label[0].dump())
			}
		}
	}
	return g, nil
}

func isRenamed(rs []Rename, c int) bool {
	for _, r := range rs {
		if r.Col == c {
			return true
		}
	}
	return false
}

func sampleRenameColumns(rng *rand.Rand, f *frame) Op {
	if f.levels() != 1 || f.index > 0 {
		return nil
	}
	var ok []int
	for c := range f.cols {
		if _, err := f.keyOf("rename_columns", c); err == nil && f.cols[c].label[0].k == vStr {
			ok = append(ok, c)
		}
	}
	if len(ok) == 0 {
		return nil
	}
	style := rng.IntN(5)
	var rs []Rename
	for _, i := range pick(rng, len(ok), 1+rng.IntN(min(3, len(ok)))) {
		c := ok[i]
		old := f.cols[c].label[0].s
		to := restyle(old, style, c)
		if to == old {
			to = fmt.Sprintf("col_%d", c)
		}
		rs = append(rs, Rename{Col: c, To: to})
	}
	op := NewRenameColumns(rs...)
	if _, err := op.apply(f); err != nil {
		return nil
	}
	for _, r := range rs {
		k, _ := f.keyOf("rename_columns", r.Col)
		op.keys = append(op.keys, k)
	}
	return op
}

// restyle renames a column the way real tables differ: case, snake_case,
// or a generic positional name.
func restyle(s string, style, c int) string {
	switch style {
	case 0:
		return strings.ToLower(s)
	case 1:
		return strings.ToUpper(s)
	case 2:
		return strings.Join(strings.Fields(strings.ToLower(s)), "_")
	case 3:
		return fmt.Sprintf("col_%d", c)
	}
	return s + " (renamed)"
}
