package layouts

import (
	"bufio"
	"io"
	"strings"
	"unicode/utf8"
)

// ReadMarkdown reads the first pipe table (GitHub-flavoured markdown) in r;
// text around it is ignored, so a model's completion can be read directly.
//
// The table starts at a delimiter row (cells like "---", ":--:") and the
// lines directly above it with the same number of cells are the header
// levels, top first (one line in plain GFM; (*Table).Markdown writes one per
// level). Body rows follow until a blank line or a line without '|'. In a
// cell, `\|` is '|', `\\` is '\', and <br> (or <br/>, <br />) is a newline;
// cells are trimmed. A short body row is padded with empty cells; a row with
// more cells than the delimiter row is an error naming its line.
func ReadMarkdown(r io.Reader, name string) (*Table, error) {
	var lines []string
	sc := bufio.NewScanner(skipBOM(r))
	sc.Buffer(make([]byte, 64<<10), maxJSONLLine)
	for sc.Scan() {
		lines = append(lines, strings.TrimSuffix(sc.Text(), "\r"))
		if len(lines) > 2*MaxRows { // a table plus surrounding text
			return nil, readErr(name, len(lines), "more than %d lines", len(lines)-1)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, readErr(name, len(lines)+1, "reading: %v", err)
	}
	for i, l := range lines {
		if !utf8.ValidString(l) {
			return nil, readErr(name, i+1, "line is not valid UTF-8; convert the input to UTF-8")
		}
	}
	for d := 1; d < len(lines); d++ {
		width, ok := delimiterRow(lines[d])
		if !ok {
			continue
		}
		top := d
		for top > 0 && strings.Contains(lines[top-1], "|") && !blank(lines[top-1]) {
			if cells := splitPipeRow(lines[top-1]); len(cells) != width || d-top >= MaxHeaderLevels {
				break
			}
			top--
		}
		if top == d {
			continue // a delimiter-looking line with no header above: not a table
		}
		if width > MaxCols {
			return nil, readErr(name, d+1, "delimiter row has %d cells, more than the limit of %d columns", width, MaxCols)
		}
		t := &Table{Rows: [][]string{}}
		for i := top; i < d; i++ {
			t.Header = append(t.Header, unescapeMarkdownCells(splitPipeRow(lines[i])))
		}
		for i := d + 1; i < len(lines) && !blank(lines[i]) && strings.Contains(lines[i], "|"); i++ {
			cells := unescapeMarkdownCells(splitPipeRow(lines[i]))
			if len(cells) > width {
				return nil, readErr(name, i+1, "row has %d cells, more than the %d of the header (escape a '|' inside a cell as \\|)", len(cells), width)
			}
			if len(t.Rows) >= MaxRows {
				return nil, readErr(name, i+1, "more than %d rows", MaxRows)
			}
			t.Rows = append(t.Rows, pad(cells, width))
		}
		return finish(t, name)
	}
	return nil, readErr(name, 0, "no markdown table found: want a header row, a delimiter row like |---|---|, then body rows")
}

func blank(s string) bool { return strings.TrimSpace(s) == "" }

// delimiterRow reports whether line is a GFM delimiter row and its width.
func delimiterRow(line string) (int, bool) {
	if !strings.Contains(line, "-") {
		return 0, false
	}
	cells := splitPipeRow(line)
	if len(cells) == 0 || (len(cells) == 1 && !strings.Contains(line, "|")) {
		return 0, false
	}
	for _, c := range cells {
		c = strings.TrimSuffix(strings.TrimPrefix(c, ":"), ":")
		if c == "" || strings.Trim(c, "-") != "" {
			return 0, false
		}
	}
	return len(cells), true
}

// splitPipeRow splits a table line on the '|' not escaped by a backslash,
// dropping one leading and one trailing pipe. Cells are trimmed but not
// unescaped.
func splitPipeRow(line string) []string {
	s := strings.TrimSpace(line)
	var cells []string
	var b strings.Builder
	trailing := false // the line ends with an unescaped '|'
	for i := 0; i < len(s); i++ {
		trailing = false
		switch {
		case s[i] == '\\' && i+1 < len(s):
			b.WriteByte(s[i])
			b.WriteByte(s[i+1])
			i++
		case s[i] == '|':
			cells = append(cells, b.String())
			b.Reset()
			trailing = true
		default:
			b.WriteByte(s[i])
		}
	}
	if !trailing {
		cells = append(cells, b.String())
	}
	if strings.HasPrefix(s, "|") && len(cells) > 0 {
		cells = cells[1:]
	}
	for i := range cells {
		cells[i] = strings.TrimSpace(cells[i])
	}
	return cells
}

var markdownBreaks = strings.NewReplacer("<br>", "\n", "<br/>", "\n", "<br />", "\n")

func unescapeMarkdownCells(cells []string) []string {
	for i, c := range cells {
		c = markdownBreaks.Replace(c)
		if strings.Contains(c, `\`) {
			var b strings.Builder
			for j := 0; j < len(c); j++ {
				if c[j] == '\\' && j+1 < len(c) && (c[j+1] == '|' || c[j+1] == '\\') {
					j++
				}
				b.WriteByte(c[j])
			}
			c = b.String()
		}
		cells[i] = c
	}
	return cells
}

var markdownEscaper = strings.NewReplacer(`\`, `\\`, "|", `\|`, "\r\n", "<br>", "\n", "<br>", "\r", "<br>")

// Markdown renders t as a GFM pipe table: one line per header level (GFM
// readers other than ReadMarkdown take the last as the header and the others
// as text), a delimiter row, then the rows. '|' is written `\|`, '\' `\\`,
// and a newline <br>.
//
// ReadMarkdown gives t back (title, caption and row-header count aside) when
// no cell has leading or trailing whitespace, "\r", or literal "<br>" text,
// and the table has at least one column.
func (t *Table) Markdown() string {
	var b strings.Builder
	row := func(cells []string) {
		b.WriteByte('|')
		for _, c := range cells {
			b.WriteByte(' ')
			b.WriteString(markdownEscaper.Replace(c))
			b.WriteString(" |")
		}
		b.WriteByte('\n')
	}
	for _, l := range t.Header {
		row(l)
	}
	b.WriteByte('|')
	for range t.NumCols() {
		b.WriteString(" --- |")
	}
	b.WriteByte('\n')
	for _, r := range t.Rows {
		row(r)
	}
	return b.String()
}
