package layouts

import (
	"strings"
	"testing"
)

func TestReadMarkdown(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want *Table
	}{
		{"gfm", "| a | b |\n|---|:-:|\n| 1 | 2 |\n| 3 |\n",
			&Table{Header: [][]string{{"a", "b"}}, Rows: [][]string{{"1", "2"}, {"3", ""}}}},
		{"no outer pipes, prose around", "The table:\n\na | b\n--- | ---\n1 | x \\| y\n\nSo the answer is 1.\n",
			&Table{Header: [][]string{{"a", "b"}}, Rows: [][]string{{"1", "x | y"}}}},
		{"levels", "| A | A | B |\n| x | y | z |\n| --- | --- | --- |\n| 1 | 2 | 3 |\n",
			&Table{Header: [][]string{{"A", "A", "B"}, {"x", "y", "z"}}, Rows: [][]string{{"1", "2", "3"}}}},
		{"escapes and breaks", "| a |\n| --- |\n| back\\\\slash<br>two<br />lines |\n| \\d |\n",
			&Table{Header: [][]string{{"a"}}, Rows: [][]string{{"back\\slash\ntwo\nlines"}, {`\d`}}}},
		{"empty cells", "| | b |\n|-|-|\n| | |\n",
			&Table{Header: [][]string{{"", "b"}}, Rows: [][]string{{"", ""}}}},
		{"header only, crlf", "| a |\r\n| --- |\r\n",
			&Table{Header: [][]string{{"a"}}, Rows: [][]string{}}},
		{"prose line with other width above", "a | b | c\n| x | y |\n|---|---|\n| 1 | 2 |\n",
			&Table{Header: [][]string{{"x", "y"}}, Rows: [][]string{{"1", "2"}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ReadMarkdown(strings.NewReader(tc.in), "t.md")
			if err != nil {
				t.Fatal(err)
			}
			if !Equal(got, tc.want) {
				t.Fatalf("got  %q %q\nwant %q %q", got.Header, got.Rows, tc.want.Header, tc.want.Rows)
			}
		})
	}
}

func TestReadMarkdownErrors(t *testing.T) {
	wide := "|" + strings.Repeat(" c |", 10000) + "\n|" + strings.Repeat("---|", 10000) + "\n"
	tests := []struct {
		name, in string
		line     int
		want     string
	}{
		{"empty", "", 0, "no markdown table found"},
		{"no delimiter", "| a | b |\n| 1 | 2 |\n", 0, "no markdown table found"},
		{"ragged long row", "| a | b |\n|---|---|\n| 1 | 2 |\n| 1 | 2 | 3 |\n", 4, "row has 3 cells, more than the 2"},
		{"10000 columns", wide, 2, "more than the limit of 4096"},
		{"invalid utf8", "| a |\n|---|\n| \xff |\n", 3, "not valid UTF-8"},
		{"delimiter only", "|---|---|\n", 0, "no markdown table found"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadMarkdown(strings.NewReader(tc.in), "bad.md")
			checkReadErr(t, err, "bad.md", tc.line, tc.want)
		})
	}
}

func TestMarkdownRender(t *testing.T) {
	tb := &Table{Header: [][]string{{"A", "A"}, {"x", "y|z"}}, Rows: [][]string{{"1\n2", `a\b`}}}
	want := "| A | A |\n| x | y\\|z |\n| --- | --- |\n| 1<br>2 | a\\\\b |\n"
	if got := tb.Markdown(); got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
}
