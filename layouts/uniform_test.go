package layouts

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const sharedData = "../../shared/data"

func openShared(t *testing.T, file string) *os.File {
	t.Helper()
	f, err := os.Open(filepath.Join(sharedData, file))
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("shared data missing: %v", err)
		}
		t.Skipf("shared data not available: %v", err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// TestReadJSONLTablesBenchmarks loads every dev file and checks each table
// against its source record: same body, flat header reproduced by the
// levelled header, HiTab levels and row headers as the source has them.
func TestReadJSONLTablesBenchmarks(t *testing.T) {
	for _, b := range []string{"wtq", "tabfact", "hitab", "fetaqa", "tablebench", "tatqa", "aitqa"} {
		t.Run(b, func(t *testing.T) {
			file := b + ".dev.jsonl"
			tables, err := ReadJSONLTables(openShared(t, file), file)
			if err != nil {
				t.Fatal(err)
			}
			raw, err := os.ReadFile(filepath.Join(sharedData, file))
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
			if len(tables) != len(lines) || len(tables) < 100 {
				t.Fatalf("%d tables from %d lines", len(tables), len(lines))
			}
			multi, rowHeads := 0, 0
			for i, tb := range tables {
				var rec struct {
					Table UniformTable `json:"table"`
				}
				if err := json.Unmarshal([]byte(lines[i]), &rec); err != nil {
					t.Fatal(err)
				}
				u := rec.Table
				if err := tb.Validate(); err != nil {
					t.Fatalf("line %d: %v", i+1, err)
				}
				if !exactGrid(tb.Rows, u.Rows) {
					t.Fatalf("line %d: body differs from the source", i+1)
				}
				if tb.Title != u.Title || tb.Caption != u.Caption {
					t.Fatalf("line %d: title/caption lost", i+1)
				}
				flat := tb.FlatHeader()
				for c := range u.Header {
					if flat[c] != squeezePath(u.Header[c]) {
						t.Fatalf("line %d column %d: flat header %q, source %q (levels %q)", i+1, c, flat[c], u.Header[c], tb.Header)
					}
				}
				if tb.Levels() >= 2 {
					multi++
				}
				if tb.RowHeaderCols > 0 {
					rowHeads++
				}
				switch b {
				case "hitab":
					if len(u.HeaderRows) >= 2 && tb.Levels() != len(u.HeaderRows) {
						t.Fatalf("line %d: %d levels, source has %d header rows", i+1, tb.Levels(), len(u.HeaderRows))
					}
					var h struct {
						Left int `json:"left_header_columns_num"`
					}
					_ = json.Unmarshal(u.Hierarchy, &h)
					if h.Left > 0 && tb.RowHeaderCols != h.Left {
						t.Fatalf("line %d: %d row-header columns, source has %d", i+1, tb.RowHeaderCols, h.Left)
					}
				case "aitqa":
				default:
					if tb.Levels() != 1 || tb.RowHeaderCols != 0 {
						t.Fatalf("line %d: %d levels, %d row-header columns; want one flat level", i+1, tb.Levels(), tb.RowHeaderCols)
					}
				}
			}
			switch b {
			case "hitab":
				// 171 of the 200 dev tables have two or more header rows.
				if multi < 150 || rowHeads != len(tables) {
					t.Fatalf("hitab: %d multi-level tables, %d with row headers, of %d", multi, rowHeads, len(tables))
				}
			case "aitqa":
				if multi == 0 || rowHeads == 0 {
					t.Fatalf("aitqa: %d multi-level tables, %d with row headers", multi, rowHeads)
				}
			}
		})
	}
}

func TestHiTabMergedHeader(t *testing.T) {
	u := UniformTable{
		Header:     []string{"year", "current | total", "current | change", "constant | total"},
		HeaderRows: [][]string{{"year", "current", "", "constant"}, {"", "total", "change", "total"}},
		Rows:       [][]string{{"1987", "1", "2", "3"}, {"1988", "4", "", "6"}},
		Title:      "spend",
		Hierarchy: json.RawMessage(`{"left_header_columns_num":1,"top_root":{},"merged_regions":[
			{"first_row":0,"last_row":1,"first_column":0,"last_column":0},
			{"first_row":0,"last_row":0,"first_column":1,"last_column":2},
			{"first_row":3,"last_row":3,"first_column":0,"last_column":3}]}`),
	}
	got, err := u.Table()
	if err != nil {
		t.Fatal(err)
	}
	want := &Table{
		Title:         "spend",
		Header:        [][]string{{"year", "current", "current", "constant"}, {"year", "total", "change", "total"}},
		RowHeaderCols: 1,
		Rows:          [][]string{{"1987", "1", "2", "3"}, {"1988", "4", "", "6"}},
	}
	if !Equal(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
}

func TestAITQAHeader(t *testing.T) {
	u := UniformTable{
		Header: []string{"", "Year | 2018", "Year | 2017", "Total"},
		Rows:   [][]string{{"A | x", "1", "2", "3"}},
		Hierarchy: json.RawMessage(`{"column_header":[["Year","2018"],["Year","2017"],["Total"]],
			"row_header":[["A","x"]]}`),
	}
	got, err := u.Table()
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{{"", "Year", "Year", "Total"}, {"", "2018", "2017", "Total"}}
	if !exactGrid(got.Header, want) || got.RowHeaderCols != 1 {
		t.Fatalf("header %q row headers %d", got.Header, got.RowHeaderCols)
	}
}

func TestReadJSONLTablesErrors(t *testing.T) {
	tests := []struct {
		name, in, want string
		line           int
	}{
		{"not json", "{\"table\":{\"header\":[\"a\"],\"rows\":[]}}\n\nnope\n", "not a JSON object", 3},
		{"no table", `{"id":"x"}`, `no "table" member`, 1},
		{"invalid utf8", "\n{\"table\":{\"header\":[\"\xff\"],\"rows\":[]}}", "not valid UTF-8", 2},
		{"number cell", `{"table":{"header":["a"],"rows":[[1]]}}`, "all strings", 1},
		{"empty table", `{"table":{"header":[],"rows":[]}}`, "empty table", 1},
		{"too wide", `{"table":{"header":["a"],"rows":[[` + strings.Repeat(`"x",`, MaxCols) + `"y"]]}}`, "more than the limit", 1},
		{"bad hierarchy", `{"table":{"header":["a"],"rows":[],"hierarchy":[1]}}`, "hierarchy is not a JSON object", 1},
		{"bad region", `{"table":{"header":["a"],"rows":[],"header_rows":[["a"]],"hierarchy":{"top_root":{},"merged_regions":[{"first_row":-1,"last_row":0,"first_column":0,"last_column":0}]}}}`, "merged_regions[0]", 1},
		{"aitqa mismatch", `{"table":{"header":["a","b"],"rows":[],"hierarchy":{"column_header":[["a"]],"row_header":[]}}}`, "1 column-header paths", 1},
		{"levelled ragged header", `{"table":{"header":[["a","b"],["c"]],"rows":[["1","2"]],"row_header_cols":5}}`, "row_header_cols is 5", 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadJSONLTables(strings.NewReader(tc.in), "f.jsonl")
			var re *ReadError
			if !errors.As(err, &re) {
				t.Fatalf("err = %v, want a ReadError", err)
			}
			if re.Name != "f.jsonl" || re.Line != tc.line || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v (line %d), want line %d and %q", err, re.Line, tc.line, tc.want)
			}
		})
	}
}

func TestReadJSONLTablesRagged(t *testing.T) {
	in := `{"table":{"header":["a","b"],"rows":[["1"],["1","2","",""],["1","2","3"]]}}`
	tables, err := ReadJSONLTables(strings.NewReader(in), "f")
	if err != nil {
		t.Fatal(err)
	}
	want := &Table{Header: [][]string{{"a", "b", ""}}, Rows: [][]string{{"1", "", ""}, {"1", "2", ""}, {"1", "2", "3"}}}
	if !Equal(tables[0], want) {
		t.Fatalf("got %+v", tables[0])
	}
}

// squeezePath drops the empty and repeated-adjacent steps of a " | "-joined
// header path, as ColumnName does (some AIT-QA paths have empty steps).
func squeezePath(p string) string {
	var parts []string
	for _, s := range strings.Split(p, " | ") {
		if s == "" || (len(parts) > 0 && parts[len(parts)-1] == s) {
			continue
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " | ")
}
