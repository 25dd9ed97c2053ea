package layouts

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// CSVDialect says how the fields of a delimited text file are written.
type CSVDialect int

const (
	// RFC4180 is standard CSV (encoding/csv): a field may be quoted with
	// '"', a quote inside a quoted field is doubled, and quoted fields may
	// hold the separator and newlines.
	RFC4180 CSVDialect = iota
	// PlainSplit splits each line on the separator, with no quoting and no
	// escapes (TabFact's '#'-separated all_csv files).
	PlainSplit
	// WTQTSV is WikiTableQuestions' .tsv: PlainSplit on tabs, with the escapes
	// `\n` (newline), `\p` ('|') and `\\` (backslash) undone.
	WTQTSV
	// WTQCSV is WikiTableQuestions' .csv: every field quoted, a quote
	// inside a field written `\"` and a backslash `\\`; newlines inside
	// quotes are real newlines. Not RFC 4180.
	WTQCSV
)

// String returns the dialect's name.
func (d CSVDialect) String() string {
	switch d {
	case RFC4180:
		return "rfc4180"
	case PlainSplit:
		return "plain"
	case WTQTSV:
		return "wtq-tsv"
	case WTQCSV:
		return "wtq-csv"
	}
	return fmt.Sprintf("CSVDialect(%d)", int(d))
}

// CSVOptions configures ReadCSV. The zero value reads standard
// comma-separated CSV whose first record is a one-level header and rejects
// ragged records.
type CSVOptions struct {
	// Comma is the field separator; 0 means ',' (and '\t' for WTQTSV).
	Comma rune
	// Dialect is how fields are quoted and escaped.
	Dialect CSVDialect
	// HeaderLevels is how many leading records form the column header;
	// 0 means 1. CSV has no way to say this itself: a table written by
	// (*Table).CSV with several levels is read back with the same count.
	HeaderLevels int
	// RowHeaderCols is copied into the table (after checking it fits).
	RowHeaderCols int
	// Ragged accepts records whose field count differs from the header's,
	// making the table rectangular by the rule of Table.Normalize. By
	// default such a record is an error naming its line.
	Ragged bool
}

// ReadCSV reads one delimited table. name labels errors (a file name). Every
// problem is a *ReadError naming the line: a quote error, a ragged record,
// more than MaxCols fields or MaxRows records, invalid UTF-8, or an empty
// input.
func ReadCSV(r io.Reader, name string, opts CSVOptions) (*Table, error) {
	levels := opts.HeaderLevels
	if levels == 0 {
		levels = 1
	}
	if levels < 0 || levels > MaxHeaderLevels {
		return nil, readErr(name, 0, "HeaderLevels is %d, want 1..%d", levels, MaxHeaderLevels)
	}
	comma := opts.Comma
	if comma == 0 {
		comma = ','
		if opts.Dialect == WTQTSV {
			comma = '\t'
		}
	}
	if !validComma(comma) {
		return nil, readErr(name, 0, "separator %q cannot be used: want a character other than a quote, backslash, newline or carriage return", comma)
	}
	r = skipBOM(r)
	var next func() ([]string, int, error)
	switch opts.Dialect {
	case RFC4180:
		next = rfcRecords(r, comma)
	case PlainSplit:
		next = plainRecords(r, comma, false)
	case WTQTSV:
		next = plainRecords(r, comma, true)
	case WTQCSV:
		next = wtqRecords(r, comma)
	default:
		return nil, readErr(name, 0, "unknown CSV dialect %d", int(opts.Dialect))
	}
	t := &Table{Rows: [][]string{}, RowHeaderCols: opts.RowHeaderCols}
	width := -1
	for n := 0; ; n++ {
		rec, line, err := next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, &ReadError{Name: name, Line: line, Err: err}
		}
		if len(rec) > MaxCols {
			return nil, readErr(name, line, "record has %d fields, more than the limit of %d columns", len(rec), MaxCols)
		}
		for i, f := range rec {
			if !utf8.ValidString(f) {
				return nil, readErr(name, line, "field %d is not valid UTF-8 (%q); convert the file to UTF-8", i+1, f)
			}
		}
		if width < 0 {
			width = len(rec)
		} else if len(rec) != width && !opts.Ragged {
			return nil, readErr(name, line, "record has %d fields, want %d like the first record (ragged rows are rejected; set CSVOptions.Ragged to pad them)", len(rec), width)
		}
		if n < levels {
			t.Header = append(t.Header, rec)
			continue
		}
		if len(t.Rows) >= MaxRows {
			return nil, readErr(name, line, "more than %d rows", MaxRows)
		}
		t.Rows = append(t.Rows, rec)
	}
	if len(t.Header) == 0 {
		return nil, readErr(name, 0, "empty table: no header record")
	}
	if len(t.Header) < levels {
		return nil, readErr(name, 0, "%d records, fewer than the %d header levels asked for", len(t.Header), levels)
	}
	return finish(t, name)
}

func validComma(r rune) bool {
	return r != '"' && r != '\\' && r != '\n' && r != '\r' && utf8.ValidRune(r) && r != utf8.RuneError
}

// rfcRecords yields the records of standard CSV with their first line.
func rfcRecords(r io.Reader, comma rune) func() ([]string, int, error) {
	cr := csv.NewReader(r)
	cr.Comma = comma
	cr.FieldsPerRecord = -1 // ragged records are judged by ReadCSV, which names the line
	return func() ([]string, int, error) {
		rec, err := cr.Read()
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				// keep pe.Err in the chain: ReadFile looks for quote errors
				switch {
				case errors.Is(pe.Err, csv.ErrQuote) && pe.StartLine != pe.Line:
					return nil, pe.Line, fmt.Errorf("column %d: quoted field opened on line %d is not terminated (or has a stray quote): %w", pe.Column, pe.StartLine, pe.Err)
				case errors.Is(pe.Err, csv.ErrQuote), errors.Is(pe.Err, csv.ErrBareQuote):
					return nil, pe.Line, fmt.Errorf("column %d: %w; quote the whole field and double the quotes inside it (\"\")", pe.Column, pe.Err)
				}
				return nil, pe.Line, fmt.Errorf("column %d: %w", pe.Column, pe.Err)
			}
			return nil, 0, err
		}
		line, _ := cr.FieldPos(0)
		return rec, line, nil
	}
}

// plainRecords yields each line split on comma, with WTQ escapes undone
// when wtq is set. A trailing "\r" is dropped; blank lines are skipped.
func plainRecords(r io.Reader, comma rune, wtq bool) func() ([]string, int, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	line := 0
	sep := string(comma)
	return func() ([]string, int, error) {
		for {
			b, err := readLine(br)
			if err != nil && err != io.EOF {
				return nil, line + 1, err
			}
			if len(b) == 0 && err == io.EOF {
				return nil, line, io.EOF
			}
			line++
			s := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
			if s == "" {
				continue
			}
			fields := strings.Split(s, sep)
			if len(fields) > MaxCols {
				return nil, line, fmt.Errorf("line has %d fields, more than the limit of %d columns", len(fields), MaxCols)
			}
			if wtq {
				for i, f := range fields {
					fields[i] = UnescapeWTQ(f)
				}
			}
			return fields, line, nil
		}
	}
}

// UnescapeWTQ undoes WikiTableQuestions' TSV escapes (\n newline, \p "|",
// \\ backslash) in one pass, as found in its tables, questions and answers.
// A backslash before any other character, or at the end, is kept as is: the
// corpus's own reader does the same.
func UnescapeWTQ(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\\' && i+1 < len(s) {
			switch s[i+1] {
			case 'n':
				b.WriteByte('\n')
				i++
				continue
			case 'p':
				b.WriteByte('|')
				i++
				continue
			case '\\':
				b.WriteByte('\\')
				i++
				continue
			}
		}
		b.WriteByte(c)
	}
	return b.String()
}

// wtqRecords yields the records of WikiTableQuestions' .csv style. Fields
// are normally quoted; an unquoted field runs to the next separator.
func wtqRecords(r io.Reader, comma rune) func() ([]string, int, error) {
	br := &runeReader{r: bufio.NewReaderSize(r, 64<<10)}
	line := 1
	return func() ([]string, int, error) {
		var rec []string
		var f bytes.Buffer
		// skip blank lines between records
		for {
			c, _, err := br.ReadRune()
			if err == io.EOF {
				return nil, line, io.EOF
			}
			if err != nil {
				return nil, line, err
			}
			if c == '\n' {
				line++
				continue
			}
			if c == '\r' {
				continue
			}
			if err := br.UnreadRune(); err != nil {
				return nil, line, err
			}
			break
		}
		start := line
		for {
			c, _, err := br.ReadRune()
			if err == io.EOF {
				return append(rec, f.String()), start, nil
			}
			if err != nil {
				return nil, line, err
			}
			switch {
			case c == '"' && f.Len() == 0:
				qline := line
				for {
					q, _, err := br.ReadRune()
					if err == io.EOF {
						return nil, line, fmt.Errorf("quoted field %d opened on line %d is not terminated", len(rec)+1, qline)
					}
					if err != nil {
						return nil, line, err
					}
					if q == '\\' {
						e, _, err := br.ReadRune()
						if err == io.EOF {
							return nil, line, fmt.Errorf("quoted field %d opened on line %d is not terminated", len(rec)+1, qline)
						}
						if e == '"' || e == '\\' {
							f.WriteRune(e)
						} else {
							f.WriteRune(q)
							if e == '\n' {
								line++
							}
							f.WriteRune(e)
						}
						continue
					}
					if q == '"' {
						break
					}
					if q == '\n' {
						line++
					}
					f.WriteRune(q)
				}
				// after the closing quote: separator, end of line or EOF
				n, _, err := br.ReadRune()
				if n == '\r' {
					n, _, err = br.ReadRune()
				}
				switch {
				case err == io.EOF:
					return append(rec, f.String()), start, nil
				case err != nil:
					return nil, line, err
				case n == comma:
					rec = append(rec, f.String())
					f.Reset()
					if len(rec) > MaxCols {
						return nil, line, fmt.Errorf("record has more than %d fields", MaxCols)
					}
				case n == '\n':
					line++
					return append(rec, f.String()), start, nil
				default:
					return nil, line, fmt.Errorf("field %d: %q after the closing quote; want the separator or the end of the line (write a quote inside a field as \\\")", len(rec)+1, n)
				}
			case c == comma:
				rec = append(rec, f.String())
				f.Reset()
				if len(rec) > MaxCols {
					return nil, line, fmt.Errorf("record has more than %d fields", MaxCols)
				}
			case c == '\n':
				line++
				return append(rec, strings.TrimSuffix(f.String(), "\r")), start, nil
			default:
				f.WriteRune(c)
			}
		}
	}
}

// CSV renders t as RFC 4180 CSV: one record per header level, then the
// rows. Title, caption and the row-header count are not written; read the
// text back with CSVOptions{HeaderLevels: t.Levels(), RowHeaderCols:
// t.RowHeaderCols} to get t again. A cell holding "\r\n" comes back as
// "\n" (encoding/csv folds it), the one loss.
func (t *Table) CSV() string {
	var b strings.Builder
	_ = t.writeCSV(&b, ',')
	return b.String()
}

func (t *Table) writeCSV(w io.Writer, comma rune) error {
	cw := csv.NewWriter(w)
	cw.Comma = comma
	for _, g := range [][][]string{t.Header, t.Rows} {
		for _, rec := range g {
			if len(rec) == 1 && rec[0] == "" {
				// encoding/csv writes an empty line here, which readers skip.
				cw.Flush()
				if _, err := io.WriteString(w, "\"\"\n"); err != nil {
					return err
				}
				continue
			}
			if err := cw.Write(rec); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	return cw.Error()
}

// runeReader reads runes and reports invalid UTF-8 as an error rather than
// as U+FFFD.
type runeReader struct{ r *bufio.Reader }

func (rr *runeReader) ReadRune() (rune, int, error) {
	c, n, err := rr.r.ReadRune()
	if err == nil && c == utf8.RuneError && n == 1 {
		return c, n, errors.New("invalid UTF-8; convert the file to UTF-8")
	}
	return c, n, err
}

func (rr *runeReader) UnreadRune() error { return rr.r.UnreadRune() }
