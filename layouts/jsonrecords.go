package layouts

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// maxJSONInput bounds what ReadJSONRecords reads into memory.
const maxJSONInput = 1 << 30

// ReadJSONRecords reads a table from JSON in one of these shapes:
//
//   - records: an array of objects, [{"a": 1, "b": "x"}, ...]. The header
//     is the keys in first-seen order; a record without a key has "" there.
//   - split: {"columns": [...], "data": [[...], ...]} as pandas'
//     to_json(orient="split") writes it. A column given as an array of names
//     (a MultiIndex tuple) gives one header level per name. An "index" that
//     is not 0..n-1 becomes a leading row-header column.
//   - the Table's own JSON form ({"header": [[...]], "rows": ...}) or a
//     UniformTable ({"header": [...], "rows": ...}), or a record with a
//     "table" member holding either.
//
// Cell values: a string as is, a number as its JSON text, true/false, and
// null as "". An object or array in a cell is an error naming the record and
// key. Errors are *ReadErrors naming the line.
func ReadJSONRecords(r io.Reader, name string) (*Table, error) {
	data, err := io.ReadAll(io.LimitReader(skipBOM(r), maxJSONInput+1))
	if err != nil {
		return nil, readErr(name, 0, "reading: %v", err)
	}
	if len(data) > maxJSONInput {
		return nil, readErr(name, 0, "input larger than %d bytes", maxJSONInput)
	}
	if err := CheckUTF8(name, 1, data); err != nil {
		return nil, err
	}
	trim := bytes.TrimSpace(data)
	if len(trim) == 0 {
		return nil, readErr(name, 0, "empty input: want a JSON array of records or an object with columns and data")
	}
	// Check the syntax of the whole input first: a SyntaxError's offset is
	// then from the start of the input, which gives the right line.
	var whole json.RawMessage
	if err := json.Unmarshal(data, &whole); err != nil {
		return nil, jsonErr(data, name, 0, err)
	}
	var t *Table
	switch trim[0] {
	case '[':
		t, err = jsonRecords(data, name)
	case '{':
		t, err = jsonObjectTable(data, name)
	default:
		return nil, readErr(name, 1, "want a JSON array of records or an object, not %q...", trim[:min(len(trim), 16)])
	}
	if err != nil {
		return nil, err
	}
	return finish(t, name)
}

// lineAt is the 1-based line of byte offset off.
func lineAt(data []byte, off int) int {
	off = min(max(off, 0), len(data))
	return bytes.Count(data[:off], []byte("\n")) + 1
}

// jsonErr turns a decoding error into a ReadError at the right line.
func jsonErr(data []byte, name string, base int64, err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return readErr(name, lineAt(data, int(base+se.Offset)), "invalid JSON: %v", err)
	case errors.As(err, &te):
		return readErr(name, lineAt(data, int(base+te.Offset)), "%v", err)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return readErr(name, lineAt(data, len(data)), "invalid JSON: unexpected end of input")
	}
	return readErr(name, 0, "invalid JSON: %v", err)
}

func jsonRecords(data []byte, name string) (*Table, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if _, err := dec.Token(); err != nil { // '['
		return nil, jsonErr(data, name, 0, err)
	}
	var keys []string
	col := map[string]int{}
	var rows [][]string
	for n := 1; dec.More(); n++ {
		line := lineAt(data, int(dec.InputOffset()))
		tok, err := dec.Token()
		if err != nil {
			return nil, jsonErr(data, name, 0, err)
		}
		if d, ok := tok.(json.Delim); !ok || d != '{' {
			return nil, readErr(name, line, "record %d is %s, want an object", n, jsonKind(tok))
		}
		if len(rows) >= MaxRows {
			return nil, readErr(name, line, "more than %d records", MaxRows)
		}
		row := make([]string, len(keys))
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return nil, jsonErr(data, name, 0, err)
			}
			key := kt.(string) // object keys are always strings
			var raw json.RawMessage
			vline := lineAt(data, int(dec.InputOffset()))
			if err := dec.Decode(&raw); err != nil {
				return nil, jsonErr(data, name, 0, err)
			}
			v, err := jsonCell(raw)
			if err != nil {
				return nil, readErr(name, vline, "record %d, key %q: %v", n, key, err)
			}
			c, ok := col[key]
			if !ok {
				if len(keys) >= MaxCols {
					return nil, readErr(name, vline, "more than %d distinct keys (columns)", MaxCols)
				}
				c = len(keys)
				col[key] = c
				keys = append(keys, key)
			}
			for len(row) <= c {
				row = append(row, "")
			}
			row[c] = v
		}
		if _, err := dec.Token(); err != nil { // '}'
			return nil, jsonErr(data, name, 0, err)
		}
		rows = append(rows, row)
	}
	if _, err := dec.Token(); err != nil { // ']'
		return nil, jsonErr(data, name, 0, err)
	}
	if err := trailing(dec, data, name); err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		return nil, readErr(name, 1, "empty table: no records with keys")
	}
	return &Table{Header: [][]string{keys}, Rows: padRows(rows, len(keys))}, nil
}

func padRows(rows [][]string, w int) [][]string {
	if rows == nil {
		return [][]string{}
	}
	for i := range rows {
		rows[i] = pad(rows[i], w)
	}
	return rows
}

// trailing rejects anything but whitespace after the JSON value.
func trailing(dec *json.Decoder, data []byte, name string) error {
	if _, err := dec.Token(); err != io.EOF {
		return readErr(name, lineAt(data, int(dec.InputOffset())), "unexpected data after the JSON value")
	}
	return nil
}

func jsonKind(tok json.Token) string {
	switch v := tok.(type) {
	case json.Delim:
		if v == '[' {
			return "an array"
		}
		return "an object"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", tok)
}

// jsonCell is the string form of a scalar JSON value.
func jsonCell(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "", errors.New("missing value")
	}
	switch raw[0] {
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", err
		}
		return s, nil
	case 'n':
		return "", nil
	case 't', 'f':
		return string(raw), nil
	case '{', '[':
		return "", errors.New("value is an object or array; want a string, number, boolean or null")
	}
	return string(raw), nil // a number, as written
}

// splitTable is pandas' orient="split" JSON.
type splitTable struct {
	Columns []json.RawMessage   `json:"columns"`
	Index   []json.RawMessage   `json:"index"`
	Data    [][]json.RawMessage `json:"data"`
}

func jsonObjectTable(data []byte, name string) (*Table, error) {
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(data, &keys); err != nil {
		return nil, jsonErr(data, name, 0, err)
	}
	switch {
	case keys["columns"] != nil || keys["data"] != nil:
		return splitJSON(data, name)
	case keys["header"] != nil:
		t, err := decodeTableJSON(data)
		if err != nil {
			return nil, &ReadError{Name: name, Err: err}
		}
		return t, nil
	case keys["table"] != nil:
		t, err := jsonlTable(data)
		if err != nil {
			return nil, &ReadError{Name: name, Err: err}
		}
		return t, nil
	}
	return nil, readErr(name, 1, `object has neither "columns"/"data", "header"/"rows" nor "table"; want one of the shapes ReadJSONRecords documents`)
}

func splitJSON(data []byte, name string) (*Table, error) {
	var s splitTable
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&s); err != nil {
		return nil, jsonErr(data, name, 0, err)
	}
	if len(s.Columns) > MaxCols {
		return nil, readErr(name, 0, "%d columns, more than the limit of %d", len(s.Columns), MaxCols)
	}
	if len(s.Data) > MaxRows {
		return nil, readErr(name, 0, "%d rows, more than the limit of %d", len(s.Data), MaxRows)
	}
	// columns: names, or arrays of names (one per level)
	var header [][]string
	for c, raw := range s.Columns {
		var names []json.RawMessage
		if r := bytes.TrimSpace(raw); len(r) > 0 && r[0] == '[' {
			if err := json.Unmarshal(r, &names); err != nil {
				return nil, readErr(name, 0, "columns[%d]: %v", c, err)
			}
		} else {
			names = []json.RawMessage{raw}
		}
		if len(names) == 0 || len(names) > MaxHeaderLevels {
			return nil, readErr(name, 0, "columns[%d] has %d level names, want 1..%d", c, len(names), MaxHeaderLevels)
		}
		if c == 0 {
			header = make([][]string, len(names))
		} else if len(names) != len(header) {
			return nil, readErr(name, 0, "columns[%d] has %d level names, columns[0] has %d", c, len(names), len(header))
		}
		for l, n := range names {
			v, err := jsonCell(n)
			if err != nil {
				return nil, readErr(name, 0, "columns[%d]: %v", c, err)
			}
			header[l] = append(header[l], v)
		}
	}
	if len(header) == 0 {
		return nil, readErr(name, 0, `empty table: "columns" is empty`)
	}
	rows := make([][]string, len(s.Data))
	for r, rec := range s.Data {
		if len(rec) != len(s.Columns) {
			return nil, readErr(name, 0, "data[%d] has %d values, want %d (one per column)", r, len(rec), len(s.Columns))
		}
		rows[r] = make([]string, len(rec))
		for c, raw := range rec {
			v, err := jsonCell(raw)
			if err != nil {
				return nil, readErr(name, 0, "data[%d][%d]: %v", r, c, err)
			}
			rows[r][c] = v
		}
	}
	t := &Table{Header: header, Rows: rows}
	if len(s.Index) > 0 && !defaultIndex(s.Index) {
		if len(s.Index) != len(rows) {
			return nil, readErr(name, 0, `"index" has %d entries, "data" has %d rows`, len(s.Index), len(rows))
		}
		if len(s.Columns)+1 > MaxCols {
			return nil, readErr(name, 0, "%d columns and an index, more than the limit of %d", len(s.Columns), MaxCols)
		}
		for l := range t.Header {
			t.Header[l] = append([]string{""}, t.Header[l]...)
		}
		for r, raw := range s.Index {
			v, err := jsonCell(raw)
			if err != nil {
				return nil, readErr(name, 0, "index[%d]: %v", r, err)
			}
			t.Rows[r] = append([]string{v}, t.Rows[r]...)
		}
		t.RowHeaderCols = 1
	}
	return t, nil
}

// defaultIndex reports whether idx is 0, 1, ..., n-1: pandas' default
// index, which carries nothing.
func defaultIndex(idx []json.RawMessage) bool {
	for i, raw := range idx {
		if string(bytes.TrimSpace(raw)) != strconv.Itoa(i) {
			return false
		}
	}
	return true
}
