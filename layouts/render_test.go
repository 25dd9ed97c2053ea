package layouts

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPipe(t *testing.T) {
	tb := &Table{Header: [][]string{{"A", "A"}, {"x", "y"}}, Rows: [][]string{{"1|2", "a\nb\\"}}}
	want := "A | A\nx | y\n1\\|2 | a\\nb\\\\\n"
	if got := tb.Pipe(); got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestCompact(t *testing.T) {
	tb := &Table{Header: [][]string{{"A", "A"}, {"x", "y"}}, Rows: [][]string{{"1", "2"}, {"", "b c"}}}
	want := "A|A\nx|y\n1|2\n|b c\n"
	if got := tb.Compact(); got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	var b strings.Builder
	if err := tb.Render(&b, FormatCompact); err != nil || b.String() != want {
		t.Fatalf("Render(compact) = %q, %v; want %q", b.String(), err, want)
	}
	if f, err := ParseFormat("compact"); err != nil || f != FormatCompact {
		t.Fatalf("ParseFormat(compact) = %q, %v", f, err)
	}
}

func TestPreviewRender(t *testing.T) {
	tb := &Table{
		Header: [][]string{{"year", "cost", "cost"}, {"year", "total", "it's"}},
		Rows:   [][]string{{"1", "2", "3"}, {"4", "5", "6"}, {"7", "8", "9"}},
	}
	got, err := tb.Preview(2).Render(FormatPipe)
	if err != nil {
		t.Fatal(err)
	}
	want := `shape: 3 rows x 3 columns
columns: [('year', 'year'), ('cost', 'total'), ('cost', 'it\'s')]
first 2 rows:
year | cost | cost
year | total | it's
1 | 2 | 3
4 | 5 | 6
`
	if got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	one := &Table{Header: [][]string{{"a", "b"}}, Rows: [][]string{{"1", "2"}}}
	got, err = one.Preview(10).Render(FormatMarkdown)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(got, "shape: 1 rows x 2 columns\ncolumns: ['a', 'b']\nall 1 rows:\n| a | b |\n") {
		t.Fatalf("got\n%s", got)
	}
	if _, err := one.Preview(1).Render("xml"); err == nil {
		t.Fatal("unknown format accepted")
	}
}

func TestRenderFormats(t *testing.T) {
	tb := &Table{Header: [][]string{{"a"}}, Rows: [][]string{{"1"}}}
	for _, name := range []string{"markdown", "md", "CSV", "html", "pipe", "json"} {
		f, err := ParseFormat(name)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := tb.Render(&buf, f); err != nil || buf.Len() == 0 {
			t.Fatalf("%s: %v %q", name, err, buf.String())
		}
	}
	if _, err := ParseFormat("xml"); err == nil {
		t.Fatal("ParseFormat accepted xml")
	}
	if err := tb.Render(&bytes.Buffer{}, "xml"); err == nil {
		t.Fatal("Render accepted xml")
	}
}

func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	want := &Table{Header: [][]string{{"a", "b"}}, Rows: [][]string{{"1", "x|y"}}}
	files := map[string]string{
		"t.csv":      "a,b\n1,x|y\n",
		"wtq.csv":    "\"a\",\"b\"\n\"1\",\"x|y\"\n",
		"t.html.csv": "a#b\n1#x|y\n",
		"t.tsv":      "a\tb\n1\tx\\py\n",
		"t.md":       "| a | b |\n|---|---|\n| 1 | x\\|y |\n",
		"t.markdown": "a | b\n--|--\n1 | x\\|y\n",
		"t.html":     "<table><tr><th>a<th>b<tr><td>1<td>x|y</table>",
		"t.htm":      "<table><tr><th>a<th>b<tr><td>1<td>x|y</table>",
		"t.json":     `[{"a": 1, "b": "x|y"}]`,
		"t.jsonl":    "\n" + `{"table": {"header": ["a", "b"], "rows": [["1", "x|y"]]}}` + "\nnot read\n",
	}
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := ReadFile(p)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !Equal(got, want) {
			t.Fatalf("%s: got %q %q", name, got.Header, got.Rows)
		}
	}
	// a WikiTableQuestions .csv with \" escapes fails as RFC 4180 and is
	// read in its own style
	wtq := filepath.Join(dir, "wtq2.csv")
	_ = os.WriteFile(wtq, []byte(`"a","b"`+"\n"+`"say \"hi\"","x"`+"\n"), 0o644)
	got, err := ReadFile(wtq)
	if err != nil || got.Rows[0][0] != `say "hi"` {
		t.Fatalf("WTQ-style csv: %v %+v", err, got)
	}
	bad := filepath.Join(dir, "t.xlsx")
	_ = os.WriteFile(bad, []byte("x"), 0o644)
	if _, err := ReadFile(bad); err == nil || !strings.Contains(err.Error(), "unknown table file extension") {
		t.Fatalf("err = %v", err)
	}
	if _, err := ReadFile(filepath.Join(dir, "missing.csv")); err == nil {
		t.Fatal("missing file read")
	}
	empty := filepath.Join(dir, "e.jsonl")
	_ = os.WriteFile(empty, []byte("\n\n"), 0o644)
	if _, err := ReadFile(empty); err == nil || !strings.Contains(err.Error(), "no JSONL record") {
		t.Fatalf("err = %v", err)
	}
}
