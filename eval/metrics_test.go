package eval

import (
	"math"
	"strconv"
	"testing"

	"pgregory.net/rapid"

	"tabler1/answer"
)

// sacreBLEU's README example: BLEU = 48.53 with these three segments and two
// reference sets.
func TestCorpusBLEUSacreBLEUExample(t *testing.T) {
	hyps := []string{"The dog bit the man.", "It wasn't surprising.", "The man had just bitten him."}
	refs := [][]string{
		{"The dog bit the man.", "It was not unexpected.", "The man bit him first."},
		{"The dog had bit the man.", "No one was surprised.", "The man had bitten the dog."},
	}
	if got := corpusBLEU(hyps, refs); math.Abs(got-48.53) > 0.005 {
		t.Errorf("corpus BLEU %.4f, sacreBLEU prints 48.53", got)
	}
	if got := corpusBLEU([]string{"a b c d"}, [][]string{{"a b c d"}}); math.Abs(got-100) > 1e-9 {
		t.Errorf("identical segments: BLEU %v, want 100", got)
	}
	if got := corpusBLEU([]string{""}, [][]string{{"a b"}}); got != 0 {
		t.Errorf("empty hypothesis: BLEU %v, want 0", got)
	}
}

func TestTokenize13a(t *testing.T) {
	for in, want := range map[string]string{
		"Hello, world.":        "Hello , world .",
		"It costs $1,000.50!":  "It costs $ 1,000.50 !",
		"1990-1995 &amp; more": "1990 - 1995 & more",
		"&amp;lt;":             "<",
	} {
		got := ""
		for i, tok := range tokenize13a(in) {
			if i > 0 {
				got += " "
			}
			got += tok
		}
		if got != want {
			t.Errorf("tokenize13a(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRougeL(t *testing.T) {
	for _, tc := range []struct {
		ref, pred string
		want      float64
	}{
		{"the cat sat", "the cat sat", 1},
		{"the cat sat on the mat", "the cat", 2 * (1.0) * (2.0 / 6) / (1 + 2.0/6)},
		{"", "x", 0},
		{"A-B c", "a b C", 1},
	} {
		if got := rougeL(tc.ref, tc.pred); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("rougeL(%q, %q) = %v, want %v", tc.ref, tc.pred, got, tc.want)
		}
	}
}

func TestPyFloat(t *testing.T) {
	for _, tc := range []struct {
		in string
		v  float64
		ok bool
	}{
		{"1", 1, true}, {" -2.5e3 ", -2500, true}, {"1_000", 1000, true}, {"1__0", 0, false}, {"_1", 0, false},
		{".5", .5, true}, {"5.", 5, true}, {"1,000", 0, false}, {"0x10", 0, false}, {"", 0, false},
		{"inf", math.Inf(1), true}, {"-Infinity", math.Inf(-1), true}, {"\u0661\u0662", 12, true}, {"1e", 0, false},
		{"\x1c3\x1f", 3, true},
	} {
		v, ok := pyFloat(tc.in)
		if ok != tc.ok || (ok && v != tc.v) {
			t.Errorf("pyFloat(%q) = %v, %v; want %v, %v", tc.in, v, ok, tc.v, tc.ok)
		}
	}
}

func TestPyRepr(t *testing.T) {
	for f, want := range map[float64]string{
		1: "1.0", 0.1: "0.1", 1e16: "1e+16", 1.5e16: "1.5e+16", 1e-5: "1e-05", 123456789012345.6: "123456789012345.6",
		-0.0001: "-0.0001", 2.5e-7: "2.5e-07", 1e22: "1e+22", 100: "100.0",
	} {
		if got := answer.PyFloatRepr(f); got != want {
			t.Errorf("answer.PyFloatRepr(%v) = %q, want %q", f, got, want)
		}
	}
}

// pyRepr round-trips, as Python's repr does.
func TestPyReprRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		f := rapid.Float64().Draw(t, "f")
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return
		}
		back, err := strconv.ParseFloat(answer.PyFloatRepr(f), 64)
		if err != nil || back != f {
			t.Fatalf("answer.PyFloatRepr(%v) = %q reads back as %v, %v", f, answer.PyFloatRepr(f), back, err)
		}
		if v, ok := pyFloat(answer.PyFloatRepr(f)); !ok || v != f {
			t.Fatalf("pyFloat(answer.PyFloatRepr(%v)) = %v, %v", f, v, ok)
		}
	})
}

// Normalisations are idempotent: a normalised answer normalises to itself.
func TestNormalizersIdempotent(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		s := rapid.StringMatching(`[ a-zA-Z0-9.,%$()\-]{0,20}`).Draw(t, "s")
		if n := squadNormalize(s); squadNormalize(n) != n {
			t.Fatalf("squadNormalize not idempotent on %q: %q then %q", s, n, squadNormalize(n))
		}
	})
}

func TestTabFactLabel(t *testing.T) {
	for in, want := range map[string]int{"Entailed": 1, " refuted.": 0, "**True**": 1, "no": 0, "not entailed": 0} {
		if got, ok := TabFactLabel(in); !ok || got != want {
			t.Errorf("TabFactLabel(%q) = %d, %v; want %d", in, got, ok, want)
		}
	}
	if _, ok := TabFactLabel("maybe"); ok {
		t.Error(`TabFactLabel("maybe") parsed`)
	}
}

func TestSeededSubset(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(0, 30).Draw(t, "n")
		k := rapid.IntRange(-1, 35).Draw(t, "k")
		seed := rapid.Uint64().Draw(t, "seed")
		exs := make([]Example, n)
		for i := range exs {
			exs[i].ID = strconv.Itoa(i)
		}
		sub := SeededSubset(exs, k, seed)
		want := k
		if k < 0 || k > n {
			want = n
		}
		if len(sub) != want {
			t.Fatalf("subset of %d from %d: got %d", k, n, len(sub))
		}
		last := -1
		for _, e := range sub {
			i, _ := strconv.Atoi(e.ID)
			if i <= last {
				t.Fatalf("subset out of order: %v", sub)
			}
			last = i
		}
		again := SeededSubset(exs, k, seed)
		for i := range sub {
			if sub[i].ID != again[i].ID {
				t.Fatal("same seed, different subset")
			}
		}
	})
}
