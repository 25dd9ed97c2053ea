package layouts

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
)

// SplitColumn splits a text column at the first Sep into two columns named
// Names, in its place; a cell without Sep keeps its text in the first and
// leaves the second empty.
//
//	_parts = df[COL].str.split(SEP, n=1, expand=True, regex=False)
//	_parts.columns = [NAME1, NAME2]
//	df = pd.concat([df.iloc[:, :POS], _parts, df.iloc[:, POS+1:]], axis=1)
type SplitColumn struct {
	Col   int
	Sep   string
	Names [2]string
	key   string
}

// NewSplitColumn returns the operator.
func NewSplitColumn(col int, sep string, names [2]string) *SplitColumn {
	return &SplitColumn{Col: col, Sep: sep, Names: names}
}

func (*SplitColumn) Name() string                     { return "split_column" }
func (o *SplitColumn) Apply(t *Table) (*Table, error) { return applyOne(o, t) }
func (o *SplitColumn) Program() string {
	k := o.key
	if k == "" {
		k = fmt.Sprintf("df.columns[%d]", o.Col)
	}
	return fmt.Sprintf("_parts = df[%s].str.split(%s, n=1, expand=True, regex=False)\n_parts.columns = [%s, %s]\n"+
		"df = pd.concat([df.iloc[:, :%d], _parts, df.iloc[:, %d:]], axis=1)",
		k, strconv.Quote(o.Sep), strconv.Quote(o.Names[0]), strconv.Quote(o.Names[1]), o.Col, o.Col+1)
}

func (o *SplitColumn) check(f *frame) (string, error) {
	const name = "split_column"
	if err := f.singleLevel(name); err != nil {
		return "", err
	}
	k, err := f.keyOf(name, o.Col)
	if err != nil {
		return "", err
	}
	if o.Sep == "" {
		return "", notApplicable(name, "empty separator")
	}
	col := f.cols[o.Col]
	if !col.allStr(false) {
		return "", notApplicable(name, "column %d is not text", o.Col)
	}
	hit := false
	for _, v := range col.cells {
		if strings.Contains(v.s, o.Sep) {
			hit = true
			break
		}
	}
	if !hit {
		return "", notApplicable(name, "no cell of column %d contains %q", o.Col, o.Sep)
	}
	if o.Names[0] == o.Names[1] || f.hasLabel(strVal(o.Names[0]), o.Col) || f.hasLabel(strVal(o.Names[1]), o.Col) {
		return "", notApplicable(name, "new names %q would not be unique", o.Names)
	}
	return k, nil
}

func (o *SplitColumn) apply(f *frame) (*frame, error) {
	if _, err := o.check(f); err != nil {
		return nil, err
	}
	src := f.cols[o.Col]
	a := column{label: []value{strVal(o.Names[0])}, dt: dObject, cells: make([]value, f.nrows)}
	b := column{label: []value{strVal(o.Names[1])}, dt: dObject, cells: make([]value, f.nrows)}
	for r, v := range src.cells {
		left, right, ok := strings.Cut(v.s, o.Sep)
		a.cells[r] = strVal(left)
		if ok {
			b.cells[r] = strVal(right)
		} else {
			b.cells[r] = nanVal() // None in pandas
		}
	}
	g := f.clone()
	cols := append([]column(nil), g.cols[:o.Col]...)
	cols = append(cols, a, b)
	g.cols = append(cols, g.cols[o.Col+1:]...)
	return g, nil
}

var cellSeps = []string{" - ", "-", "–", "/", ", ", " ", ":", " (", "."}

func sampleSplitColumn(rng *rand.Rand, f *frame) Op {
	if f.levels() != 1 || f.index > 0 || f.nrows == 0 {
		return nil
	}
	for _, c := range rng.Perm(len(f.cols)) {
		col := f.cols[c]
		if !col.allStr(false) || col.label[0].k != vStr {
			continue
		}
		for _, si := range rng.Perm(len(cellSeps)) {
			sep := cellSeps[si]
			n := 0
			for _, v := range col.cells {
				if strings.Contains(v.s, sep) {
					n++
				}
			}
			if 2*n < f.nrows {
				continue
			}
			base := col.label[0].s
			names := [2]string{base + " 1", base + " 2"}
			if rng.IntN(2) == 0 {
				names = [2]string{base + " (a)", base + " (b)"}
			}
			op := NewSplitColumn(c, sep, names)
			k, err := op.check(f)
			if err != nil {
				continue
			}
			op.key = k
			return op
		}
	}
	return nil
}

// JoinColumns joins two columns (text or int) into one, Left's text, Sep,
// Right's text, named As at Left's position; Right is dropped.
//
//	df[LEFT] = df[LEFT].astype(str) + SEP + df[RIGHT].astype(str)
//	df = df.drop(columns=[RIGHT]).rename(columns={LEFT: NAME})
type JoinColumns struct {
	Left, Right int
	Sep, As     string
	keys        [2]string
}

// NewJoinColumns returns the operator; name is the joined column's name.
func NewJoinColumns(left, right int, sep, name string) *JoinColumns {
	return &JoinColumns{Left: left, Right: right, Sep: sep, As: name}
}

func (*JoinColumns) Name() string                     { return "join_columns" }
func (o *JoinColumns) Apply(t *Table) (*Table, error) { return applyOne(o, t) }
func (o *JoinColumns) Program() string {
	k := o.keys
	if k[0] == "" {
		p := positional([]int{o.Left, o.Right})
		k = [2]string{p[0], p[1]}
	}
	return fmt.Sprintf("df[%s] = df[%s].astype(str) + %s + df[%s].astype(str)\ndf = df.drop(columns=[%s]).rename(columns={%s: %s})",
		k[0], k[0], strconv.Quote(o.Sep), k[1], k[1], k[0], strconv.Quote(o.As))
}

func joinable(c column) bool { return c.dt == dInt64 || c.allStr(false) }

func (o *JoinColumns) check(f *frame) ([2]string, error) {
	const name = "join_columns"
	var keys [2]string
	if err := f.singleLevel(name); err != nil {
		return keys, err
	}
	if o.Left == o.Right {
		return keys, notApplicable(name, "left and right are both column %d", o.Left)
	}
	for i, c := range []int{o.Left, o.Right} {
		k, err := f.keyOf(name, c)
		if err != nil {
			return keys, err
		}
		if !joinable(f.cols[c]) {
			return keys, notApplicable(name, "column %d is neither text nor int", c)
		}
		keys[i] = k
	}
	if f.hasLabel(strVal(o.As), o.Left, o.Right) {
		return keys, notApplicable(name, "name %q is taken", o.As)
	}
	return keys, nil
}

func (o *JoinColumns) apply(f *frame) (*frame, error) {
	if _, err := o.check(f); err != nil {
		return nil, err
	}
	g := f.clone()
	l, r := g.cols[o.Left], g.cols[o.Right]
	for i := range l.cells {
		l.cells[i] = strVal(l.cells[i].dump() + o.Sep + r.cells[i].dump())
	}
	l.dt = dObject
	l.label = []value{strVal(o.As)}
	g.cols[o.Left] = l
	g.cols = append(g.cols[:o.Right], g.cols[o.Right+1:]...)
	return g, nil
}

var joinSeps = []string{" ", " - ", ", ", "/", ": "}

func sampleJoinColumns(rng *rand.Rand, f *frame) Op {
	if f.levels() != 1 || f.index > 0 || len(f.cols) < 3 {
		return nil
	}
	for _, l := range rng.Perm(len(f.cols) - 1) {
		r := l + 1 // adjacent columns join naturally
		if !joinable(f.cols[l]) || !joinable(f.cols[r]) || f.cols[l].label[0].k != vStr || f.cols[r].label[0].k != vStr {
			continue
		}
		sep := joinSeps[rng.IntN(len(joinSeps))]
		op := NewJoinColumns(l, r, sep, f.cols[l].label[0].s+sep+f.cols[r].label[0].s)
		k, err := op.check(f)
		if err != nil {
			continue
		}
		op.keys = k
		return op
	}
	return nil
}
