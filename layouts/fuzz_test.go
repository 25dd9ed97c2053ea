package layouts

// Fuzz tests for every reader: no input panics, and a table a reader
// returns is valid. Run one for a while with, e.g.,
//
//	go test ./layouts/ -run '^$' -fuzz '^FuzzReadHTML$' -fuzztime 20s
//
// (plain `go test` runs only the seeds).

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// addSharedSeeds adds the first line of each benchmark file, when present.
func addSharedSeeds(f *testing.F, add func(b []byte)) {
	for _, b := range []string{"wtq", "tabfact", "hitab", "fetaqa", "tablebench", "tatqa", "aitqa"} {
		fh, err := os.Open(filepath.Join(sharedData, b+".dev.jsonl"))
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(fh)
		sc.Buffer(nil, 1<<24)
		if sc.Scan() {
			add(append([]byte(nil), sc.Bytes()...))
		}
		fh.Close()
	}
}

func mustValidate(t *testing.T, tb *Table, in []byte) {
	t.Helper()
	if err := tb.Validate(); err != nil {
		t.Fatalf("reader returned an invalid table (%v) for %q", err, in)
	}
}

func FuzzReadCSV(f *testing.F) {
	for _, s := range []string{"a,b\n1,2\n", "a,b\n1,\"x\ny\"\n", "a\n\"open\n", "\"a\",\"b\\\"c\"\n", "a\tb\\n\n1\t2\n", "a#b\n1#2\n", "a,b\n1\n", ",\n\"\"\n"} {
		for d := range 4 {
			f.Add([]byte(s), uint8(d), uint8(1), false)
		}
	}
	f.Add([]byte("A,A\nx,y\n1,2\n"), uint8(0), uint8(2), true)
	f.Fuzz(func(t *testing.T, in []byte, dialect, levels uint8, ragged bool) {
		opts := CSVOptions{Dialect: CSVDialect(dialect % 5), HeaderLevels: int(levels % 4), Ragged: ragged}
		if opts.Dialect == PlainSplit {
			opts.Comma = '#'
		}
		tb, err := ReadCSV(bytes.NewReader(in), "fuzz.csv", opts)
		if err != nil {
			return
		}
		mustValidate(t, tb, in)
		if opts.Dialect == RFC4180 {
			// what was read is held by CSV: rendering and reading again is the identity
			again, err := ReadCSV(bytes.NewReader([]byte(tb.CSV())), "again.csv", CSVOptions{HeaderLevels: tb.Levels()})
			if err != nil || !Equal(again, tb) {
				t.Fatalf("CSV round trip of a read table failed (%v) for %q", err, in)
			}
		}
	})
}

func FuzzReadMarkdown(f *testing.F) {
	for _, s := range []string{"| a | b |\n|---|---|\n| 1 | 2 |\n", "a | b\n-|-\n1\n", "| A | A |\n| x | y |\n|--|--|\n| 1 \\| 2 | <br> |\n", "|-|\n", "x\n|---|\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		tb, err := ReadMarkdown(bytes.NewReader(in), "fuzz.md")
		if err != nil {
			return
		}
		mustValidate(t, tb, in)
	})
}

func FuzzReadHTML(f *testing.F) {
	for _, s := range []string{
		"<table><tr><th>a</th><th colspan=2>b</th></tr><tr><td rowspan=0>1</td><td>2</td><td>3</td></tr></table>",
		"<table title=t><caption>c</caption><thead><tr><th>a</tr></thead><tbody><tr><th>x<td>1</table>",
		"<table><tr><td rowspan=3 colspan=3>x</td></tr><tr></tr><tr><td>y</table>",
		"<table><tr><td><table><tr><td>n</td></tr></table></td></tr></table>",
		"<table><tfoot><tr><td>f</td></tr></tfoot><tr><td colspan=x>",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		tb, err := ReadHTML(bytes.NewReader(in), "fuzz.html")
		if err != nil {
			return
		}
		mustValidate(t, tb, in)
	})
}

func FuzzReadJSONRecords(f *testing.F) {
	for _, s := range []string{
		`[{"a": 1, "b": "x"}, {"b": null, "c": true}]`,
		`{"columns": [["A", "x"], ["A", "y"]], "index": ["r"], "data": [[1, 2]]}`,
		`{"header": [["a"]], "rows": [["1"]], "row_header_cols": 1}`,
		`{"header": ["a"], "rows": [["1", "2"]]}`,
		`[{"a": {"x": 1}}]`, `[]`, `{}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		tb, err := ReadJSONRecords(bytes.NewReader(in), "fuzz.json")
		if err != nil {
			return
		}
		mustValidate(t, tb, in)
	})
}

func FuzzUniform(f *testing.F) {
	f.Add([]byte(`{"table": {"header": ["a", "b"], "rows": [["1"]]}}`))
	f.Add([]byte(`{"table": {"header": ["y", "c | t"], "header_rows": [["y", "c"], ["", "t"]], "rows": [["1", "2"]], "hierarchy": {"left_header_columns_num": 1, "top_root": {}, "merged_regions": [{"first_row": 0, "last_row": 1, "first_column": 0, "last_column": 0}]}}}`))
	f.Add([]byte(`{"table": {"header": ["", "Y | 1"], "rows": [["r", "1"]], "hierarchy": {"column_header": [["Y", "1"]], "row_header": [["r"]]}}}`))
	addSharedSeeds(f, func(b []byte) { f.Add(b) })
	f.Fuzz(func(t *testing.T, in []byte) {
		tables, err := ReadJSONLTables(bytes.NewReader(in), "fuzz.jsonl")
		if err != nil {
			return
		}
		for _, tb := range tables {
			mustValidate(t, tb, in)
		}
	})
}
