package layouts

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// UniformTable is the "table" object of the uniform benchmark JSONL in
// ../shared/data (WikiTQ, TabFact, HiTab, FeTaQA, TableBench, TAT-QA,
// AIT-QA): one flat header row, string body rows, and for HiTab and AIT-QA
// the source's header hierarchy.
type UniformTable struct {
	Header     []string        `json:"header"`
	Rows       [][]string      `json:"rows"`
	Title      string          `json:"title,omitempty"`
	Caption    string          `json:"caption,omitempty"`
	HeaderRows [][]string      `json:"header_rows,omitempty"`
	Hierarchy  json.RawMessage `json:"hierarchy,omitempty"`
}

// Table converts u to a Table.
//
//   - HiTab (hierarchy with top_root): the header levels are header_rows,
//     with every merged region that touches the header filled with its core
//     (top-left) cell across its whole span, down as well as across; the
//     first left_header_columns_num columns are row-header columns. Body
//     cells are kept as in the source (merged non-core body cells stay "").
//   - AIT-QA (hierarchy with column_header): one level per step of the
//     longest column-header path; a shorter path's last name is repeated
//     down to the bottom level (a vertically merged cell). When the table
//     has row headers, the first column holds each row's header path joined
//     with " | " and is the one row-header column; its header is "".
//   - every other benchmark: the flat header is the one header level.
//
// Ragged rows are normalised by Table.Normalize: a short row is padded with
// "", a long row's trailing empty cells are dropped, and non-empty extra
// cells add unnamed columns. A table with no header and no rows, or more
// than MaxCols columns, is an error.
func (u UniformTable) Table() (*Table, error) {
	t := &Table{Title: u.Title, Caption: u.Caption, Rows: cloneGrid(u.Rows)}
	if t.Rows == nil {
		t.Rows = [][]string{}
	}
	if len(u.Header) == 0 && len(u.Rows) == 0 {
		return nil, errors.New("empty table: no header and no rows")
	}
	var keys map[string]json.RawMessage
	if len(u.Hierarchy) > 0 && !bytes.Equal(bytes.TrimSpace(u.Hierarchy), []byte("null")) {
		if err := json.Unmarshal(u.Hierarchy, &keys); err != nil {
			return nil, fmt.Errorf("hierarchy is not a JSON object: %v", err)
		}
	}
	var err error
	switch {
	case keys["top_root"] != nil || keys["left_header_columns_num"] != nil:
		err = u.hitab(t)
	case keys["column_header"] != nil:
		err = u.aitqa(t)
	default:
		if len(u.HeaderRows) > 0 {
			t.Header = cloneGrid(u.HeaderRows)
		} else {
			t.Header = [][]string{append([]string(nil), u.Header...)}
		}
	}
	if err != nil {
		return nil, err
	}
	if len(t.Header) > MaxHeaderLevels {
		return nil, fmt.Errorf("table has %d header levels, more than the limit of %d", len(t.Header), MaxHeaderLevels)
	}
	if err := checkUTF8(t); err != nil {
		return nil, err
	}
	if err := t.Normalize(); err != nil {
		return nil, err
	}
	return t, nil
}

// hitabHierarchy is the part of HiTab's raw table metadata the conversion
// uses. The header trees are not needed: merged_regions already say which
// header cells span which columns, and left_root's column indices are not
// reliable (they sometimes exceed left_header_columns_num, see
// benchmarks.md section 3).
type hitabHierarchy struct {
	LeftHeaderColumnsNum int `json:"left_header_columns_num"`
	MergedRegions        []struct {
		FirstRow    int `json:"first_row"`
		LastRow     int `json:"last_row"`
		FirstColumn int `json:"first_column"`
		LastColumn  int `json:"last_column"`
	} `json:"merged_regions"`
}

func (u UniformTable) hitab(t *Table) error {
	var h hitabHierarchy
	if err := json.Unmarshal(u.Hierarchy, &h); err != nil {
		return fmt.Errorf("HiTab hierarchy: %v", err)
	}
	levels := cloneGrid(u.HeaderRows)
	if len(levels) == 0 {
		levels = [][]string{append([]string(nil), u.Header...)}
	}
	if len(levels) > MaxHeaderLevels {
		return fmt.Errorf("HiTab header has %d rows, more than the limit of %d levels", len(levels), MaxHeaderLevels)
	}
	w := len(u.Header)
	for _, l := range levels {
		w = max(w, len(l))
	}
	if w > MaxCols {
		return fmt.Errorf("table has %d columns, more than the limit of %d", w, MaxCols)
	}
	for i := range levels {
		levels[i] = pad(levels[i], w)
	}
	// Merged regions index the raw matrix, whose first len(levels) rows are
	// the header rows; fill each region's header part from its core cell.
	for i, m := range h.MergedRegions {
		if m.FirstRow < 0 || m.FirstColumn < 0 || m.LastRow < m.FirstRow || m.LastColumn < m.FirstColumn {
			return fmt.Errorf("HiTab merged_regions[%d] is not a region: rows %d..%d, columns %d..%d", i, m.FirstRow, m.LastRow, m.FirstColumn, m.LastColumn)
		}
		if m.FirstRow >= len(levels) || m.FirstColumn >= w {
			continue
		}
		core := levels[m.FirstRow][m.FirstColumn]
		for r := m.FirstRow; r <= min(m.LastRow, len(levels)-1); r++ {
			for c := m.FirstColumn; c <= min(m.LastColumn, w-1); c++ {
				if levels[r][c] == "" {
					levels[r][c] = core
				}
			}
		}
	}
	t.Header = levels
	t.RowHeaderCols = min(max(h.LeftHeaderColumnsNum, 0), w)
	return nil
}

// aitqaHierarchy holds AIT-QA's header paths: one per data column and one
// per data row (row_header may be empty).
type aitqaHierarchy struct {
	ColumnHeader [][]string `json:"column_header"`
	RowHeader    [][]string `json:"row_header"`
}

func (u UniformTable) aitqa(t *Table) error {
	var h aitqaHierarchy
	if err := json.Unmarshal(u.Hierarchy, &h); err != nil {
		return fmt.Errorf("AIT-QA hierarchy: %v", err)
	}
	lead := 0 // the row-header column, present when the table has row headers
	if len(h.RowHeader) > 0 {
		lead = 1
	}
	if len(h.ColumnHeader)+lead != len(u.Header) {
		return fmt.Errorf("AIT-QA hierarchy has %d column-header paths and %d row-header columns, but the flat header has %d columns", len(h.ColumnHeader), lead, len(u.Header))
	}
	depth := 1
	for _, p := range h.ColumnHeader {
		depth = max(depth, len(p))
	}
	if depth > MaxHeaderLevels {
		return fmt.Errorf("AIT-QA column-header path of %d steps, more than the limit of %d levels", depth, MaxHeaderLevels)
	}
	levels := make([][]string, depth)
	for l := range levels {
		levels[l] = make([]string, len(u.Header))
	}
	for c, p := range h.ColumnHeader {
		for l := range depth {
			switch {
			case l < len(p):
				levels[l][c+lead] = p[l]
			case len(p) > 0:
				levels[l][c+lead] = p[len(p)-1]
			}
		}
	}
	if lead == 1 {
		for l := range levels {
			levels[l][0] = u.Header[0]
		}
	}
	t.Header = levels
	t.RowHeaderCols = lead
	return nil
}

// maxJSONLLine bounds one JSONL line, so that a file without newlines cannot
// exhaust memory.
const maxJSONLLine = 256 << 20

// ReadJSONLTables reads JSONL whose lines are objects with a "table" member
// (the uniform benchmark records, or LTI records) and returns each line's
// table, in order. The table may be a UniformTable (flat "header": [...])
// or a Table in its JSON form (levelled "header": [[...], ...]). Blank lines
// are skipped. Errors are ReadErrors naming name and the 1-based line.
func ReadJSONLTables(r io.Reader, name string) ([]*Table, error) {
	var out []*Table
	err := scanJSONL(r, name, func(line int, b []byte) (bool, error) {
		t, err := jsonlTable(b)
		if err != nil {
			return false, err
		}
		out = append(out, t)
		return true, nil
	})
	return out, err
}

// scanJSONL calls fn with each non-blank line until fn returns false or an
// error; an error from fn becomes a ReadError at that line.
func scanJSONL(r io.Reader, name string, fn func(line int, b []byte) (bool, error)) error {
	br := bufio.NewReaderSize(skipBOM(r), 64<<10)
	for line := 1; ; line++ {
		b, err := readLine(br)
		if err != nil && err != io.EOF {
			if errors.Is(err, errLineTooLong) {
				return readErr(name, line, "line longer than %d bytes", maxJSONLLine)
			}
			return readErr(name, line, "reading: %v", err)
		}
		if len(bytes.TrimSpace(b)) > 0 {
			if !utf8.Valid(b) {
				return readErr(name, line, "line is not valid UTF-8; convert the file to UTF-8")
			}
			more, ferr := fn(line, b)
			if ferr != nil {
				return &ReadError{Name: name, Line: line, Err: ferr}
			}
			if !more {
				return nil
			}
		}
		if err == io.EOF {
			return nil
		}
	}
}

var errLineTooLong = errors.New("line too long")

func readLine(br *bufio.Reader) ([]byte, error) {
	var buf []byte
	for {
		chunk, err := br.ReadSlice('\n')
		buf = append(buf, chunk...)
		if len(buf) > maxJSONLLine {
			return nil, errLineTooLong
		}
		if err != bufio.ErrBufferFull {
			return buf, err
		}
	}
}

// jsonlTable decodes the "table" member of one JSONL record.
func jsonlTable(b []byte) (*Table, error) {
	var rec struct {
		Table json.RawMessage `json:"table"`
	}
	if err := json.Unmarshal(b, &rec); err != nil {
		return nil, fmt.Errorf("not a JSON object: %v", err)
	}
	if len(rec.Table) == 0 || bytes.Equal(rec.Table, []byte("null")) {
		return nil, errors.New(`record has no "table" member`)
	}
	return decodeTableJSON(rec.Table)
}

// decodeTableJSON decodes a table object in either JSON shape: a Table
// ("header" is a list of levels) or a UniformTable ("header" is one flat
// list of names).
func decodeTableJSON(b []byte) (*Table, error) {
	var probe struct {
		Header json.RawMessage `json:"header"`
	}
	if err := json.Unmarshal(b, &probe); err != nil {
		return nil, fmt.Errorf("table is not a JSON object: %v", err)
	}
	if levelled(probe.Header) {
		t := &Table{}
		if err := json.Unmarshal(b, t); err != nil {
			return nil, fmt.Errorf("table: %v", err)
		}
		if t.Rows == nil {
			t.Rows = [][]string{}
		}
		if err := checkUTF8(t); err != nil {
			return nil, err
		}
		if err := t.Normalize(); err != nil {
			return nil, err
		}
		return t, nil
	}
	var u UniformTable
	if err := json.Unmarshal(b, &u); err != nil {
		return nil, fmt.Errorf("table: %v (want \"header\": [names...] and \"rows\": [[cells...]...], all strings)", err)
	}
	return u.Table()
}

// levelled reports whether a JSON "header" value is a list of lists.
func levelled(h json.RawMessage) bool {
	h = bytes.TrimSpace(h)
	if len(h) == 0 || h[0] != '[' {
		return false
	}
	h = bytes.TrimSpace(h[1:])
	return len(h) > 0 && h[0] == '['
}
