package layouts

import (
	"strings"
	"testing"
)

func TestReadHTML(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want *Table
	}{
		{"thead colspan rowspan",
			`<html><body><p>before</p>
<table title="Spend"><caption>Table 1:  costs</caption>
<thead>
 <tr><th rowspan="2">year</th><th colspan="2">current</th><th>constant</th></tr>
 <tr><th>total</th><th>change</th><th>total</th></tr>
</thead>
<tbody>
 <tr><th>1987</th><td>1</td><td rowspan="2">2</td><td>3</td></tr>
 <tr><th>1988</th><td>4</td><td>6</td></tr>
</tbody></table><table><tr><td>second table ignored</td></tr></table>`,
			&Table{Title: "Spend", Caption: "Table 1: costs",
				Header:        [][]string{{"year", "current", "current", "constant"}, {"year", "total", "change", "total"}},
				RowHeaderCols: 1,
				Rows:          [][]string{{"1987", "1", "2", "3"}, {"1988", "4", "2", "6"}}}},
		{"th rows without thead, implicit end tags, entities, br",
			`<table><tr><th>a<th>b &amp; c
<tr><td>  x   y <td>one<br>two<tr><td>3<td><b>bold</b> text</table>`,
			&Table{Header: [][]string{{"a", "b & c"}}, Rows: [][]string{{"x y", "one\ntwo"}, {"3", "bold text"}}}},
		{"no th: first row is the header",
			`<table><tr><td>a</td><td>b</td></tr><tr><td>1</td><td>2</td></tr></table>`,
			&Table{Header: [][]string{{"a", "b"}}, Rows: [][]string{{"1", "2"}}}},
		{"rowspan 0 and clamped rowspan, stops at group end",
			`<table><thead><tr><th>a</th><th>b</th></tr></thead><tbody>
<tr><td rowspan="0">x</td><td>1</td></tr><tr><td>2</td></tr><tr><td>3</td></tr>
</tbody><tbody><tr><td rowspan="99">y</td><td>4</td></tr></tbody></table>`,
			&Table{Header: [][]string{{"a", "b"}}, Rows: [][]string{{"x", "1"}, {"x", "2"}, {"x", "3"}, {"y", "4"}}}},
		{"nested table, script, ragged row padded, tfoot last",
			`<table><tfoot><tr><td>f</td><td>g</td></tr></tfoot><tr><th>a</th><th>b</th></tr>
<tr><td>in <table><tr><td>nested</td><td>cells</td></tr></table></td><td><script>var x="<td>";</script>s</td></tr>
<tr><td>short</td></tr></table>`,
			&Table{Header: [][]string{{"a", "b"}}, Rows: [][]string{{"in nested cells", "s"}, {"short", ""}, {"f", "g"}}}},
		{"rowspan into columns right of the row's cells",
			`<table><tr><th>a</th><th>b</th><th>c</th></tr><tr><td>1</td><td>2</td><td rowspan="2">3</td></tr><tr><td>4</td></tr></table>`,
			&Table{Header: [][]string{{"a", "b", "c"}}, Rows: [][]string{{"1", "2", "3"}, {"4", "", "3"}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ReadHTML(strings.NewReader(tc.in), "t.html")
			if err != nil {
				t.Fatal(err)
			}
			if !Equal(got, tc.want) {
				t.Fatalf("got  %q %q %q %q %d\nwant %q %q %q %q %d", got.Title, got.Caption, got.Header, got.Rows, got.RowHeaderCols,
					tc.want.Title, tc.want.Caption, tc.want.Header, tc.want.Rows, tc.want.RowHeaderCols)
			}
		})
	}
}

func TestReadHTMLErrors(t *testing.T) {
	wide := "<table><tr>" + strings.Repeat("<td>c</td>", 10000) + "</tr></table>"
	tests := []struct {
		name, in string
		line     int
		want     string
	}{
		{"no table", "<p>hello</p>", 0, "no <table> element found"},
		{"empty input", "", 0, "no <table> element found"},
		{"empty table", "<table>\n</table>", 0, "empty table"},
		{"rows without cells", "<table><tr></tr></table>", 0, "empty table"},
		{"colspan non-numeric", "<table>\n<tr><th colspan=\"two\">a</th></tr></table>", 2, `colspan="two"`},
		{"colspan zero", "<table><tr><th colspan=0>a</th></tr></table>", 1, `colspan="0"`},
		{"colspan negative", "<table><tr><th colspan=-1>a</th></tr></table>", 1, `colspan="-1"`},
		{"colspan huge", "<table><tr><th colspan=100000>a</th></tr></table>", 1, `want a whole number from 1 to 4096`},
		{"colspans add up past limit", "<table>\n\n<tr><th colspan=4000>a</th><th colspan=4000>b</th></tr></table>", 3, "more than 4096 columns wide"},
		{"rowspan non-numeric", "<table><tr><td rowspan=\"x\">a</td></tr></table>", 1, `rowspan="x"`},
		{"10000 columns", wide, 1, "more than 4096 columns wide"},
		{"invalid utf8", "<table><tr><td>a</td></tr>\n<tr><td>\xff</td></tr></table>", 2, "not valid UTF-8"},
		{"too many levels", "<table><thead>" + strings.Repeat("<tr><th>h</th></tr>", 17) + "</thead></table>", 1, "more than the limit of 16 levels"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadHTML(strings.NewReader(tc.in), "bad.html")
			checkReadErr(t, err, "bad.html", tc.line, tc.want)
		})
	}
}

func TestHTMLRender(t *testing.T) {
	tb := &Table{
		Title: `a "q" & b`, Caption: "cap",
		Header:        [][]string{{"", "A", "A", "B"}, {"", "x", "x", "x"}},
		RowHeaderCols: 1,
		Rows:          [][]string{{"r<1>", "1\n2", "", "3"}},
	}
	want := `<table title="a &#34;q&#34; &amp; b">
<caption>cap</caption>
<thead>
<tr><th rowspan="2"></th><th colspan="2">A</th><th>B</th></tr>
<tr><th colspan="2">x</th><th>x</th></tr>
</thead>
<tbody>
<tr><th scope="row">r&lt;1&gt;</th><td>1<br>2</td><td></td><td>3</td></tr>
</tbody>
</table>
`
	if got := tb.HTML(); got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
}

// TestReadHTMLWideRowspan is a regression test for a layout cost that grew
// with the square of the width: a rowspan at the far right of a wide table
// over many short rows.
func TestReadHTMLWideRowspan(t *testing.T) {
	var b strings.Builder
	b.WriteString(`<table><tr><th colspan="999">h</th><th>z</th></tr><tr><td>a</td><td colspan="998">b</td><td rowspan="0">r</td></tr>`)
	for range 400 {
		b.WriteString("<tr><td>x</td></tr>")
	}
	b.WriteString("</table>")
	got, err := ReadHTML(strings.NewReader(b.String()), "wide.html")
	if err != nil {
		t.Fatal(err)
	}
	if got.NumCols() != 1000 || got.NumRows() != 401 {
		t.Fatalf("shape %d x %d", got.NumRows(), got.NumCols())
	}
	for r, row := range got.Rows {
		if row[999] != "r" || row[0] == "" || (r > 0 && row[1] != "") {
			t.Fatalf("row %d: %q %q %q", r, row[0], row[1], row[999])
		}
	}
}
