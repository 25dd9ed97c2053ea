package answer

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"unicode"
)

// Metric names a similarity between a predicted answer and the gold one.
// The zero Metric is MetricDenotation.
type Metric string

// The metrics. Each scores in [0, 1].
const (
	// MetricExact is 1 when the predicted items and the gold items are the
	// same sets after WTQNormalize.
	MetricExact Metric = "exact"
	// MetricDenotation is the WikiTQ evaluator's verdict (DenotationMatch):
	// typed values, numbers within 1e-6, dates by fields.
	MetricDenotation Metric = "denotation"
	// MetricF1 is the token F1 of the prediction against the gold answer
	// (TokenF1): graded credit for partly right text.
	MetricF1 Metric = "f1"
	// MetricNumeric is 1 when every gold item is a number and the predicted
	// numbers equal them within a tolerance; for a gold answer that is not
	// numeric it falls back to MetricDenotation.
	MetricNumeric Metric = "numeric"
)

// Metrics lists the valid metric names.
func Metrics() []Metric {
	return []Metric{MetricExact, MetricDenotation, MetricF1, MetricNumeric}
}

// ParseMetric reads a metric name; "" is MetricDenotation.
func ParseMetric(s string) (Metric, error) {
	m := Metric(strings.ToLower(strings.TrimSpace(s)))
	if m == "" {
		return MetricDenotation, nil
	}
	for _, v := range Metrics() {
		if m == v {
			return m, nil
		}
	}
	return "", fmt.Errorf("answer: unknown similarity metric %q: use one of exact, denotation, f1, numeric", s)
}

// UnmarshalText lets a Metric be decoded (YAML, JSON, flags) with
// validation.
func (m *Metric) UnmarshalText(b []byte) error {
	v, err := ParseMetric(string(b))
	if err != nil {
		return err
	}
	*m = v
	return nil
}

// Default numeric tolerances: relative 1e-4 forgives rounding in printed
// floats (a program printing 33.33 for 33.333...), absolute 1e-6 is the
// WikiTQ evaluator's own tolerance, which matters near zero.
const (
	DefaultRelTol = 1e-4
	DefaultAbsTol = 1e-6
)

// Scorer scores predictions with one metric. The zero Scorer uses
// MetricDenotation and the default tolerances.
type Scorer struct {
	Metric Metric `yaml:"metric" json:"metric"`
	// RelTol and AbsTol bound MetricNumeric: a prediction p matches a gold
	// number g when |p-g| <= max(AbsTol, RelTol*|g|). Zero takes the
	// default (DefaultRelTol, DefaultAbsTol).
	RelTol float64 `yaml:"rel_tol" json:"rel_tol"`
	AbsTol float64 `yaml:"abs_tol" json:"abs_tol"`
}

// Score is Scorer{Metric: m}.Score(prediction, gold).
func Score(m Metric, prediction string, gold []string) float64 {
	return Scorer{Metric: m}.Score(prediction, gold)
}

// Score scores prediction against the gold answer, whose items (all of them
// required, as in WikiTQ's answer lists) are gold. The prediction is split
// into items by SplitAnswer. An unknown metric scores 0.
func (s Scorer) Score(prediction string, gold []string) float64 {
	return s.ScoreCanon(prediction, gold, nil)
}

// ScoreCanon is Score with the gold items' canonical forms (the WikiTQ
// targetCanon list), which MetricDenotation types the gold items by; nil
// (or a list of the wrong length) means the items themselves.
func (s Scorer) ScoreCanon(prediction string, gold, canon []string) float64 {
	if canon != nil && len(canon) != len(gold) {
		canon = nil
	}
	switch s.Metric {
	case MetricExact:
		return boolScore(exactMatch(prediction, gold))
	case MetricDenotation, "":
		return boolScore(denotation(prediction, gold, canon))
	case MetricF1:
		return TokenF1(prediction, strings.Join(gold, " "))
	case MetricNumeric:
		if v, ok := s.numeric(prediction, gold); ok {
			return boolScore(v)
		}
		return boolScore(denotation(prediction, gold, canon))
	}
	return 0
}

func boolScore(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// exactMatch compares normalised item sets; a single gold item also matches
// the whole prediction unsplit (a gold item may itself contain "|").
func exactMatch(prediction string, gold []string) bool {
	if len(gold) == 1 && WTQNormalize(prediction) == WTQNormalize(gold[0]) {
		return true
	}
	return sameSet(normalizeAll(SplitAnswer(prediction)), normalizeAll(gold))
}

func normalizeAll(xs []string) map[string]bool {
	m := make(map[string]bool, len(xs))
	for _, x := range xs {
		m[WTQNormalize(x)] = true
	}
	return m
}

func sameSet(a, b map[string]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if !b[k] {
			return false
		}
	}
	return true
}

// denotation is DenotationMatch on the prediction's items, and, when that
// fails and the split changed something, on the unsplit prediction.
func denotation(prediction string, gold, canon []string) bool {
	items := SplitAnswer(prediction)
	if DenotationMatch(gold, canon, items) {
		return true
	}
	whole := strings.TrimSpace(prediction)
	if len(items) == 1 && items[0] == whole {
		return false
	}
	return whole != "" && DenotationMatch(gold, canon, []string{whole})
}

// numeric reports the numeric verdict, and ok=false when the gold answer is
// not numeric (some item has no number).
func (s Scorer) numeric(prediction string, gold []string) (match, ok bool) {
	if len(gold) == 0 {
		return false, false
	}
	g := make([]float64, len(gold))
	for i, x := range gold {
		if g[i], ok = ParseNumeric(x); !ok {
			return false, false
		}
	}
	items := SplitAnswer(prediction)
	p := make([]float64, len(items))
	for i, x := range items {
		var okp bool
		if p[i], okp = ParseNumeric(x); !okp {
			return false, true
		}
	}
	if len(p) != len(g) {
		return false, true
	}
	rel, abs := s.RelTol, s.AbsTol
	if rel == 0 {
		rel = DefaultRelTol
	}
	if abs == 0 {
		abs = DefaultAbsTol
	}
	close := func(x, y float64) bool { return math.Abs(x-y) <= math.Max(abs, rel*math.Abs(y)) }
	// Every gold number is matched by a prediction and every prediction by
	// a gold number.
	for _, y := range g {
		if !anyClose(p, y, close) {
			return false, true
		}
	}
	for _, x := range p {
		if !anyClose(g, x, func(a, b float64) bool { return close(b, a) }) {
			return false, true
		}
	}
	return true, true
}

func anyClose(xs []float64, y float64, close func(x, y float64) bool) bool {
	for _, x := range xs {
		if close(x, y) {
			return true
		}
	}
	return false
}

// numberToken finds the numbers ParseNumeric reads: optional sign, digits
// with optional well-formed thousands separators, optional fraction and
// exponent.
var numberToken = regexp.MustCompile(`[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)?(?:\.\d+)?(?:[eE][+-]?\d+)?`)

// ParseNumeric reads the one number in an answer item, leniently: the item
// is normalised (WTQNormalize, so a trailing "(...)" and a final "." go and
// Unicode minus signs become "-"), and if it holds exactly one number
// ("$1,234.5", "12%", "17 years", "-3") that is its value. Units, currency
// and percent signs are ignored, not applied ("12%" is 12). An item with no
// number or several ("1995-01-26", "2 to 3") is not numeric.
func ParseNumeric(s string) (float64, bool) {
	n := WTQNormalize(s)
	var found []string
	for _, loc := range numberToken.FindAllStringIndex(n, -1) {
		tok := n[loc[0]:loc[1]]
		if !strings.ContainsAny(tok, "0123456789") {
			continue
		}
		// A number glued to letters on either side is part of a word
		// ("b2b", "mp3", "2nd"): not a numeric answer.
		if loc[0] > 0 && isWordRune(n[:loc[0]], true) || loc[1] < len(n) && isWordRune(n[loc[1]:], false) && !ordinalSuffix(n[loc[1]:]) {
			return 0, false
		}
		found = append(found, tok)
	}
	if len(found) != 1 {
		return 0, false
	}
	v, err := strconv.ParseFloat(strings.ReplaceAll(found[0], ",", ""), 64)
	if err != nil || math.IsInf(v, 0) || math.IsNaN(v) {
		return 0, false
	}
	return v, true
}

// isWordRune reports whether the rune next to a number (the last of before,
// or the first of after) is a letter.
func isWordRune(s string, last bool) bool {
	rs := []rune(s)
	if last {
		return unicode.IsLetter(rs[len(rs)-1])
	}
	return unicode.IsLetter(rs[0])
}

// ordinalSuffix accepts "1st", "2nd", "3rd", "4th" as the number.
func ordinalSuffix(after string) bool {
	for _, suf := range []string{"st", "nd", "rd", "th"} {
		if strings.HasPrefix(after, suf) && (len(after) == len(suf) || !isWordRune(after[len(suf):], false)) {
			return true
		}
	}
	return false
}

// TokenF1 is the bag-of-tokens F1 of prediction against gold: both are
// normalised (WTQNormalize) and cut into tokens, maximal runs of letters
// and digits ("3.5" and "1,000" stay one token); F1 is 2PR/(P+R) over the
// tokens in common, counted with multiplicity. Two answers without tokens
// score 1, one without tokens scores 0.
func TokenF1(prediction, gold string) float64 {
	p, g := tokens(WTQNormalize(prediction)), tokens(WTQNormalize(gold))
	if len(p) == 0 || len(g) == 0 {
		return boolScore(len(p) == len(g))
	}
	count := map[string]int{}
	for _, t := range g {
		count[t]++
	}
	common := 0
	for _, t := range p {
		if count[t] > 0 {
			count[t]--
			common++
		}
	}
	if common == 0 {
		return 0
	}
	prec := float64(common) / float64(len(p))
	rec := float64(common) / float64(len(g))
	return 2 * prec * rec / (prec + rec)
}

func tokens(s string) []string {
	rs := []rune(s)
	var out []string
	start := -1
	for i, r := range rs {
		alnum := unicode.IsLetter(r) || unicode.IsDigit(r)
		// A '.' or ',' between two digits is inside a number.
		inNumber := (r == '.' || r == ',') && start >= 0 && i > 0 && unicode.IsDigit(rs[i-1]) &&
			i+1 < len(rs) && unicode.IsDigit(rs[i+1])
		switch {
		case alnum || inNumber:
			if start < 0 {
				start = i
			}
		case start >= 0:
			out = append(out, string(rs[start:i]))
			start = -1
		}
	}
	if start >= 0 {
		out = append(out, string(rs[start:]))
	}
	return out
}
