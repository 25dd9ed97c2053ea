package answer

import (
	"math"
	"reflect"
	"testing"
)

func TestSplitAnswer(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"   ", nil},
		{"Che Fu", []string{"Che Fu"}},
		{"a | b|c", []string{"a", "b", "c"}},
		{"Washington, D.C.", []string{"Washington, D.C."}},
		{"['a', 'b']", []string{"a", "b"}},
		{`["it's", "x\"y"]`, []string{"it's", `x"y`}},
		{"[1, 2.5, 3]", []string{"1", "2.5", "3"}},
		{"['a',]", []string{"a"}},
		{"[]", []string{}},
		{"[1]", []string{"1"}},
		{"[a] b", []string{"[a] b"}},
		{"['a', 'b'", []string{"['a', 'b'"}},
		{"['a' 'b']", []string{"['a' 'b']"}},
		{"[,]", []string{"[,]"}},
	} {
		if got := SplitAnswer(c.in); !reflect.DeepEqual(got, c.want) {
			t.Errorf("SplitAnswer(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestParseNumeric(t *testing.T) {
	for _, c := range []struct {
		in   string
		want float64
		ok   bool
	}{
		{"42", 42, true},
		{"$1,234.5", 1234.5, true},
		{"12%", 12, true},
		{"17 years", 17, true},
		{"−3", -3, true},
		{"3rd", 3, true},
		{"1.5e3", 1500, true},
		{"33.3 (approx)", 33.3, true},
		{"1995-01-26", 0, false},
		{"2 to 3", 0, false},
		{"mp3", 0, false},
		{"b2b", 0, false},
		{"none", 0, false},
		{"", 0, false},
		{"1,23", 0, false},
	} {
		got, ok := ParseNumeric(c.in)
		if ok != c.ok || (ok && got != c.want) {
			t.Errorf("ParseNumeric(%q) = %v, %v; want %v, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

func TestTokenF1(t *testing.T) {
	for _, c := range []struct {
		p, g string
		want float64
	}{
		{"New York City", "new york", 2 * (2.0 / 3) * 1 / (2.0/3 + 1)}, // P=2/3 R=1 -> 0.8
		{"the cat", "the cat", 1},
		{"a b", "c d", 0},
		{"", "", 1},
		{"", "x", 0},
		{"3.5 million", "3.5", 2 * 0.5 * 1 / 1.5},                 // P=1/2 R=1 -> 2/3
		{"a a b", "a b b", 2 * (2.0 / 3) * (2.0 / 3) / (4.0 / 3)}, // common 2 -> 2/3
	} {
		if got := TokenF1(c.p, c.g); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("TokenF1(%q, %q) = %v, want %v", c.p, c.g, got, c.want)
		}
	}
}

func TestScore(t *testing.T) {
	for _, c := range []struct {
		m    Metric
		pred string
		gold []string
		want float64
	}{
		{MetricExact, "Che Fu.", []string{"che fu"}, 1},
		{MetricExact, "b|a", []string{"a", "b"}, 1},
		{MetricExact, "['a', 'b']", []string{"a", "b"}, 1},
		{MetricExact, "17", []string{"17 years"}, 0},
		{MetricExact, "a|b", []string{"a|b"}, 1},
		{MetricDenotation, "17.0", []string{"17"}, 1},
		{MetricDenotation, "['Che Fu']", []string{"Che Fu"}, 1},
		{MetricDenotation, "Che Fu x", []string{"Che Fu"}, 0},
		{MetricDenotation, "", []string{"x"}, 0},
		{"", "17.0", []string{"17"}, 1},
		{MetricF1, "new york city", []string{"New York"}, 0.8},
		{MetricNumeric, "33.33", []string{"33.3333"}, 1}, // 0.0033 <= 1e-4*33.33
		{MetricNumeric, "33.3", []string{"33.3333"}, 0},  // 0.033 > 0.0033
		{MetricNumeric, "$1,000", []string{"1000"}, 1},   // lenient parse
		{MetricNumeric, "2|3", []string{"3", "2"}, 1},    // item sets
		{MetricNumeric, "2|3|4", []string{"3", "2"}, 0},  // extra number
		{MetricNumeric, "abc", []string{"3"}, 0},         // not a number
		{MetricNumeric, "Che Fu", []string{"che fu"}, 1}, // gold not numeric: denotation
		{MetricNumeric, "0.0000005", []string{"0"}, 1},   // absolute tolerance near zero
		{Metric("bogus"), "x", []string{"x"}, 0},
	} {
		if got := Score(c.m, c.pred, c.gold); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("Score(%q, %q, %q) = %v, want %v", c.m, c.pred, c.gold, got, c.want)
		}
	}
}

func TestScorerTolerance(t *testing.T) {
	s := Scorer{Metric: MetricNumeric, RelTol: 0.1}
	if got := s.Score("105", []string{"100"}); got != 1 {
		t.Errorf("RelTol 0.1: 105 vs 100 scored %v, want 1", got)
	}
	if got := s.Score("111", []string{"100"}); got != 0 {
		t.Errorf("RelTol 0.1: 111 vs 100 scored %v, want 0", got)
	}
	s = Scorer{Metric: MetricNumeric, AbsTol: 2}
	if got := s.Score("1.5", []string{"0"}); got != 1 {
		t.Errorf("AbsTol 2: 1.5 vs 0 scored %v, want 1", got)
	}
}

func TestScoreCanon(t *testing.T) {
	s := Scorer{Metric: MetricDenotation}
	if got := s.ScoreCanon("17", []string{"17 years"}, []string{"17.0"}); got != 1 {
		t.Errorf("with canon: %v, want 1", got)
	}
	if got := s.Score("17", []string{"17 years"}); got != 0 {
		t.Errorf("without canon: %v, want 0", got)
	}
}

func TestParseMetric(t *testing.T) {
	for _, m := range Metrics() {
		got, err := ParseMetric(string(m))
		if err != nil || got != m {
			t.Errorf("ParseMetric(%q) = %q, %v", m, got, err)
		}
	}
	if m, err := ParseMetric(""); err != nil || m != MetricDenotation {
		t.Errorf(`ParseMetric("") = %q, %v`, m, err)
	}
	if _, err := ParseMetric("bleu"); err == nil {
		t.Error("ParseMetric(bleu) gave no error")
	}
	var m Metric
	if err := m.UnmarshalText([]byte("F1")); err != nil || m != MetricF1 {
		t.Errorf("UnmarshalText(F1) = %q, %v", m, err)
	}
}
