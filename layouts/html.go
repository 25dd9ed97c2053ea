package layouts

import (
	"bytes"
	"fmt"
	"html"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	xhtml "golang.org/x/net/html"
)

// ReadHTML reads the first top-level <table> in r (a page or a fragment).
//
//   - Header levels: the rows of <thead>; without a <thead>, the leading
//     rows made only of <th> cells; without either, the first row.
//   - colspan and rowspan are expanded: a spanning cell's text is repeated
//     in every grid position it covers (in the header that gives repeated
//     level names, as pandas' MultiIndex has; in the body, merged cells).
//     A rowspan stops at the end of its row group (<thead>, <tbody>,
//     <tfoot>), and rowspan="0" runs to that end, as in browsers. A colspan
//     or rowspan that is not a whole number, or a colspan of 0 or more than
//     MaxCols, is an error naming the line; a rowspan beyond the rows left
//     is clamped to them.
//   - Row-header columns: the number of leading <th> cells every body row
//     has.
//   - The title attribute of <table> is the title; <caption> the caption.
//   - Cell text: tags dropped, entities decoded, <br> a newline, and each
//     line's whitespace collapsed to single spaces and trimmed, as a browser
//     shows it. Text of a table nested in a cell joins the cell's text;
//     script and style content is dropped.
//
// Ragged rows are padded with empty cells (Table.Normalize). Errors are
// *ReadErrors; an input without a table, or a table without rows, is one.
func ReadHTML(r io.Reader, name string) (*Table, error) {
	p := htmlParser{name: name, z: xhtml.NewTokenizer(r), line: 1}
	if err := p.parse(); err != nil {
		return nil, err
	}
	return p.build()
}

type htmlCell struct {
	text             strings.Builder
	th               bool
	colspan, rowspan int
	rowspanToEnd     bool
}

type htmlRow struct {
	group int // index of the row group (thead, tbody, tfoot, or implicit)
	kind  string
	cells []*htmlCell
	line  int
}

type htmlParser struct {
	name  string
	z     *xhtml.Tokenizer
	line  int // line of the current token's start
	depth int // <table> nesting; 1 inside the table being read

	title, caption strings.Builder
	inCaption      bool
	skip           int // inside script/style
	group          int
	groupKind      string
	rows           []*htmlRow
	cell           *htmlCell
	found, done    bool
	rowOpen        bool
	cells          int
}

// maxHTMLCells bounds the cells of one table, before and after spans are
// expanded, so that a small input with huge spans cannot exhaust memory.
const maxHTMLCells = 1 << 24

func (p *htmlParser) err(format string, args ...any) error {
	return readErr(p.name, p.line, format, args...)
}

func (p *htmlParser) parse() error {
	for !p.done {
		tt := p.z.Next()
		raw := p.z.Raw()
		if tt == xhtml.ErrorToken {
			if p.z.Err() == io.EOF {
				break
			}
			return p.err("reading: %v", p.z.Err())
		}
		if !utf8.Valid(raw) {
			return p.err("input is not valid UTF-8; convert it to UTF-8")
		}
		if err := p.token(tt); err != nil {
			return err
		}
		p.line += bytes.Count(raw, []byte("\n"))
	}
	if !p.found {
		return readErr(p.name, 0, "no <table> element found")
	}
	return nil
}

func (p *htmlParser) token(tt xhtml.TokenType) error {
	switch tt {
	case xhtml.TextToken:
		if p.skip > 0 || p.depth == 0 {
			return nil
		}
		// A newline in the source is only whitespace; "\n" in a cell's
		// text marks a <br>.
		txt := strings.ReplaceAll(string(p.z.Text()), "\n", " ")
		switch {
		case p.cell != nil:
			p.cell.text.WriteString(txt)
		case p.inCaption && p.depth == 1:
			p.caption.WriteString(txt)
		}
	case xhtml.StartTagToken, xhtml.SelfClosingTagToken:
		nameB, hasAttr := p.z.TagName()
		tag := string(nameB)
		var attrs map[string]string // only the attributes of table, td and th are read
		if tag == "table" || tag == "td" || tag == "th" {
			attrs = map[string]string{}
		} else {
			hasAttr = false
		}
		for hasAttr {
			var k, v []byte
			k, v, hasAttr = p.z.TagAttr()
			if _, dup := attrs[string(k)]; !dup { // the first of duplicate attributes wins, as in browsers
				attrs[string(k)] = string(v)
			}
		}
		return p.start(tag, attrs, tt == xhtml.SelfClosingTagToken)
	case xhtml.EndTagToken:
		nameB, _ := p.z.TagName()
		p.end(string(nameB))
	}
	return nil
}

func (p *htmlParser) start(tag string, attrs map[string]string, selfClosing bool) error {
	switch tag {
	case "script", "style":
		if !selfClosing {
			p.skip++
		}
		return nil
	case "table":
		p.depth++
		if p.depth == 1 {
			p.found = true
			p.title.WriteString(attrs["title"])
		}
		if selfClosing {
			p.end("table")
		}
		return nil
	}
	if p.depth == 0 {
		return nil
	}
	if p.depth > 1 {
		// a nested table: its cells' text joins the enclosing cell
		if p.cell != nil {
			switch tag {
			case "br":
				p.cell.text.WriteString("\n")
			case "td", "th", "tr":
				p.cell.text.WriteString(" ")
			}
		}
		return nil
	}
	switch tag {
	case "caption":
		p.inCaption = true
	case "thead", "tbody", "tfoot":
		p.closeCell()
		p.rowOpen = false
		p.group++
		p.groupKind = tag
	case "tr":
		p.closeCell()
		p.newRow()
	case "td", "th":
		p.closeCell()
		if !p.rowOpen {
			p.newRow()
		}
		c := &htmlCell{th: tag == "th", colspan: 1, rowspan: 1}
		if v, ok := attrs["colspan"]; ok {
			n, err := spanAttr(v)
			if err != nil || n == 0 || n > MaxCols {
				return p.err("<%s colspan=%q>: want a whole number from 1 to %d", tag, v, MaxCols)
			}
			c.colspan = n
		}
		if v, ok := attrs["rowspan"]; ok {
			n, err := spanAttr(v)
			if err != nil {
				return p.err("<%s rowspan=%q>: want a whole number (0 spans to the end of the row group)", tag, v)
			}
			c.rowspan = max(n, 1)
			c.rowspanToEnd = n == 0
		}
		p.cells++
		if p.cells > maxHTMLCells {
			return p.err("more than %d cells", maxHTMLCells)
		}
		row := p.rows[len(p.rows)-1]
		row.cells = append(row.cells, c)
		p.cell = c
	case "br":
		if p.cell != nil {
			p.cell.text.WriteString("\n")
		} else if p.inCaption {
			p.caption.WriteString("\n")
		}
	}
	return nil
}

func (p *htmlParser) newRow() {
	p.rowOpen = true
	p.rows = append(p.rows, &htmlRow{group: p.group, kind: p.groupKind, line: p.line})
}

func (p *htmlParser) closeCell() { p.cell = nil }

func (p *htmlParser) end(tag string) {
	switch tag {
	case "script", "style":
		if p.skip > 0 {
			p.skip--
		}
		return
	case "table":
		if p.depth == 0 {
			return
		}
		p.depth--
		if p.depth == 0 {
			p.closeCell()
			p.done = true
		}
		return
	}
	if p.depth != 1 {
		return
	}
	switch tag {
	case "caption":
		p.inCaption = false
	case "td", "th":
		p.closeCell()
	case "tr":
		p.closeCell()
		p.rowOpen = false
	case "thead", "tbody", "tfoot":
		p.closeCell()
		p.rowOpen = false
		p.group++
		p.groupKind = ""
	}
}

// spanAttr parses a colspan or rowspan value: digits, surrounding
// whitespace allowed.
func spanAttr(v string) (int, error) {
	v = strings.TrimSpace(v)
	if v == "" || strings.Trim(v, "0123456789") != "" || len(v) > 9 {
		return 0, fmt.Errorf("not a whole number")
	}
	return strconv.Atoi(v)
}

// cellText is what a browser shows of a cell: whitespace runs collapsed
// and each line trimmed; <br> (already "\n") separates lines.
func cellText(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.Join(strings.FieldsFunc(l, htmlSpace), " ")
	}
	return strings.Join(lines, "\n")
}

func htmlSpace(r rune) bool { return r == ' ' || r == '\t' || r == '\r' || r == '\f' }

func (p *htmlParser) build() (*Table, error) {
	// Browsers draw <tfoot> last wherever it appears in the source.
	var rows []*htmlRow
	for _, kinds := range [][]string{{"thead", "tbody", ""}, {"tfoot"}} {
		for _, r := range p.rows {
			if (r.kind == "tfoot") == (kinds[0] == "tfoot") {
				rows = append(rows, r)
			}
		}
	}
	if len(rows) > MaxRows+MaxHeaderLevels {
		return nil, readErr(p.name, 0, "%d rows, more than the limit of %d", len(rows), MaxRows)
	}
	grid, isTH, err := p.expand(rows)
	if err != nil {
		return nil, err
	}
	// Drop the rows left without cells (an empty <tr>; a row that a rowspan
	// covers has cells by now).
	n := 0
	for i := range rows {
		if len(grid[i]) > 0 {
			rows[n], grid[n], isTH[n] = rows[i], grid[i], isTH[i]
			n++
		}
	}
	rows, grid, isTH = rows[:n], grid[:n], isTH[:n]
	if len(rows) == 0 {
		return nil, readErr(p.name, 0, "empty table: the <table> has no rows with cells")
	}
	nHead := 0
	for _, r := range rows {
		if r.kind == "thead" {
			nHead++
		}
	}
	hasThead := nHead > 0
	if !hasThead {
		for nHead < len(rows) && allTrue(isTH[nHead]) {
			nHead++
		}
		if nHead == len(rows) && nHead > 1 {
			nHead = 1 // a table of th cells only: its first row is the header
		}
		if nHead == 0 {
			nHead = 1
		}
	}
	var head, body [][]string
	var bodyTH [][]bool
	for i, r := range rows {
		if (hasThead && r.kind == "thead") || (!hasThead && i < nHead) {
			head = append(head, grid[i])
		} else {
			body = append(body, grid[i])
			bodyTH = append(bodyTH, isTH[i])
		}
	}
	if len(head) > MaxHeaderLevels {
		return nil, readErr(p.name, rows[0].line, "%d header rows, more than the limit of %d levels", len(head), MaxHeaderLevels)
	}
	t := &Table{
		Title:   strings.TrimSpace(p.title.String()),
		Caption: cellText(p.caption.String()),
		Header:  head,
		Rows:    body,
	}
	if t.Rows == nil {
		t.Rows = [][]string{}
	}
	if len(bodyTH) > 0 {
		k := MaxCols
		for _, ths := range bodyTH {
			n := 0
			for n < len(ths) && ths[n] {
				n++
			}
			k = min(k, n)
		}
		t.RowHeaderCols = k
	}
	out, err := finish(t, p.name)
	if err != nil {
		return nil, err
	}
	out.RowHeaderCols = min(out.RowHeaderCols, out.NumCols())
	return out, nil
}

func allTrue(bs []bool) bool {
	for _, b := range bs {
		if !b {
			return false
		}
	}
	return true
}

// expand lays the rows' cells out on a grid, repeating spanning cells.
func (p *htmlParser) expand(rows []*htmlRow) ([][]string, [][]bool, error) {
	type carry struct {
		left int
		text string
		th   bool
	}
	var carries []carry
	grid := make([][]string, len(rows))
	isTH := make([][]bool, len(rows))
	placed := 0
	for i, r := range rows {
		if i > 0 && rows[i-1].group != r.group {
			carries = carries[:0] // rowspans stop at the end of a row group
		}
		left := 0 // rows left in this group after this one
		for j := i + 1; j < len(rows) && rows[j].group == r.group; j++ {
			left++
		}
		var out []string
		var ths []bool
		col := 0
		place := func(text string, th bool) {
			placed++
			out = append(out, text)
			ths = append(ths, th)
			col++
		}
		takeCarried := func() {
			for col < len(carries) && carries[col].left > 0 {
				carries[col].left--
				place(carries[col].text, carries[col].th)
			}
		}
		for _, c := range r.cells {
			takeCarried()
			text := cellText(c.text.String())
			if col+c.colspan > MaxCols {
				return nil, nil, readErr(p.name, r.line, "row is more than %d columns wide", MaxCols)
			}
			if placed+c.colspan > maxHTMLCells {
				return nil, nil, readErr(p.name, r.line, "the table's spans expand to more than %d cells", maxHTMLCells)
			}
			span := min(c.rowspan-1, left)
			if c.rowspanToEnd {
				span = left
			}
			for range c.colspan {
				for len(carries) <= col {
					carries = append(carries, carry{})
				}
				carries[col] = carry{left: span, text: text, th: c.th}
				place(text, c.th)
			}
		}
		// carried cells to the right of the row's own cells
		last := -1
		for j := col; j < len(carries); j++ {
			if carries[j].left > 0 {
				last = j
			}
		}
		for col <= last {
			if carries[col].left > 0 {
				carries[col].left--
				place(carries[col].text, carries[col].th)
			} else {
				place("", false)
			}
		}
		if placed > maxHTMLCells {
			return nil, nil, readErr(p.name, r.line, "the table's spans expand to more than %d cells", maxHTMLCells)
		}
		grid[i], isTH[i] = out, ths
	}
	return grid, isTH, nil
}

// HTML renders t as an HTML table: the title in the table's title
// attribute, the caption in <caption>, one <thead> row per header level
// (adjacent equal names under the same parent merged with colspan), and the
// body in <tbody> with the row-header columns as <th scope="row">. A newline
// in a cell is written <br>.
//
// ReadHTML gives t back when every cell (and the caption) looks as a browser
// would show it: no leading or trailing whitespace on any line, no runs of
// whitespace, no tab, "\r" or form feed, no control characters; the title
// has no leading or trailing whitespace or "\r"; and the row-header count is
// 0 or the table has a body row.
func (t *Table) HTML() string {
	var b strings.Builder
	b.WriteString("<table")
	if t.Title != "" {
		fmt.Fprintf(&b, " title=\"%s\"", html.EscapeString(t.Title))
	}
	b.WriteString(">\n")
	if t.Caption != "" {
		fmt.Fprintf(&b, "<caption>%s</caption>\n", htmlText(t.Caption))
	}
	b.WriteString("<thead>\n")
	for _, lvl := range headerBlocks(t.Header) {
		b.WriteString("<tr>")
		for _, k := range lvl {
			if k.under {
				continue
			}
			b.WriteString("<th")
			if k.span > 1 {
				fmt.Fprintf(&b, " colspan=\"%d\"", k.span)
			}
			if k.rows > 1 {
				fmt.Fprintf(&b, " rowspan=\"%d\"", k.rows)
			}
			fmt.Fprintf(&b, ">%s</th>", htmlText(k.text))
		}
		b.WriteString("</tr>\n")
	}
	b.WriteString("</thead>\n<tbody>\n")
	for _, row := range t.Rows {
		b.WriteString("<tr>")
		for c, v := range row {
			if c < t.RowHeaderCols {
				fmt.Fprintf(&b, "<th scope=\"row\">%s</th>", htmlText(v))
			} else {
				fmt.Fprintf(&b, "<td>%s</td>", htmlText(v))
			}
		}
		b.WriteString("</tr>\n")
	}
	b.WriteString("</tbody>\n</table>\n")
	return b.String()
}

// headerBlock is one header cell as HTML draws it: span columns wide from
// column c, rows levels tall; under marks a block that the same-named block
// above it covers.
type headerBlock struct {
	c, span, rows int
	text          string
	under         bool
}

// headerBlocks merges each level's adjacent equal names under the same
// parents into one cell (colspan), then a cell into the one above it when
// both cover the same columns with the same name (rowspan). ReadHTML repeats
// spanned names, so nothing is lost.
func headerBlocks(h [][]string) [][]headerBlock {
	out := make([][]headerBlock, len(h))
	for l, lvl := range h {
		for c := 0; c < len(lvl); {
			span := 1
			for c+span < len(lvl) && lvl[c+span] == lvl[c] && sameParents(h, l, c, c+span) {
				span++
			}
			out[l] = append(out[l], headerBlock{c: c, span: span, rows: 1, text: lvl[c]})
			c += span
		}
	}
	// owner[c] is the index (level, block) of the visible block that
	// starts at column c on the level above, if any.
	type ref struct{ l, i int }
	owner := map[int]ref{}
	for l := range out {
		next := map[int]ref{}
		for i, k := range out[l] {
			if o, ok := owner[k.c]; ok && out[o.l][o.i].span == k.span && out[o.l][o.i].text == k.text {
				out[l][i].under = true
				out[o.l][o.i].rows++
				next[k.c] = o
				continue
			}
			next[k.c] = ref{l, i}
		}
		owner = next
	}
	return out
}

// sameParents reports whether columns a and b have the same names on every
// level above l, so a level-l cell may span both.
func sameParents(h [][]string, l, a, b int) bool {
	for u := range l {
		if h[u][a] != h[u][b] {
			return false
		}
	}
	return true
}

func htmlText(s string) string {
	return strings.ReplaceAll(html.EscapeString(s), "\n", "<br>")
}
