package eval

import (
	"math/big"
	"regexp"
	"strings"
)

// tablebenchBenchmark is TableBench (Visualization left out): one file, one
// text answer per item.
var tablebenchBenchmark = Benchmark{
	Name:    TableBench,
	Native:  func(root, _ string) ([]Example, error) { return loadTableBench(root) },
	Scorer:  tablebenchScorer{},
	Predict: textPrediction,
}

// TableBench's EM, EM_with_error_10 and ROUGE-L as the official
// eval_tablebench_script computes them (benchmarks.md §6).

// squadNormalize is SQuAD's normalize_answer: lowercase, delete every ASCII
// punctuation character, replace the words a/an/the with a space, collapse
// whitespace.
func squadNormalize(s string) string {
	s = strings.ToLower(s)
	s = strings.Map(func(r rune) rune {
		if isASCIIPunct(r) {
			return -1
		}
		return r
	}, s)
	s = replaceArticles(s)
	return strings.Join(pyFields(s), " ")
}

func isASCIIPunct(r rune) bool {
	return r < 0x80 && strings.ContainsRune("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~", r)
}

// pyArticlesRE is Python's \b(a|an|the)\b on str patterns, where \b is a
// Unicode word boundary; Go's \b is ASCII-only, so the boundary is spelled
// out with the Unicode word class (letters, numbers, underscore).
var pyArticlesRE = regexp.MustCompile(`(^|[^\p{L}\p{N}_])(a|an|the)($|[^\p{L}\p{N}_])`)

// replaceArticles applies pyArticlesRE to a fixed point, since Go's regexp
// consumes the boundary character and so misses "a a".
func replaceArticles(s string) string {
	for {
		t := pyArticlesRE.ReplaceAllString(s, "$1 $3")
		if t == s {
			return s
		}
		s = t
	}
}

var tbNumRE = regexp.MustCompile(`^-?\d+(\.\d+)?%?$`)

// tbDecimal reads s as Python's decimal.Decimal would (finite values only).
func tbDecimal(s string) (*big.Rat, bool) {
	s = strings.ReplaceAll(pyStrip(asciiDigits(s)), "_", "")
	if s == "" || !decimalRE.MatchString(s) {
		return nil, false
	}
	r, ok := new(big.Rat).SetString(s)
	return r, ok
}

var decimalRE = regexp.MustCompile(`^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$`)

// roundHalfUp rounds r to d decimals, ties away from zero.
func roundHalfUp(r *big.Rat, d int) *big.Rat {
	scale := new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(d)), nil))
	x := new(big.Rat).Mul(r, scale)
	neg := x.Sign() < 0
	x.Abs(x)
	x.Add(x, big.NewRat(1, 2))
	q := new(big.Int).Quo(x.Num(), x.Denom())
	if neg {
		q.Neg(q)
	}
	return new(big.Rat).Quo(new(big.Rat).SetInt(q), scale)
}

func decimalsOf(s string) int {
	s = strings.TrimSuffix(s, "%")
	if _, frac, ok := strings.Cut(s, "."); ok {
		return len(frac)
	}
	return 0
}

// tbItems is compute_em's split: on ",", each item stripped.
func tbItems(s string) []string {
	parts := strings.Split(s, ",")
	for i := range parts {
		parts[i] = pyStrip(parts[i])
	}
	return parts
}

// tablebenchEM is compute_em on already-normalised strings: numeric items
// match when equal after rounding half up to the fewest decimals of the
// numeric reference items (4 for a percentage).
func tablebenchEM(ref, pred string) float64 {
	minDec := -1
	for _, r := range tbItems(ref) {
		if tbNumRE.MatchString(r) {
			if d := decimalsOf(r); minDec < 0 || d < minDec {
				minDec = d
			}
		}
	}
	minDec = max(minDec, 0)
	return tbItemScore(ref, pred, func(r string, rv, pv *big.Rat) bool {
		if strings.HasSuffix(r, "%") {
			return roundHalfUp(rv, 4).Cmp(roundHalfUp(pv, 4)) == 0
		}
		return roundHalfUp(rv, minDec).Cmp(roundHalfUp(pv, minDec)) == 0
	})
}

// tablebenchEMTolerance is compute_em_with_tolerance on normalised strings:
// numeric items match within errPct percent of the reference (a zero
// reference only by zero).
func tablebenchEMTolerance(ref, pred string, errPct float64) float64 {
	return tbItemScore(ref, pred, func(_ string, rv, pv *big.Rat) bool {
		if rv.Sign() == 0 {
			return pv.Sign() == 0
		}
		diff := new(big.Rat).Sub(rv, pv)
		diff.Abs(diff)
		tol := new(big.Rat).Abs(rv)
		tol.Mul(tol, new(big.Rat).SetFloat64(errPct/100))
		return diff.Cmp(tol) <= 0
	})
}

// tbItemScore is the item loop both EMs share: reference and prediction
// items are paired by position, each reference item weighs 1/len(refs); a
// numeric reference item matches by numEqual on the values ("%" read as
// ÷100; an unreadable prediction item fails), any other item by equality.
func tbItemScore(ref, pred string, numEqual func(r string, rv, pv *big.Rat) bool) float64 {
	refs, preds := tbItems(ref), tbItems(pred)
	w := 1 / float64(len(refs))
	score := 0.0
	for i, r := range refs {
		if i >= len(preds) {
			break
		}
		p := preds[i]
		if tbNumRE.MatchString(r) {
			rv, ok1 := tbPercentValue(r)
			pv, ok2 := tbPercentValue(p)
			if ok1 && ok2 && numEqual(r, rv, pv) {
				score += w
			}
		} else if r == p {
			score += w
		}
	}
	return score
}

// tbPercentValue reads a numeric item, "%" meaning ÷100.
func tbPercentValue(s string) (*big.Rat, bool) {
	pct := strings.HasSuffix(s, "%")
	v, ok := tbDecimal(strings.TrimSuffix(s, "%"))
	if !ok {
		return nil, false
	}
	if pct {
		v.Quo(v, big.NewRat(100, 1))
	}
	return v, true
}

// tablebenchMetric names the DataAnalysis subtype's metric.
func tablebenchMetric(qtype, qsubtype string) string {
	if qtype != "DataAnalysis" {
		return "em"
	}
	switch qsubtype {
	case "CorrelationAnalysis", "TrendForecasting", "StatisticalAnalysis":
		return "em_with_error_10"
	case "ImpactAnalysis":
		return "em"
	}
	return "rouge_l"
}

type tablebenchScorer struct{}

func (tablebenchScorer) Score(ex *Example, p Prediction) Outcome {
	ref := ""
	if len(ex.Answer) > 0 {
		ref = strings.Join(ex.Answer, ", ")
	}
	pred := strings.Join(p.Items(), ", ")
	nr, np := squadNormalize(ref), squadNormalize(pred)
	em := tablebenchEM(nr, np)
	tol := tablebenchEMTolerance(nr, np, 10)
	rl := rougeL(nr, np)
	qtype := ex.MetaString("qtype")
	m := map[string]float64{"em": em, "em_with_error_10": tol, "rouge_l": rl}
	s := m[tablebenchMetric(qtype, ex.MetaString("qsubtype"))]
	return Outcome{Correct: s >= 1, Score: s, Metrics: m, Group: qtype}
}

// Summarize gives accuracy (the count-weighted Mix_Metric), the mean of each
// metric, and per-qtype em and headline metric ("em/FactChecking",
// "mix/DataAnalysis", ...).
func (tablebenchScorer) Summarize(scored []Scored) Metrics {
	m := MeanSummary(scored)
	type agg struct {
		n                   int
		em, tol, mix, rouge float64
	}
	groups := map[string]*agg{}
	for _, s := range scored {
		g := groups[s.Outcome.Group]
		if g == nil {
			g = &agg{}
			groups[s.Outcome.Group] = g
		}
		g.n++
		g.em += s.Outcome.Metrics["em"]
		g.tol += s.Outcome.Metrics["em_with_error_10"]
		g.rouge += s.Outcome.Metrics["rouge_l"]
		g.mix += s.Outcome.Score
	}
	for name, g := range groups {
		if name == "" {
			continue
		}
		n := float64(g.n)
		m["em/"+name] = g.em / n
		m["em_with_error_10/"+name] = g.tol / n
		m["rouge_l/"+name] = g.rouge / n
		m["mix/"+name] = g.mix / n
		m["n/"+name] = n
	}
	return m
}
