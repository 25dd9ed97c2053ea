package layouts

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadCSV(t *testing.T) {
	tests := []struct {
		name string
		in   string
		opts CSVOptions
		want *Table
	}{
		{"rfc", "a,b\n1,\"x, \"\"y\"\"\"\n2,\"multi\nline\"\n", CSVOptions{},
			&Table{Header: [][]string{{"a", "b"}}, Rows: [][]string{{"1", `x, "y"`}, {"2", "multi\nline"}}}},
		{"bom", "\ufeffa,b\n", CSVOptions{},
			&Table{Header: [][]string{{"a", "b"}}, Rows: [][]string{}}},
		{"crlf", "a,b\r\n1,2\r\n", CSVOptions{},
			&Table{Header: [][]string{{"a", "b"}}, Rows: [][]string{{"1", "2"}}}},
		{"header only", "a,b\n", CSVOptions{},
			&Table{Header: [][]string{{"a", "b"}}, Rows: [][]string{}}},
		{"two levels", "A,A,B\nx,y,z\n1,2,3\n", CSVOptions{HeaderLevels: 2, RowHeaderCols: 1},
			&Table{Header: [][]string{{"A", "A", "B"}, {"x", "y", "z"}}, RowHeaderCols: 1, Rows: [][]string{{"1", "2", "3"}}}},
		{"ragged allowed", "a,b\n1\n1,2,3\n", CSVOptions{Ragged: true},
			&Table{Header: [][]string{{"a", "b", ""}}, Rows: [][]string{{"1", "", ""}, {"1", "2", "3"}}}},
		{"semicolon", "a;b\n1;2\n", CSVOptions{Comma: ';'},
			&Table{Header: [][]string{{"a", "b"}}, Rows: [][]string{{"1", "2"}}}},
		{"plain hash", "season#team \"x\"\n2007#a,b\n", CSVOptions{Dialect: PlainSplit, Comma: '#'},
			&Table{Header: [][]string{{"season", `team "x"`}}, Rows: [][]string{{"2007", "a,b"}}}},
		{"wtq tsv", "a\tb\\pc\n1\\n2\t\\\\n\"q\"\n", CSVOptions{Dialect: WTQTSV},
			&Table{Header: [][]string{{"a", "b|c"}}, Rows: [][]string{{"1\n2", `\n"q"`}}}},
		{"wtq csv", "\"a\",\"b\"\n\"say \\\"hi\\\"\",\"back\\\\slash\"\n\"multi\nline\",\"\"\n", CSVOptions{Dialect: WTQCSV},
			&Table{Header: [][]string{{"a", "b"}}, Rows: [][]string{{`say "hi"`, `back\slash`}, {"multi\nline", ""}}}},
		{"wtq csv no final newline", "\"a\"\n\"1\"", CSVOptions{Dialect: WTQCSV},
			&Table{Header: [][]string{{"a"}}, Rows: [][]string{{"1"}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ReadCSV(strings.NewReader(tc.in), "t.csv", tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if !Equal(got, tc.want) {
				t.Fatalf("got  %q %q\nwant %q %q", got.Header, got.Rows, tc.want.Header, tc.want.Rows)
			}
		})
	}
}

// TestReadCSVErrors covers the malformed inputs the issue lists: each gives
// a ReadError naming the file, the line where one applies, and the problem.
func TestReadCSVErrors(t *testing.T) {
	wide := strings.Repeat("c,", 9999) + "c\n"
	tests := []struct {
		name string
		in   string
		opts CSVOptions
		line int
		want string
	}{
		{"ragged", "a,b\n1,2\n3\n", CSVOptions{}, 3, "record has 1 fields, want 2"},
		{"ragged long", "a,b\n1,2,3\n", CSVOptions{}, 2, "record has 3 fields, want 2"},
		{"unterminated quote", "a,b\n1,\"open\n2,3\n", CSVOptions{}, 3, "opened on line 2 is not terminated"},
		{"bare quote", "a,b\n1,x\"y\n", CSVOptions{}, 2, "bare \""},
		{"quote then text", "a,b\n1,\"x\"y\n", CSVOptions{}, 2, `extraneous or missing " in quoted-field`},
		{"empty", "", CSVOptions{}, 0, "empty table"},
		{"blank lines only", "\n\n", CSVOptions{}, 0, "empty table"},
		{"10000 columns", wide, CSVOptions{}, 1, "more than the limit of 4096"},
		{"10000 columns plain", wide, CSVOptions{Dialect: PlainSplit}, 1, "more than the limit of 4096"},
		{"10000 columns wtq csv", strings.Repeat(`"c",`, 9999) + "\"c\"\n", CSVOptions{Dialect: WTQCSV}, 1, "more than 4096 fields"},
		{"invalid utf8", "a,b\n1,\xff\xfe\n", CSVOptions{}, 2, "field 2 is not valid UTF-8"},
		{"invalid utf8 wtq tsv", "a\tb\n1\t\xff\n", CSVOptions{Dialect: WTQTSV}, 2, "not valid UTF-8"},
		{"invalid utf8 wtq csv", "\"a\"\n\"\xff\"\n", CSVOptions{Dialect: WTQCSV}, 2, "invalid UTF-8"},
		{"wtq csv unterminated", "\"a\",\"b\n", CSVOptions{Dialect: WTQCSV}, 2, "quoted field 2 opened on line 1 is not terminated"},
		{"wtq csv junk after quote", "\"a\"x\n", CSVOptions{Dialect: WTQCSV}, 1, "after the closing quote"},
		{"too few records for levels", "a,b\n", CSVOptions{HeaderLevels: 2}, 0, "fewer than the 2 header levels"},
		{"levels over limit", "a\n", CSVOptions{HeaderLevels: 17}, 0, "HeaderLevels is 17"},
		{"bad separator", "a\n", CSVOptions{Comma: '"'}, 0, "separator"},
		{"row headers outside", "a,b\n1,2\n", CSVOptions{RowHeaderCols: 3}, 0, "row_header_cols is 3"},
		{"unknown dialect", "a\n", CSVOptions{Dialect: 9}, 0, "unknown CSV dialect"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadCSV(strings.NewReader(tc.in), "bad.csv", tc.opts)
			checkReadErr(t, err, "bad.csv", tc.line, tc.want)
		})
	}
}

func checkReadErr(t *testing.T, err error, name string, line int, want string) {
	t.Helper()
	var re *ReadError
	if !errors.As(err, &re) {
		t.Fatalf("err = %v, want a *ReadError", err)
	}
	if re.Name != name || re.Line != line || !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %q (line %d), want %s line %d and %q", err, re.Line, name, line, want)
	}
	if !strings.HasPrefix(err.Error(), name) {
		t.Fatalf("err = %q does not start with the file name", err)
	}
}

// TestWTQRawTables reads every raw WikiTableQuestions table in both its
// .tsv and its .csv style and checks that they agree with each other and
// with the uniform dev JSONL made from the .tsv.
func TestWTQRawTables(t *testing.T) {
	uniform := map[string]*Table{}
	f := openShared(t, "wtq.dev.jsonl")
	raw, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	for i, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		var rec struct {
			Source struct {
				TablePath string `json:"table_path"`
			} `json:"source"`
			Table UniformTable `json:"table"`
		}
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		tb, err := rec.Table.Table()
		if err != nil {
			t.Fatal(err)
		}
		uniform[rec.Source.TablePath] = tb
	}
	tsvs, _ := filepath.Glob(filepath.Join(sharedData, "raw/wtq/csv/*/*.tsv"))
	if len(tsvs) < 10 {
		t.Fatalf("only %d raw WTQ tables", len(tsvs))
	}
	matched := 0
	for _, p := range tsvs {
		fromTSV, err := ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		fromCSV, err := ReadFile(strings.TrimSuffix(p, ".tsv") + ".csv")
		if err != nil {
			t.Fatal(err)
		}
		// The corpus's .csv files have spaces where some .tsv files have
		// U+00A0, so the two styles are compared after canonicalisation.
		if !EqualCanonical(fromTSV, fromCSV) {
			t.Fatalf("%s: .tsv and .csv differ", p)
		}
		rel, _ := filepath.Rel(filepath.Join(sharedData, "raw/wtq"), p)
		if u, ok := uniform[rel]; ok {
			matched++
			if !Equal(u, fromTSV) {
				t.Fatalf("%s differs from the uniform JSONL's table", p)
			}
		}
	}
	if matched < 10 {
		t.Fatalf("only %d raw tables matched uniform records", matched)
	}
}

// TestTabFactRawTables reads TabFact's '#'-separated files and compares
// them with the uniform dev JSONL.
func TestTabFactRawTables(t *testing.T) {
	f := openShared(t, "tabfact.dev.jsonl")
	raw, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		var rec struct {
			Source struct {
				TablePath string `json:"table_path"`
			} `json:"source"`
			Table UniformTable `json:"table"`
		}
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatal(err)
		}
		want, err := rec.Table.Table()
		if err != nil {
			t.Fatal(err)
		}
		got, err := ReadFile(filepath.Join(sharedData, "raw/tabfact", rec.Source.TablePath))
		if err != nil {
			t.Fatal(err)
		}
		want.Caption = ""
		if !Equal(got, want) {
			t.Fatalf("%s differs from the uniform table", rec.Source.TablePath)
		}
		n++
	}
	if n < 100 {
		t.Fatalf("only %d records", n)
	}
}
