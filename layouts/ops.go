package layouts

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
)

// Op is a layout transformation operator with its parameters bound: it
// turns a table into another one in Go (Apply) and says the same thing as
// pandas code (Program). The program assumes a DataFrame df built from the
// table by PandasBridge's load_table, with pandas imported as pd and numpy
// as np, and leaves its result in df; dump_table(df) then equals Apply's
// result under EqualCanonical. An operator that does not fit a table returns
// an *OpError (errors.Is(err, ErrNotApplicable)) rather than a wrong table.
//
// Operators are built by the New* constructors or by SampleOp. The set is
// closed: the unexported method lets a Chain compose operators on the
// pandas model of the table, so that each step sees the dtypes the previous
// pandas step really left.
type Op interface {
	// Name is the operator's name, as listed by OpNames.
	Name() string
	// Apply transforms t; t is not modified.
	Apply(t *Table) (*Table, error)
	// Program is the pandas code of the operator (one or more lines).
	Program() string

	apply(f *frame) (*frame, error)
}

// ErrNotApplicable is what every *OpError wraps: the operator does not fit
// the table (missing column, wrong dtype, would be ambiguous in pandas).
var ErrNotApplicable = errors.New("operator not applicable")

// OpError says which operator refused a table and why.
type OpError struct {
	Op     string // operator name
	Reason string
}

func (e *OpError) Error() string {
	return fmt.Sprintf("layouts: operator %s does not apply: %s", e.Op, e.Reason)
}

// Unwrap makes errors.Is(err, ErrNotApplicable) hold.
func (e *OpError) Unwrap() error { return ErrNotApplicable }

func notApplicable(op, format string, args ...any) error {
	return &OpError{Op: op, Reason: fmt.Sprintf(format, args...)}
}

// applyOne is the shared Apply: load, transform the model, dump.
func applyOne(op Op, t *Table) (*Table, error) {
	if t == nil {
		return nil, notApplicable(op.Name(), "nil table")
	}
	f, err := loadFrame(t)
	if err != nil {
		return nil, err
	}
	g, err := op.apply(f)
	if err != nil {
		return nil, err
	}
	return dumpFrame(g), nil
}

// Chain is operators applied in order; its program is their programs
// concatenated.
type Chain []Op

// Apply runs every operator in turn on the pandas model of t.
func (c Chain) Apply(t *Table) (*Table, error) {
	if t == nil {
		return nil, notApplicable("chain", "nil table")
	}
	f, err := loadFrame(t)
	if err != nil {
		return nil, err
	}
	for _, op := range c {
		if f, err = op.apply(f); err != nil {
			return nil, err
		}
	}
	return dumpFrame(f), nil
}

// Program is the operators' programs, one after the other.
func (c Chain) Program() string {
	parts := make([]string, len(c))
	for i, op := range c {
		parts[i] = op.Program()
	}
	return strings.Join(parts, "\n")
}

// Names lists the operators' names in order.
func (c Chain) Names() []string {
	out := make([]string, len(c))
	for i, op := range c {
		out[i] = op.Name()
	}
	return out
}

// opSpec is an operator kind: its name and a sampler that picks parameters
// fitting a frame (nil when none fit).
type opSpec struct {
	name   string
	sample func(rng *rand.Rand, f *frame) Op
}

func opSpecs() []opSpec {
	return []opSpec{
		{"transpose", sampleTranspose},
		{"promote_header", samplePromoteHeader},
		{"demote_header", sampleDemoteHeader},
		{"flatten_header", sampleFlattenHeader},
		{"split_header", sampleSplitHeader},
		{"melt", sampleMelt},
		{"pivot", samplePivot},
		{"set_index", sampleSetIndex},
		{"reset_index", sampleResetIndex},
		{"sort_rows", sampleSortRows},
		{"reorder_columns", sampleReorderColumns},
		{"rename_columns", sampleRenameColumns},
		{"insert_blank_rows", sampleInsertBlankRows},
		{"remove_blank_rows", sampleRemoveBlankRows},
		{"fill_down", sampleFillDown},
		{"blank_repeats", sampleBlankRepeats},
		{"append_total", sampleAppendTotal},
		{"remove_total", sampleRemoveTotal},
		{"split_column", sampleSplitColumn},
		{"join_columns", sampleJoinColumns},
	}
}

// OpNames lists every operator name, in a fixed order.
func OpNames() []string {
	specs := opSpecs()
	out := make([]string, len(specs))
	for i, s := range specs {
		out[i] = s.name
	}
	return out
}

// SampleOp picks parameters for the named operator that fit t, using rng.
// It returns an *OpError when no parameters fit and an error naming the
// known operators when name is unknown.
func SampleOp(rng *rand.Rand, name string, t *Table) (Op, error) {
	f, err := loadFrame(t)
	if err != nil {
		return nil, err
	}
	for _, s := range opSpecs() {
		if s.name == name {
			if op := s.sample(rng, f); op != nil {
				if _, err := op.apply(f); err != nil {
					return nil, err
				}
				return op, nil
			}
			return nil, notApplicable(name, "no parameters fit this table")
		}
	}
	return nil, fmt.Errorf("layouts: unknown operator %q; known: %s", name, strings.Join(OpNames(), ", "))
}

// pyLit is the Python literal of a value usable as a column key: strings
// and ints. Floats (NaN among them) are refused.
func pyLit(v value) (string, bool) {
	switch v.k {
	case vStr:
		return strconv.Quote(v.s), true // Go's escapes are valid in Python
	case vInt:
		return strconv.FormatInt(v.i, 10), true
	}
	return "", false
}

// labelLit is the literal of a column label: a scalar for one header
// level, a tuple for several.
func labelLit(label []value) (string, bool) {
	if len(label) == 1 {
		return pyLit(label[0])
	}
	parts := make([]string, len(label))
	for i, v := range label {
		s, ok := pyLit(v)
		if !ok {
			return "", false
		}
		parts[i] = s
	}
	return "(" + strings.Join(parts, ", ") + ")", true
}

func pyStrList(ss []string) string {
	parts := make([]string, len(ss))
	for i, s := range ss {
		parts[i] = strconv.Quote(s)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

func pyIntList(xs []int) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = strconv.Itoa(x)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

func labelsEqual(a, b []value) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !a[i].pyEqual(b[i]) {
			return false
		}
	}
	return true
}

// keyOf checks that column c can be named in pandas code: its label is
// unique and has a literal. It returns the literal.
func (f *frame) keyOf(op string, c int) (string, error) {
	if c < 0 || c >= len(f.cols) {
		return "", notApplicable(op, "column %d out of range (table has %d columns)", c, len(f.cols))
	}
	for i := range f.cols {
		if i != c && labelsEqual(f.cols[i].label, f.cols[c].label) {
			return "", notApplicable(op, "column %d's label %q is not unique", c, f.cols[c].label[len(f.cols[c].label)-1].dump())
		}
	}
	if f.levels() > 1 && !f.uniqueLabels() {
		// pandas cannot look up any key in a non-unique MultiIndex.
		return "", notApplicable(op, "the multi-level header has repeated column labels")
	}
	lit, ok := labelLit(f.cols[c].label)
	if !ok {
		return "", notApplicable(op, "column %d has a label with no Python literal", c)
	}
	return lit, nil
}

// labels is the one-level labels of every column.
func (f *frame) labels() []value {
	out := make([]value, len(f.cols))
	for i, c := range f.cols {
		out[i] = c.label[0]
	}
	return out
}

// uniqueLabels reports whether no two columns share a label.
func (f *frame) uniqueLabels() bool {
	for i := range f.cols {
		for j := 0; j < i; j++ {
			if labelsEqual(f.cols[i].label, f.cols[j].label) {
				return false
			}
		}
	}
	return true
}

// hasLabel reports whether some column other than those in skip has a
// one-level label equal to v.
func (f *frame) hasLabel(v value, skip ...int) bool {
outer:
	for i, c := range f.cols {
		for _, s := range skip {
			if i == s {
				continue outer
			}
		}
		if len(c.label) == 1 && c.label[0].pyEqual(v) {
			return true
		}
	}
	return false
}

// plain checks the common precondition of operators: no index set.
func (f *frame) plain(op string) error {
	if f.index > 0 {
		return notApplicable(op, "the table has row headers as its index; only reset_index applies")
	}
	return nil
}

func (f *frame) singleLevel(op string) error {
	if err := f.plain(op); err != nil {
		return err
	}
	if f.levels() != 1 {
		return notApplicable(op, "the table has %d header levels, want 1", f.levels())
	}
	return nil
}

// allStr reports whether an object column holds only strings (NaN allowed
// when nanOK).
func (c *column) allStr(nanOK bool) bool {
	if c.dt != dObject {
		return false
	}
	for _, v := range c.cells {
		if v.k != vStr && !(nanOK && v.isNA()) {
			return false
		}
	}
	return true
}

// interleave is the dtype numpy gives a row of values taken across columns
// (DataFrame.values, .T, melt's value column): int64 when every column is,
// float64 when all are numeric, object otherwise.
func interleave(cols []column) dtype {
	dt := dInt64
	for _, c := range cols {
		switch c.dt {
		case dObject:
			return dObject
		case dFloat64:
			dt = dFloat64
		}
	}
	return dt
}

// cast converts a cell to the interleaved dtype: ints become floats under
// float64; object keeps Python types.
func cast(v value, dt dtype) value {
	if dt == dFloat64 && v.k == vInt {
		return floatVal(float64(v.i))
	}
	return v
}

// indexDtype is the dtype of a column built from labels or keys (an Index):
// int64 when all are ints, float64 when all numeric, object otherwise.
func indexDtype(vs []value) dtype {
	dt := dInt64
	for _, v := range vs {
		switch v.k {
		case vStr:
			return dObject
		case vFloat:
			dt = dFloat64
		}
	}
	return dt
}

func castAll(vs []value, dt dtype) []value {
	out := make([]value, len(vs))
	for i, v := range vs {
		out[i] = cast(v, dt)
	}
	return out
}

// rowsIn is a sorted, duplicate-free list of positions check.
func strictlyIncreasing(xs []int, lo, hi int) bool {
	prev := lo - 1
	for _, x := range xs {
		if x <= prev || x > hi {
			return false
		}
		prev = x
	}
	return len(xs) > 0
}

// pick returns k distinct ints from [0, n) in increasing order.
func pick(rng *rand.Rand, n, k int) []int {
	if k > n {
		k = n
	}
	perm := rng.Perm(n)[:k]
	sortInts(perm)
	return perm
}

func sortInts(xs []int) {
	for i := 1; i < len(xs); i++ {
		for j := i; j > 0 && xs[j] < xs[j-1]; j-- {
			xs[j], xs[j-1] = xs[j-1], xs[j]
		}
	}
}
