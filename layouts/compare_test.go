package layouts

import (
	"testing"

	"pgregory.net/rapid"
)

func TestCanonicalCell(t *testing.T) {
	tests := []struct{ in, want string }{
		{"1,234", "1234"},
		{"1234.0", "1234"},
		{" 1234 ", "1234"},
		{"-0.0", "0"},
		{"1e3", "1000"},
		{"0.1", "0.1"},
		{"1,23", "1,23"},
		{"$5", "$5"},
		{"  New   York ", "New York"},
		{"NaN", ""},
		{"None", ""},
		{"", ""},
		{"Abc", "Abc"},
		{".5", "0.5"},
		{"+7", "7"},
	}
	for _, tc := range tests {
		if got := CanonicalCell(tc.in); got != tc.want {
			t.Errorf("CanonicalCell(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestParseNumberRejects(t *testing.T) {
	for _, s := range []string{"", " ", ".", "-", "1,2345", "12,34", "1.2.3", "inf", "nan", "1e999", "1_000", "5%", "$5", "e5"} {
		if v, ok := ParseNumber(s); ok {
			t.Errorf("ParseNumber(%q) = %v, true; want false", s, v)
		}
	}
}

func TestEqualCanonical(t *testing.T) {
	a := &Table{Header: [][]string{{"n", "x"}}, Rows: [][]string{{"1,234", " a  b"}}}
	b := &Table{Title: "other", Header: [][]string{{"n", "x"}}, Rows: [][]string{{"1234.0", "a b"}}}
	if !EqualCanonical(a, b) {
		t.Fatal("tables equal after canonicalisation compare unequal")
	}
	c := b.Clone()
	c.Rows[0][1] = "A b"
	if EqualCanonical(a, c) {
		t.Fatal("case is content, yet compared equal")
	}
	d := b.Clone()
	d.Rows = append(d.Rows, []string{"1", "2"})
	if EqualCanonical(a, d) {
		t.Fatal("tables of different shapes compared equal")
	}
}

// CanonicalCell is idempotent, and EqualCanonical is reflexive.
func TestCanonicalProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		s := rapid.OneOf(rapid.String(), rapid.StringMatching(`[+-]?[0-9]{1,7}(\.[0-9]{1,4})?`)).Draw(t, "s")
		c := CanonicalCell(s)
		if CanonicalCell(c) != c {
			t.Fatalf("CanonicalCell not idempotent: %q -> %q -> %q", s, c, CanonicalCell(c))
		}
		tb := &Table{Header: [][]string{{s}}, Rows: [][]string{{s}}}
		if !EqualCanonical(tb, tb.Canonical()) {
			t.Fatalf("table differs from its canonical form for %q", s)
		}
	})
}
