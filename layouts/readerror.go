package layouts

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"unicode/utf8"
)

// ReadError is the error every reader returns for bad input: the input's
// name (a file name, or whatever name the caller passed), the 1-based line
// where the problem is when one is known, and what is wrong.
type ReadError struct {
	Name string // file name or the caller's label for the input; may be empty
	Line int    // 1-based line of the input; 0 when the problem has no single line
	Err  error  // what is wrong
}

func (e *ReadError) Error() string {
	name := e.Name
	if name == "" {
		name = "input"
	}
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %v", name, e.Line, e.Err)
	}
	return fmt.Sprintf("%s: %v", name, e.Err)
}

func (e *ReadError) Unwrap() error { return e.Err }

// CheckUTF8 refuses input that is not valid UTF-8 with a *ReadError naming
// the line and the byte: encoding/json and the pandas side would silently
// turn each bad byte into U+FFFD. data is the input from its line line
// (1-based; the line of the bad byte is counted from there).
func CheckUTF8(name string, line int, data []byte) error {
	if utf8.Valid(data) {
		return nil
	}
	off := 0
	for off < len(data) {
		r, n := utf8.DecodeRune(data[off:])
		if r == utf8.RuneError && n == 1 {
			break
		}
		off += n
	}
	return readErr(name, line-1+lineAt(data, off), "invalid UTF-8 at byte %d; convert the input to UTF-8", off)
}

func readErr(name string, line int, format string, args ...any) error {
	return &ReadError{Name: name, Line: line, Err: fmt.Errorf(format, args...)}
}

// finish normalises a table a reader has built (see Table.Normalize for the
// ragged-row rule) and checks every cell is valid UTF-8, wrapping any
// problem as a ReadError for name.
func finish(t *Table, name string) (*Table, error) {
	if len(t.Header) == 0 && len(t.Rows) == 0 {
		return nil, readErr(name, 0, "empty table: no header and no rows")
	}
	if err := checkUTF8(t); err != nil {
		return nil, &ReadError{Name: name, Err: err}
	}
	if err := t.Normalize(); err != nil {
		return nil, &ReadError{Name: name, Err: err}
	}
	return t, nil
}

// checkUTF8 reports the first cell (or title/caption) that is not valid
// UTF-8: the pandas side and JSON would silently mangle it.
func checkUTF8(t *Table) error {
	if !utf8.ValidString(t.Title) {
		return fmt.Errorf("title is not valid UTF-8")
	}
	if !utf8.ValidString(t.Caption) {
		return fmt.Errorf("caption is not valid UTF-8")
	}
	for l, lvl := range t.Header {
		for c, v := range lvl {
			if !utf8.ValidString(v) {
				return fmt.Errorf("header level %d, column %d: cell is not valid UTF-8 (%q); convert the input to UTF-8", l, c, v)
			}
		}
	}
	for r, row := range t.Rows {
		for c, v := range row {
			if !utf8.ValidString(v) {
				return fmt.Errorf("row %d, column %d: cell is not valid UTF-8 (%q); convert the input to UTF-8", r, c, v)
			}
		}
	}
	return nil
}

// skipBOM drops a leading UTF-8 byte order mark (spreadsheet exports write
// one), which would otherwise end up in the first header name.
func skipBOM(r io.Reader) io.Reader {
	br := bufio.NewReader(r)
	if b, err := br.Peek(3); err == nil && bytes.Equal(b, []byte("\xef\xbb\xbf")) {
		_, _ = br.Discard(3)
	}
	return br
}
