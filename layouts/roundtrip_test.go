package layouts

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"pgregory.net/rapid"
)

// cellRunes are the characters generated cells are made of: the separators,
// quotes, escapes and whitespace that each format must handle.
var cellRunes = []rune{'a', 'b', 'Z', '1', '0', ' ', ',', ';', '"', '\'', '|', '\\', '\n', '\t', '\r',
	'<', '>', '&', '#', '-', ':', 'n', 'p', '.', 'é', '中', '\u00a0', '='}

func genCell(t *rapid.T, label string) string {
	rs := rapid.SliceOfN(rapid.SampledFrom(cellRunes), 0, 6).Draw(t, label)
	return string(rs)
}

// genTable draws a valid table; fix rewrites each cell (and the title and
// caption) into the form a format can hold.
func genTable(t *rapid.T, fix func(string) string) *Table {
	levels := rapid.IntRange(1, 3).Draw(t, "levels")
	cols := rapid.IntRange(1, 5).Draw(t, "cols")
	rows := rapid.IntRange(0, 5).Draw(t, "rows")
	tb := &Table{
		Title:         fix(genCell(t, "title")),
		Caption:       fix(genCell(t, "caption")),
		RowHeaderCols: rapid.IntRange(0, cols).Draw(t, "rowHeaderCols"),
		Rows:          [][]string{},
	}
	for range levels {
		l := make([]string, cols)
		for c := range l {
			l[c] = fix(genCell(t, "name"))
		}
		tb.Header = append(tb.Header, l)
	}
	for range rows {
		r := make([]string, cols)
		for c := range r {
			r[c] = fix(genCell(t, "cell"))
		}
		tb.Rows = append(tb.Rows, r)
	}
	if err := tb.Validate(); err != nil {
		t.Fatalf("generator made an invalid table: %v", err)
	}
	return tb
}

// CSV holds everything but "\r" in a cell (encoding/csv folds "\r\n"), the
// title, the caption, and (unless passed back in CSVOptions) the level and
// row-header counts.
func TestRoundTripCSV(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		tb := genTable(t, func(s string) string { return strings.ReplaceAll(s, "\r", "") })
		text := tb.CSV()
		got, err := ReadCSV(strings.NewReader(text), "rt.csv", CSVOptions{HeaderLevels: tb.Levels(), RowHeaderCols: tb.RowHeaderCols})
		if err != nil {
			t.Fatalf("read back: %v\n%s", err, text)
		}
		tb.Title, tb.Caption = "", ""
		if !Equal(got, tb) {
			t.Fatalf("round trip changed the table\nwant %q %q\ngot  %q %q\n%s", tb.Header, tb.Rows, got.Header, got.Rows, text)
		}
	})
}

// Markdown holds cells with no leading or trailing whitespace, no "\r" and
// no literal "<br"; not the title, caption or row-header count; and not a
// header level below the top whose cells all look like a delimiter ("-").
func TestRoundTripMarkdown(t *testing.T) {
	fix := func(s string) string {
		s = strings.ReplaceAll(s, "\r", "")
		s = strings.ReplaceAll(s, "<br", "<b")
		return strings.TrimSpace(s)
	}
	rapid.Check(t, func(t *rapid.T) {
		tb := genTable(t, fix)
		for _, l := range tb.Header[1:] {
			if _, delim := delimiterRow("|" + strings.Join(l, "|") + "|"); delim {
				t.Skip("a header level that reads as a delimiter row")
			}
		}
		text := tb.Markdown()
		got, err := ReadMarkdown(strings.NewReader(text), "rt.md")
		if err != nil {
			t.Fatalf("read back: %v\n%s", err, text)
		}
		tb.Title, tb.Caption, tb.RowHeaderCols = "", "", 0
		if !Equal(got, tb) {
			t.Fatalf("round trip changed the table\nwant %q %q\ngot  %q %q\n%s", tb.Header, tb.Rows, got.Header, got.Rows, text)
		}
	})
}

// htmlFix turns s into text as a browser shows it: no tab, "\r" or form
// feed, and on each line no leading, trailing or repeated spaces.
func htmlFix(s string) string {
	s = strings.NewReplacer("\t", " ", "\r", " ", "\f", " ").Replace(s)
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.Join(strings.FieldsFunc(l, func(r rune) bool { return r == ' ' }), " ")
	}
	return strings.Join(lines, "\n")
}

// HTML holds title, caption, levels and cells written as a browser shows
// text (see htmlFix; the title without surrounding whitespace), and the
// row-header count when there is a body row.
func TestRoundTripHTML(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		tb := genTable(t, htmlFix)
		tb.Title = strings.TrimSpace(tb.Title)
		if len(tb.Rows) == 0 {
			tb.RowHeaderCols = 0
		}
		text := tb.HTML()
		got, err := ReadHTML(strings.NewReader(text), "rt.html")
		if err != nil {
			t.Fatalf("read back: %v\n%s", err, text)
		}
		if !Equal(got, tb) {
			t.Fatalf("round trip changed the table\nwant %q %q %q %q %d\ngot  %q %q %q %q %d\n%s",
				tb.Title, tb.Caption, tb.Header, tb.Rows, tb.RowHeaderCols, got.Title, got.Caption, got.Header, got.Rows, got.RowHeaderCols, text)
		}
	})
}

// The Table's JSON form (FormatJSON) holds every valid table.
func TestRoundTripJSON(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		tb := genTable(t, func(s string) string { return s })
		var buf bytes.Buffer
		if err := tb.Render(&buf, FormatJSON); err != nil {
			t.Fatal(err)
		}
		got, err := ReadJSONRecords(bytes.NewReader(buf.Bytes()), "rt.json")
		if err != nil {
			t.Fatalf("read back: %v\n%s", err, buf.String())
		}
		if !Equal(got, tb) {
			t.Fatalf("round trip changed the table\n%s", buf.String())
		}
		// and as a JSONL record
		rec, _ := json.Marshal(map[string]any{"table": tb})
		all, err := ReadJSONLTables(bytes.NewReader(rec), "rt.jsonl")
		if err != nil || len(all) != 1 || !Equal(all[0], tb) {
			t.Fatalf("JSONL round trip: %v", err)
		}
	})
}

// Every line of the pipe text splits, on its unescaped '|', into one field
// per column, and there is one line per level and row.
func TestPipeShape(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		tb := genTable(t, func(s string) string { return s })
		lines := strings.Split(strings.TrimSuffix(tb.Pipe(), "\n"), "\n")
		if len(lines) != tb.Levels()+tb.NumRows() {
			t.Fatalf("%d lines for %d levels and %d rows", len(lines), tb.Levels(), tb.NumRows())
		}
		for i, l := range lines {
			n := 1
			for j := 0; j < len(l); j++ {
				switch l[j] {
				case '\\':
					j++
				case '|':
					n++
				}
			}
			if n != tb.NumCols() {
				t.Fatalf("line %d %q has %d fields, want %d", i, l, n, tb.NumCols())
			}
		}
	})
}
