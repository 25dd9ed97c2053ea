package layouts

import (
	"strings"
	"testing"
)

func TestReadJSONRecords(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want *Table
	}{
		{"records", `[{"b": 1, "a": "x"}, {"a": null, "c": true, "b": 2.50}]`,
			&Table{Header: [][]string{{"b", "a", "c"}}, Rows: [][]string{{"1", "x", ""}, {"2.50", "", "true"}}}},
		{"split", `{"columns": ["a", "b"], "index": [0, 1], "data": [[1, "x"], [2, null]]}`,
			&Table{Header: [][]string{{"a", "b"}}, Rows: [][]string{{"1", "x"}, {"2", ""}}}},
		{"split multiindex, named index", `{"columns": [["A", "x"], ["A", "y"]], "index": ["r1", "r2"], "data": [[1, 2], [3, 4]]}`,
			&Table{Header: [][]string{{"", "A", "A"}, {"", "x", "y"}}, RowHeaderCols: 1, Rows: [][]string{{"r1", "1", "2"}, {"r2", "3", "4"}}}},
		{"table form", `{"header": [["a"], ["b"]], "rows": [["1"]], "title": "t"}`,
			&Table{Title: "t", Header: [][]string{{"a"}, {"b"}}, Rows: [][]string{{"1"}}}},
		{"uniform form", `{"header": ["a", "b"], "rows": [["1", "2"]]}`,
			&Table{Header: [][]string{{"a", "b"}}, Rows: [][]string{{"1", "2"}}}},
		{"record with table", `{"id": 1, "table": {"header": ["a"], "rows": []}}`,
			&Table{Header: [][]string{{"a"}}, Rows: [][]string{}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ReadJSONRecords(strings.NewReader(tc.in), "t.json")
			if err != nil {
				t.Fatal(err)
			}
			if !Equal(got, tc.want) {
				t.Fatalf("got  %q %q %d\nwant %q %q %d", got.Header, got.Rows, got.RowHeaderCols, tc.want.Header, tc.want.Rows, tc.want.RowHeaderCols)
			}
		})
	}
}

func TestReadJSONRecordsErrors(t *testing.T) {
	var wide strings.Builder
	wide.WriteString("[{")
	for i := range 10000 {
		if i > 0 {
			wide.WriteString(",")
		}
		wide.WriteString(`"k` + itoa(i) + `":1`)
	}
	wide.WriteString("}]")
	tests := []struct {
		name, in string
		line     int
		want     string
	}{
		{"empty", "  ", 0, "empty input"},
		{"empty array", "[]", 1, "empty table"},
		{"syntax", "[\n{\"a\": 1},\n{\"a\": }\n]", 3, "invalid JSON"},
		{"truncated", "[{\"a\": 1}", 1, "invalid JSON"},
		{"not an object", "[\n1]", 2, "record 1 is a number, want an object"},
		{"nested value", "[{\"a\": 1},\n {\"a\": {\"x\": 1}}]", 2, `record 2, key "a": value is an object or array`},
		{"trailing data", "[{\"a\": 1}]\n x", 2, "invalid JSON"},
		{"scalar", "42", 1, "want a JSON array of records or an object"},
		{"unknown object", `{"x": 1}`, 1, `neither "columns"/"data"`},
		{"split ragged", `{"columns": ["a", "b"], "data": [[1]]}`, 0, "data[0] has 1 values, want 2"},
		{"split levels differ", `{"columns": [["a", "x"], "b"], "data": []}`, 0, "columns[1] has 1 level names"},
		{"split index length", `{"columns": ["a"], "index": ["r"], "data": [[1], [2]]}`, 0, `"index" has 1 entries`},
		{"10000 columns", wide.String(), 1, "more than 4096 distinct keys"},
		{"invalid utf8", "[{\"a\": \"x\"},\n{\"a\": \"\xff\"}]", 2, "invalid UTF-8 at byte"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadJSONRecords(strings.NewReader(tc.in), "bad.json")
			checkReadErr(t, err, "bad.json", tc.line, tc.want)
		})
	}
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b []byte
	for ; i > 0; i /= 10 {
		b = append([]byte{byte('0' + i%10)}, b...)
	}
	return string(b)
}
