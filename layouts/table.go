// Package layouts owns tables: the Table type with multi-level column headers
// and row-header columns, readers and renderers for the formats tables come in,
// the layout transformation operators (each applied in Go and emitted as the
// equivalent pandas program), and the Layout Transformation Inference (LTI)
// task generator. It runs no processes and does no network I/O.
package layouts

import (
	"fmt"
	"strings"
)

// Table is a table as tabler1 sees it: a column header of one or more levels,
// body rows of string cells, and optionally a number of leading row-header
// columns (the left headers of HiTab and AIT-QA).
//
// Header[l][c] is the name of column c at header level l (level 0 is the
// top). Every level has one entry per column; a merged header cell is
// repeated across its span, as pandas' MultiIndex does. Rows[r][c] is a body
// cell. The first RowHeaderCols columns of each row are row headers; they are
// ordinary columns otherwise (in pandas they are the leftmost columns).
//
// The JSON encoding of a Table is the wire format shared with the sandbox and
// the LTI JSONL files: {"header": [[...], ...], "rows": [[...]], ...}.
// The zero value is an empty table with no columns.
type Table struct {
	Title         string     `json:"title,omitempty"`
	Caption       string     `json:"caption,omitempty"`
	Header        [][]string `json:"header"`
	RowHeaderCols int        `json:"row_header_cols,omitempty"`
	Rows          [][]string `json:"rows"`
}

// Limits on what a reader accepts; larger input is rejected with an error
// rather than exhausting memory.
const (
	MaxCols         = 4096
	MaxRows         = 1 << 20
	MaxHeaderLevels = 16
)

// NumCols is the number of columns: the width of the header, or of the widest
// row where the header is missing.
func (t *Table) NumCols() int {
	if len(t.Header) > 0 {
		return len(t.Header[0])
	}
	n := 0
	for _, r := range t.Rows {
		n = max(n, len(r))
	}
	return n
}

// NumRows is the number of body rows.
func (t *Table) NumRows() int { return len(t.Rows) }

// Levels is the number of column header levels.
func (t *Table) Levels() int { return len(t.Header) }

// ColumnName is the name of column c with its header levels joined by sep,
// skipping empty and repeated-adjacent level names (a merged top cell that
// spans one column is often repeated down).
func (t *Table) ColumnName(c int, sep string) string {
	var parts []string
	for _, lvl := range t.Header {
		if c >= len(lvl) {
			continue
		}
		n := lvl[c]
		if n == "" || (len(parts) > 0 && parts[len(parts)-1] == n) {
			continue
		}
		parts = append(parts, n)
	}
	return strings.Join(parts, sep)
}

// FlatHeader is each column's name with levels joined by " | ".
func (t *Table) FlatHeader() []string {
	out := make([]string, t.NumCols())
	for c := range out {
		out[c] = t.ColumnName(c, " | ")
	}
	return out
}

// Validate reports the first structural problem: a header level or a body row
// whose width differs from the table's, too many columns or levels, or a
// row-header count outside the table. The error names the row or level.
func (t *Table) Validate() error {
	if len(t.Header) == 0 {
		return fmt.Errorf("table has no header level: give at least one header row")
	}
	if len(t.Header) > MaxHeaderLevels {
		return fmt.Errorf("table has %d header levels, more than the limit of %d", len(t.Header), MaxHeaderLevels)
	}
	w := len(t.Header[0])
	if w == 0 {
		return fmt.Errorf("table has no columns")
	}
	if w > MaxCols {
		return fmt.Errorf("table has %d columns, more than the limit of %d", w, MaxCols)
	}
	for l, lvl := range t.Header {
		if len(lvl) != w {
			return fmt.Errorf("header level %d has %d cells, want %d (the width of level 0)", l, len(lvl), w)
		}
	}
	if len(t.Rows) > MaxRows {
		return fmt.Errorf("table has %d rows, more than the limit of %d", len(t.Rows), MaxRows)
	}
	for r, row := range t.Rows {
		if len(row) != w {
			return fmt.Errorf("row %d has %d cells, want %d (the header's width); use Normalize to pad or trim ragged rows", r, len(row), w)
		}
	}
	if t.RowHeaderCols < 0 || t.RowHeaderCols > w {
		return fmt.Errorf("row_header_cols is %d, want 0..%d", t.RowHeaderCols, w)
	}
	return nil
}

// Normalize makes a ragged table rectangular: short rows are padded with
// empty cells; a row longer than the header gains unnamed columns only if
// the extra cells are non-empty (trailing empty cells are trimmed). A table
// without a header gets one level of empty names. It returns the same error
// as Validate for problems it cannot mend.
func (t *Table) Normalize() error {
	w := 0
	if len(t.Header) > 0 {
		w = len(t.Header[0])
		for _, lvl := range t.Header {
			w = max(w, len(lvl))
		}
	}
	for _, row := range t.Rows {
		n := len(row)
		for n > w && row[n-1] == "" {
			n--
		}
		w = max(w, n)
	}
	if w > MaxCols {
		return fmt.Errorf("table has %d columns, more than the limit of %d", w, MaxCols)
	}
	if len(t.Header) == 0 {
		t.Header = [][]string{make([]string, w)}
	}
	for l := range t.Header {
		t.Header[l] = pad(t.Header[l], w)
	}
	for r := range t.Rows {
		t.Rows[r] = pad(t.Rows[r], w)
	}
	return t.Validate()
}

func pad(row []string, w int) []string {
	if len(row) > w {
		return row[:w]
	}
	for len(row) < w {
		row = append(row, "")
	}
	return row
}

// Clone returns a deep copy.
func (t *Table) Clone() *Table {
	if t == nil {
		return nil
	}
	c := *t
	c.Header = cloneGrid(t.Header)
	c.Rows = cloneGrid(t.Rows)
	return &c
}

func cloneGrid(g [][]string) [][]string {
	if g == nil {
		return nil
	}
	out := make([][]string, len(g))
	for i, r := range g {
		out[i] = append([]string(nil), r...)
	}
	return out
}

// Column returns the body cells of column c.
func (t *Table) Column(c int) []string {
	out := make([]string, len(t.Rows))
	for r, row := range t.Rows {
		if c < len(row) {
			out[r] = row[c]
		}
	}
	return out
}

// Preview is the prompt-side view of a table: its first N rows, with the
// shape and column list of the full table, so that a question about rows
// beyond the preview calls for a program.
type Preview struct {
	Table   *Table   // the first N body rows only
	Rows    int      // rows in the full table
	Cols    int      // columns in the full table
	Columns []string // flat column names of the full table
	Shown   int      // body rows shown
}

// Preview returns the first n body rows (all rows if n <= 0).
func (t *Table) Preview(n int) Preview {
	p := t.Clone()
	if n > 0 && len(p.Rows) > n {
		p.Rows = p.Rows[:n]
	}
	return Preview{Table: p, Rows: t.NumRows(), Cols: t.NumCols(), Columns: t.FlatHeader(), Shown: len(p.Rows)}
}
