package layouts

import (
	"math"
	"regexp"
	"strconv"
	"strings"
)

// numberRE matches the numbers that CanonicalCell folds: an optional sign,
// digits with or without well-formed thousands separators, an optional
// fraction or exponent. "1,234" and "1234.0" are the same number; "1,23" is
// not a number.
var numberRE = regexp.MustCompile(`^[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)?(?:\.\d+)?(?:[eE][+-]?\d+)?$`)

// ParseNumber reads s as a number by the rule CanonicalCell and the pandas
// frame bridge share: surrounding whitespace ignored, thousands separators
// allowed only in groups of three, no currency or percent signs. It reports
// false for anything else, including "", "nan" and "inf".
func ParseNumber(s string) (float64, bool) {
	s = strings.TrimSpace(s)
	if s == "" || !numberRE.MatchString(s) || !strings.ContainsAny(s, "0123456789") {
		return 0, false
	}
	v, err := strconv.ParseFloat(strings.ReplaceAll(s, ",", ""), 64)
	if err != nil || math.IsInf(v, 0) || math.IsNaN(v) {
		return 0, false
	}
	return v, true
}

// CanonicalCell is the form in which two cells are compared when grading a
// program's output table: whitespace trimmed and runs of it collapsed, and
// numbers written in one way (so "1,234", "1234" and "1234.0" agree). Case
// and punctuation are kept: they are content.
func CanonicalCell(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if v, ok := ParseNumber(s); ok {
		if v == 0 {
			v = 0 // fold -0
		}
		return strconv.FormatFloat(v, 'g', 12, 64)
	}
	switch strings.ToLower(s) {
	case "nan", "none", "null", "<na>", "nat":
		return ""
	}
	return s
}

// Canonical returns a copy of t with every header and body cell in
// CanonicalCell form and the title and caption dropped, for comparison.
func (t *Table) Canonical() *Table {
	c := &Table{Header: cloneGrid(t.Header), Rows: cloneGrid(t.Rows), RowHeaderCols: t.RowHeaderCols}
	for _, g := range [][][]string{c.Header, c.Rows} {
		for _, row := range g {
			for i, v := range row {
				row[i] = CanonicalCell(v)
			}
		}
	}
	return c
}

// EqualCanonical reports whether a and b hold the same header levels and
// body cells after canonicalisation. Title, caption and the row-header count
// are not compared: a program's output carries none of them reliably.
func EqualCanonical(a, b *Table) bool {
	return gridsEqual(a.Header, b.Header) && gridsEqual(a.Rows, b.Rows)
}

func gridsEqual(a, b [][]string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if len(a[i]) != len(b[i]) {
			return false
		}
		for j := range a[i] {
			if a[i][j] != b[i][j] && CanonicalCell(a[i][j]) != CanonicalCell(b[i][j]) {
				return false
			}
		}
	}
	return true
}

// Equal reports whether a and b are identical, field by field, with no
// canonicalisation.
func Equal(a, b *Table) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Title == b.Title && a.Caption == b.Caption && a.RowHeaderCols == b.RowHeaderCols &&
		exactGrid(a.Header, b.Header) && exactGrid(a.Rows, b.Rows)
}

func exactGrid(a, b [][]string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if len(a[i]) != len(b[i]) {
			return false
		}
		for j := range a[i] {
			if a[i][j] != b[i][j] {
				return false
			}
		}
	}
	return true
}
