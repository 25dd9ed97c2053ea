package answer

import (
	"math/big"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"pgregory.net/rapid"
)

func TestWTQNormalize(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"Che Fu", "che fu"},
		{"CHE FU.", "che fu"},
		{"Café", "cafe"},
		{"ﬁnal", "final"},
		{"a´b", "a b"}, // NFKD turns the acute accent into space + combining mark
		{"“quoted”", "quoted"},
		{"it’s", "it's"},
		{"1990–91", "1990-91"},
		{"Paris[1]", "paris"},
		{"Paris[a][12]†", "paris"},
		{"[1]", ""},
		{"[a]", "[a]"}, // a [...] group may not start the text
		{"[a]x", "[a]x"},
		{"Foo (bar)", "foo"},
		{"Foo(bar)", "foo(bar)"},
		{"Foo (a) (b)", "foo"},
		{"(bar)", "(bar)"},
		{`"Foo"`, "foo"},
		{`"Foo" "Bar"`, `"foo" "bar"`},
		{`"Foo (x)"`, "foo"}, // unquote then the next round removes the group
		{"Foo (x).", "foo (x)"},
		{"a.", "a"},
		{"a..", "a."},
		{"  a \t\n b  ", "a b"},
		{"\x1ca\x1fb\x85", "a b"}, // Python whitespace, beyond Go's IsSpace
		{"ΟΔΟΣ", "οδος"},          // final sigma
		{"ΣΑ", "σα"},              // non-final sigma
		{"ΑΣ.", "ας"},             // final before a case-ignorable full stop... then dropped
		{"x*#+", "x"},
		{"a\xffb", "ab"}, // invalid UTF-8 dropped
		{"", ""},
	} {
		if got := WTQNormalize(c.in); got != c.want {
			t.Errorf("WTQNormalize(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// TestWTQNormalizeNotIdempotent records why idempotence is only a property
// of some inputs: dropping the final "." can expose a parenthetical that
// the loop already passed.
func TestWTQNormalizeNotIdempotent(t *testing.T) {
	once := WTQNormalize("Foo (x).")
	if twice := WTQNormalize(once); twice == once {
		t.Fatalf("expected %q to normalise further, got %q", once, twice)
	}
}

func TestWTQValue(t *testing.T) {
	for _, c := range []struct {
		orig, canon string
		want        string
	}{
		{"17 years", "17.0", `N(17|"17 years")`},
		{"17", "", `N(17|"17")`},
		{" 17 ", "", `N(17|"17")`},
		{"1_000", "", `N(1000|"1_000")`},
		{"1,000", "", `S("1,000")`},
		{"１２", "", `N(12|"12")`},
		{"٣٫٥", "", `S("٣٫٥")`}, // the Arabic decimal separator is not "."
		{"٣.٥", "", `N(3.5|"٣.٥")`},
		{"٣", "", `N(3|"٣")`},
		{"2.5", "", `N(2.5|"2.5")`},
		{"2.9999999", "", `N(2|"2.9999999")`}, // Python int() truncates
		{"-0.0", "", `N(0|"-0.0")`},
		{"1e3", "", `N(1000|"1e3")`},
		{"inf", "", `S("inf")`},
		{"nan", "", `S("nan")`},
		{"1e999", "", `S("1e999")`},
		{"\x1c5", "", `S("5")`}, // U+001C is stripped by str.strip, not by int()
		{"January 1995", "1995-01-xx", `D(1995-1--1|"january 1995")`},
		{"1995", "1995-xx-xx", `N(1995|"1995")`},
		{"x", "xx-xx-xx", `S("x")`},
		{"x", "2000-13-01", `S("x")`},
		{"x", "2000-12-32", `S("x")`},
		{"x", "XXXX-10-17", `D(xx-10-17|"x")`},
		{"", "5", `N(5|"5")`},
		{"", "0.5", `N(0.5|"0.5")`},
		{"", "0.00001", `N(1e-05|"1e-05")`},
		{"", "2011-10-xx", `D(2011-10--1|"2011-10--1")`},
		{"", "", `S("")`},
	} {
		if got := WTQValue(c.orig, c.canon).String(); got != c.want {
			t.Errorf("WTQValue(%q, %q) = %s, want %s", c.orig, c.canon, got, c.want)
		}
	}
}

func TestPyFloatRepr(t *testing.T) {
	for _, c := range []struct {
		f    float64
		want string
	}{
		{0.5, "0.5"}, {1e-05, "1e-05"}, {0.0001, "0.0001"}, {123456.75, "123456.75"},
		{-2.5, "-2.5"}, {1e16, "1e+16"}, {1.5e16, "1.5e+16"}, {1e15, "1000000000000000.0"},
		{1.2345e-7, "1.2345e-07"}, {1e100, "1e+100"},
	} {
		if got := PyFloatRepr(c.f); got != c.want {
			t.Errorf("PyFloatRepr(%v) = %q, want %q", c.f, got, c.want)
		}
	}
}

func TestPyDigitTables(t *testing.T) {
	// Every Nd range must start at a zero and have stride 1 for pyDigit's
	// offset rule to hold.
	for _, r := range unicode.Nd.R16 {
		if r.Stride != 1 || (r.Hi-r.Lo+1)%10 != 0 {
			t.Errorf("Nd range %U..%U stride %d", r.Lo, r.Hi, r.Stride)
		}
	}
	for _, r := range unicode.Nd.R32 {
		if r.Stride != 1 || (r.Hi-r.Lo+1)%10 != 0 {
			t.Errorf("Nd range %U..%U stride %d", r.Lo, r.Hi, r.Stride)
		}
	}
	for _, c := range []struct {
		r rune
		d int
	}{{'7', 7}, {'٧', 7}, {'７', 7}, {'𝟗', 9}, {'𝟘', 0}} {
		if d, ok := pyDigit(c.r); !ok || d != c.d {
			t.Errorf("pyDigit(%q) = %d, %v", c.r, d, ok)
		}
	}
	if _, ok := pyDigit('x'); ok {
		t.Error("pyDigit('x') ok")
	}
}

func TestParsePyInt(t *testing.T) {
	if _, ok := parsePyInt(strings.Repeat("1", pyMaxIntDigits+1)); ok {
		t.Error("int beyond Python's digit limit parsed")
	}
	n, ok := parsePyInt("123456789012345678901234567890")
	if want, _ := new(big.Int).SetString("123456789012345678901234567890", 10); !ok || n.Cmp(want) != 0 {
		t.Errorf("big int: %v %v", n, ok)
	}
	for _, s := range []string{"_1", "1_", "1__0", "", "+", "0x10", "1.0"} {
		if _, ok := parsePyInt(s); ok {
			t.Errorf("parsePyInt(%q) ok", s)
		}
	}
	for _, s := range []string{"1__0", "1_.5", "._5", ".", "e5", "1e", "1e_5", "0x1p3", "1.5.2"} {
		if _, ok := parsePyFloat(s); ok {
			t.Errorf("parsePyFloat(%q) ok", s)
		}
	}
	for _, s := range []string{".5", "5.", "1_0.5_5e1_0", "+1E-3", " 2 "} {
		if _, ok := parsePyFloat(s); !ok {
			t.Errorf("parsePyFloat(%q) failed", s)
		}
	}
}

// normInput draws strings rich in the characters the rules treat specially.
func normInput() *rapid.Generator[string] {
	atoms := []string{"a", "B", "Σ", "é", "ﬁ", " ", "\t", "\x1c", "\u00a0", "[", "]", "(", ")", `"`, "'", "“", "–",
		".", "*", "#", "+", "†", "1", "٣", "x", "-", "_", "e", "[1]", " (y)"}
	return rapid.Custom(func(t *rapid.T) string {
		parts := rapid.SliceOfN(rapid.SampledFrom(atoms), 0, 12).Draw(t, "parts")
		return strings.Join(parts, "")
	})
}

func TestNormalizeProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		s := normInput().Draw(t, "s")
		n := WTQNormalize(s)
		if !utf8.ValidString(n) {
			t.Fatalf("invalid UTF-8 from %q", s)
		}
		// The result is stripped, lowercase-stable and has single spaces.
		if len(pyStrip([]rune(n))) != len([]rune(n)) || strings.Contains(n, "  ") {
			t.Fatalf("WTQNormalize(%q) = %q not collapsed", s, n)
		}
		// Idempotent unless the result ends in a character one of the
		// end-anchored rules acts on: dropping the final "." runs after the
		// loop and can expose a citation, a parenthetical or quotes (or
		// another "."); every other step already ran to a fixed point.
		if n == "" || !strings.ContainsRune(".)]\"•♦†‡*#+", []rune(n)[len([]rune(n))-1]) {
			if n2 := WTQNormalize(n); n2 != n {
				t.Fatalf("not idempotent: %q -> %q -> %q", s, n, n2)
			}
		}
	})
}

func TestValueProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		s := normInput().Draw(t, "s")
		v := WTQValue(s, "")
		if !v.Match(v) || !v.Equal(v) {
			t.Fatalf("%v does not match itself", v)
		}
		// A prediction list equal to the gold list is correct.
		items := rapid.SliceOfN(normInput(), 0, 4).Draw(t, "items")
		if !DenotationMatch(items, nil, items) {
			t.Fatalf("DenotationMatch(%q, nil, same) = false", items)
		}
		for _, m := range Metrics() {
			x := Score(m, s, items)
			if x < 0 || x > 1 {
				t.Fatalf("Score(%s) = %v out of [0,1]", m, x)
			}
		}
		if strings.TrimSpace(s) != "" {
			for _, m := range []Metric{MetricExact, MetricDenotation, MetricF1} {
				if x := Score(m, s, []string{s}); x != 1 {
					t.Fatalf("Score(%s, %q, itself) = %v", m, s, x)
				}
			}
		}
	})
}

func FuzzWTQNormalize(f *testing.F) {
	for _, s := range []string{"Che Fu", "Foo (bar)", "[1]", `"x"`, "ΟΔΟΣ", "a\x1c", "a (b).", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := WTQNormalize(s)
		if !utf8.ValidString(n) {
			t.Fatalf("invalid UTF-8 from %q", s)
		}
		if len(n) > 0 && (pyIsSpace([]rune(n)[0]) || strings.Contains(n, "  ")) {
			t.Fatalf("WTQNormalize(%q) = %q not collapsed", s, n)
		}
	})
}

func FuzzWTQValue(f *testing.F) {
	for _, s := range []string{"17", "1_000", "2.5", "1e3", "2011-10-xx", "xx-xx-05", "١٢", "-0.0", "nan"} {
		f.Add(s, "")
		f.Add("x", s)
	}
	f.Fuzz(func(t *testing.T, orig, canon string) {
		v := WTQValue(orig, canon)
		if !v.Match(v) || !v.Equal(v) {
			t.Fatalf("%v does not match itself", v)
		}
		if _, ok := v.Number(); ok != (v.Kind() == KindNumber) {
			t.Fatalf("Number ok=%v for %v", ok, v)
		}
		if _, _, _, ok := v.Date(); ok != (v.Kind() == KindDate) {
			t.Fatalf("Date ok=%v for %v", ok, v)
		}
	})
}

func FuzzSplitAnswer(f *testing.F) {
	for _, s := range []string{"a|b", "['a', 'b']", `["x\"", 1]`, "[", "[,]", "a"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, it := range SplitAnswer(s) {
			if strings.TrimSpace(s) == "" {
				t.Fatalf("items from blank %q", s)
			}
			_ = it
		}
	})
}

func FuzzParseNumeric(f *testing.F) {
	for _, s := range []string{"$1,234.5", "12%", "3rd", "1e5", "mp3", "-"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if v, ok := ParseNumeric(s); ok && (v != v) {
			t.Fatalf("NaN from %q", s)
		}
		for _, m := range Metrics() {
			if x := Score(m, s, []string{"1"}); x < 0 || x > 1 {
				t.Fatalf("Score out of range")
			}
		}
	})
}
