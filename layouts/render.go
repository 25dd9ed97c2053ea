package layouts

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// Format names a textual form of a table.
type Format string

// The formats Render writes.
const (
	FormatMarkdown Format = "markdown" // GFM pipe table, (*Table).Markdown
	FormatCSV      Format = "csv"      // RFC 4180, (*Table).CSV
	FormatHTML     Format = "html"     // (*Table).HTML
	FormatPipe     Format = "pipe"     // compact "a | b" lines for prompts, (*Table).Pipe
	FormatJSON     Format = "json"     // the Table's JSON form: what the sandbox loads into pandas
	// FormatCompact is "a|b" lines without escaping, (*Table).Compact: the
	// trainer's compact prompt, for byte-level models.
	FormatCompact Format = "compact"
)

// ParseFormat returns the Format named s (as in a flag or config value).
func ParseFormat(s string) (Format, error) {
	switch f := Format(strings.ToLower(strings.TrimSpace(s))); f {
	case FormatMarkdown, FormatCSV, FormatHTML, FormatPipe, FormatJSON, FormatCompact:
		return f, nil
	case "md":
		return FormatMarkdown, nil
	}
	return "", fmt.Errorf("unknown table format %q; want one of markdown, csv, html, pipe, json, compact", s)
}

// Render writes t to w in format f.
func (t *Table) Render(w io.Writer, f Format) error {
	var s string
	switch f {
	case FormatMarkdown:
		s = t.Markdown()
	case FormatCSV:
		s = t.CSV()
	case FormatHTML:
		s = t.HTML()
	case FormatPipe:
		s = t.Pipe()
	case FormatCompact:
		s = t.Compact()
	case FormatJSON:
		b, err := json.Marshal(t)
		if err != nil {
			return err
		}
		s = string(b) + "\n"
	default:
		return fmt.Errorf("unknown table format %q; want one of markdown, csv, html, pipe, json, compact", f)
	}
	_, err := io.WriteString(w, s)
	return err
}

// Compact renders t in the fewest bytes: one line per header level, then
// one per row, cells joined by "|" with nothing escaped (a cell holding '|'
// or a newline is ambiguous). The trainer's compact prompt and the eval
// templates of byte-level models write tables this way.
func (t *Table) Compact() string {
	var b strings.Builder
	for _, l := range t.Header {
		b.WriteString(strings.Join(l, "|"))
		b.WriteByte('\n')
	}
	for _, r := range t.Rows {
		b.WriteString(strings.Join(r, "|"))
		b.WriteByte('\n')
	}
	return b.String()
}

var pipeEscaper = strings.NewReplacer(`\`, `\\`, "|", `\|`, "\r\n", `\n`, "\n", `\n`, "\r", `\n`)

// Pipe renders t compactly for prompts: one line per header level, then
// one per row, cells joined by " | ". In a cell '|' is written `\|`, '\'
// `\\` and a newline `\n`. It is for reading, not for reading back: it does
// not mark where the header ends.
func (t *Table) Pipe() string {
	var b strings.Builder
	line := func(cells []string) {
		for i, c := range cells {
			if i > 0 {
				b.WriteString(" | ")
			}
			b.WriteString(pipeEscaper.Replace(c))
		}
		b.WriteByte('\n')
	}
	for _, l := range t.Header {
		line(l)
	}
	for _, r := range t.Rows {
		line(r)
	}
	return b.String()
}

// Render prints the preview for a prompt: the full table's shape, its
// column list (as pandas shows df.columns: names, or tuples of level names
// for a multi-level header), and the shown rows in format f, e.g.
//
//	shape: 25 rows x 3 columns
//	columns: ['Year', 'Winner', 'Album']
//	first 10 rows:
//	| Year | Winner | Album |
//	...
func (p Preview) Render(f Format) (string, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "shape: %d rows x %d columns\n", p.Rows, p.Cols)
	b.WriteString("columns: ")
	if p.Table != nil {
		b.WriteString(pyColumns(p.Table.Header))
	}
	b.WriteByte('\n')
	switch {
	case p.Shown < p.Rows:
		fmt.Fprintf(&b, "first %d rows:\n", p.Shown)
	default:
		fmt.Fprintf(&b, "all %d rows:\n", p.Shown)
	}
	if p.Table != nil {
		if err := p.Table.Render(&b, f); err != nil {
			return "", err
		}
	}
	return b.String(), nil
}

// pyColumns writes a header as a Python list literal: strings for one
// level, tuples for several.
func pyColumns(h [][]string) string {
	if len(h) == 0 {
		return "[]"
	}
	var b strings.Builder
	b.WriteByte('[')
	for c := range h[0] {
		if c > 0 {
			b.WriteString(", ")
		}
		if len(h) == 1 {
			b.WriteString(pyString(h[0][c]))
			continue
		}
		b.WriteByte('(')
		for l := range h {
			if l > 0 {
				b.WriteString(", ")
			}
			if c < len(h[l]) {
				b.WriteString(pyString(h[l][c]))
			}
		}
		b.WriteByte(')')
	}
	b.WriteByte(']')
	return b.String()
}

var pyEscaper = strings.NewReplacer(`\`, `\\`, `'`, `\'`, "\n", `\n`, "\r", `\r`, "\t", `\t`)

// pyString is s as a single-quoted Python string literal.
func pyString(s string) string { return "'" + pyEscaper.Replace(s) + "'" }
