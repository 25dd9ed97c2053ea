package eval

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"tabler1/answer"
)

// tatqaBenchmark is TAT-QA: table and paragraphs; a prediction carries its
// scale word. test has no answers, so test_gold is the evaluated split.
var tatqaBenchmark = Benchmark{
	Name: TATQA, TestSplit: "test_gold", EvalSplits: []string{"test_gold"},
	Native: loadTATQA, Scorer: tatqaScorer{}, Predict: tatqaPrediction, Official: writeTATQAOfficial,
}

// tatqaPrediction splits the trailing scale word off the answer ("12
// million" → "12", scale million); one item is a string, more a list.
func tatqaPrediction(id string, items []string) Prediction {
	items, scale := tatqaScale(items)
	p := List(id, items)
	if len(items) == 1 {
		p.Value = items[0]
	}
	p.Scale = scale
	return p
}

// TAT-QA's EM, F1 and scale score as tatqa_eval.py computes them
// (benchmarks.md §7).

// pyNum is a Python int or float, as tatqa_utils' arithmetic keeps them:
// str() of an int has no ".0".
type pyNum struct {
	isInt bool
	i     int64
	f     float64
}

func (n pyNum) float() float64 {
	if n.isInt {
		return float64(n.i)
	}
	return n.f
}

func (n pyNum) mul(m pyNum) pyNum {
	if n.isInt && m.isInt {
		return pyNum{isInt: true, i: n.i * m.i}
	}
	return pyNum{f: n.float() * m.float()}
}

func (n pyNum) round(d int) pyNum {
	if n.isInt {
		return n
	}
	return pyNum{f: pyRound(n.f, d)}
}

func (n pyNum) String() string {
	if n.isInt {
		return strconv.FormatInt(n.i, 10)
	}
	return answer.PyFloatRepr(n.f)
}

const tatExclude = "'\"\\$€£¥%(),[]"

func tatClean(s string) string {
	return strings.Map(func(r rune) rune {
		if strings.ContainsRune(tatExclude, r) {
			return -1
		}
		return r
	}, s)
}

// tatScale is scale_to_num: the first of thousand, million, billion,
// percent found in s (lowercased), else 1.
func tatScale(s string) pyNum {
	s = strings.ToLower(s)
	switch {
	case strings.Contains(s, "thousand"):
		return pyNum{isInt: true, i: 1000}
	case strings.Contains(s, "million"):
		return pyNum{isInt: true, i: 1000000}
	case strings.Contains(s, "billion"):
		return pyNum{isInt: true, i: 1000000000}
	case strings.Contains(s, "percent"):
		return pyNum{f: 0.01}
	}
	return pyNum{isInt: true, i: 1}
}

func isUnitScale(n pyNum) bool { return n.isInt && n.i == 1 }

// tatIsNumber is is_number.
func tatIsNumber(text string) bool {
	words := pyFields(tatCleanWords(text))
	if len(words) == 0 {
		return false
	}
	f, ok := pyFloat(words[0])
	if !ok || math.IsNaN(f) {
		return false
	}
	if len(words) >= 2 && isUnitScale(tatScale(words[1])) {
		return false
	}
	return true
}

func tatCleanWords(text string) string {
	ws := pyFields(text)
	for i, w := range ws {
		ws[i] = tatClean(w)
	}
	return strings.Join(ws, " ")
}

// Python's \d and \s are Unicode-aware on str patterns.
const (
	pyD = `\p{Nd}`
	pyS = `[\s\x1c-\x1f\x85\p{Z}]`
)

var (
	tatNumRE     = regexp.MustCompile(`([+-]?` + pyD + `+(\.` + pyD + `+)?)|([+-]?\.` + pyD + `+)`)
	tatNegRE     = regexp.MustCompile(`\(([.` + pyD + `]|` + pyS + `)+\)`)
	tatPercentRE = regexp.MustCompile(`([.` + pyD + `]|` + pyS + `)+%`)
	tatWordRE    = regexp.MustCompile(`[.` + pyD + `]+` + pyS + `?[a-zA-Z]+`)
)

// tatExtractNum is extract_one_num_from_str.
func tatExtractNum(s string) (pyNum, bool) {
	s = tatClean(s)
	m := tatNumRE.FindStringSubmatch(s)
	if m == nil || m[1] == "" {
		return pyNum{}, false
	}
	num := asciiDigits(m[1])
	if strings.Contains(num, ".") {
		f, ok := pyFloat(num)
		return pyNum{f: f}, ok
	}
	i, ok := pyInt(num)
	if !ok {
		f, fok := pyFloat(num) // beyond int64: keep the magnitude
		return pyNum{f: f}, fok
	}
	return pyNum{isInt: true, i: i}, true
}

// tatToNumber is to_number; ok false is Python's None.
func tatToNumber(text string) (pyNum, bool) {
	num, ok := tatExtractNum(text)
	if !ok {
		return pyNum{}, false
	}
	scale := pyNum{isInt: true, i: 1}
	if m := tatWordRE.FindString(text); m != "" {
		scale = tatScale(m)
	}
	neg := pyNum{isInt: true, i: 1}
	if tatNegRE.MatchString(pyStrip(text)) {
		neg = pyNum{isInt: true, i: -1}
	}
	pct := pyNum{isInt: true, i: 1}
	if tatPercentRE.MatchString(pyStrip(text)) {
		pct = pyNum{f: 0.01}
	}
	return num.mul(scale).mul(neg).mul(pct).round(4), true
}

func pyPercent4(f float64) string { return fmt.Sprintf("%.4f", f) }

// tatAnswerStr is get_answer_str: the items sorted, numbers rewritten, one
// string.
func tatAnswerStr(answers []string, scale string) string {
	sorted := append([]string(nil), answers...)
	sort.Strings(sorted)
	out := make([]string, 0, len(sorted))
	for _, a := range sorted {
		if tatIsNumber(a) {
			n, ok := tatToNumber(a)
			switch {
			case !ok:
				if scale != "" {
					a += " " + scale
				}
			case strings.Contains(a, "%"):
				a = pyPercent4(n.float())
			default:
				a = pyPercent4(n.round(2).mul(tatScale(scale)).float())
			}
		} else if scale != "" {
			a += " " + scale
		}
		out = append(out, a)
	}
	return strings.Join(out, " ")
}

var tatPunct = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"

// tatNormalize is normalize_answer.
func tatNormalize(s string) string {
	var toks []string
	for _, t := range strings.Split(s, " ") {
		t = strings.ToLower(t)
		if !tatIsNumber(t) {
			t = strings.Map(func(r rune) rune {
				if strings.ContainsRune(tatPunct, r) {
					return -1
				}
				return r
			}, t)
		}
		if tatIsNumber(t) {
			if n, ok := tatToNumber(t); ok {
				t = n.String()
			} else {
				t = "None"
			}
		}
		t = strings.Join(pyFields(replaceArticles(t)), " ")
		if pyStrip(t) != "" {
			toks = append(toks, t)
		}
	}
	return pyStrip(strings.Join(toks, " "))
}

func wordSet(s string) map[string]bool {
	m := map[string]bool{}
	for _, w := range pyFields(s) {
		m[w] = true
	}
	return m
}

// tatEMF1 is get_metrics on one predicted and one gold string: EM of the
// normalised strings, and the token-set F1 rounded to 2 decimals. Unlike
// DROP, whose F1 is 0 when the gold has numbers and the prediction none of
// them, TAT-QA's metric gives the set overlap whatever the numbers
// (benchmarks.md §7): "2019 revenue" against "2018 revenue" scores 0.5.
func tatEMF1(pred, gold string) (em, f1 float64) {
	np, ng := tatNormalize(pred), tatNormalize(gold)
	if np == ng {
		em = 1
	}
	return em, pyRound(tokenSetF1(wordSet(np), wordSet(ng)), 2)
}

// tokenSetF1 is the F1 of two word sets; an empty set has precision (or
// recall) 1, as in DROP's _compute_f1.
func tokenSetF1(pred, gold map[string]bool) float64 {
	inter := 0
	for w := range gold {
		if pred[w] {
			inter++
		}
	}
	prec, rec := 1.0, 1.0
	if len(pred) > 0 {
		prec = float64(inter) / float64(len(pred))
	}
	if len(gold) > 0 {
		rec = float64(inter) / float64(len(gold))
	}
	if prec == 0 && rec == 0 {
		return 0
	}
	return 2 * prec * rec / (prec + rec)
}

// pyTruthy is Python's truth value of a decoded JSON prediction.
func pyTruthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case string:
		return x != ""
	case []any:
		return len(x) > 0
	case bool:
		return x
	case json.Number:
		f, err := strconv.ParseFloat(x.String(), 64)
		return err != nil || f != 0
	case float64:
		return x != 0
	}
	return true
}

// tatGold is the gold answer list as tatqa_eval builds it: the span list,
// [str(answer)] for arithmetic, [str(int(answer))] for count.
func tatGold(ex *Example) []string {
	typ := ex.MetaString("answer_type")
	raw, has := ex.Meta["answer_raw"]
	if !has {
		return ex.Answer
	}
	switch typ {
	case "arithmetic":
		return []string{pyStr(raw)}
	case "count":
		s := pyStr(raw)
		if f, ok := pyFloat(s); ok && !math.IsInf(f, 0) && !math.IsNaN(f) {
			return []string{strconv.FormatInt(int64(f), 10)}
		}
		return []string{s}
	}
	if l, ok := raw.([]any); ok {
		out := make([]string, len(l))
		for i, v := range l {
			out[i] = pyStr(v)
		}
		return out
	}
	return []string{pyStr(raw)}
}

// pyStr is Python's str() of a decoded JSON scalar: a JSON integer literal is
// an int, any other number a float.
func pyStr(v any) string {
	if n, ok := v.(json.Number); ok {
		s := n.String()
		if !strings.ContainsAny(s, ".eE") {
			return s
		}
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			return answer.PyFloatRepr(f)
		}
		return s
	}
	return scalarString(v)
}

type tatqaScorer struct{}

func (tatqaScorer) Score(ex *Example, p Prediction) Outcome {
	goldScale := ex.MetaString("scale")
	typ := ex.MetaString("answer_type")
	em, f1, scale := 0.0, 0.0, 0.0
	// As in tatqa_eval, a falsy prediction scores 0 on all three, scale
	// included.
	if pyTruthy(p.Value) {
		scale = boolScore(p.Scale == goldScale)
		var items []string
		if l, ok := p.Value.([]any); ok {
			for _, v := range l {
				items = append(items, pyStr(v))
			}
		} else {
			items = []string{pyStr(p.Value)}
		}
		preds := []string{tatAnswerStr(items, p.Scale)}
		if len(items) == 1 && p.Scale == "" && !strings.Contains(items[0], "%") && tatIsNumber(items[0]) {
			if n, ok := tatToNumber(items[0]); ok {
				preds = append(preds, pyPercent4(n.float()))
			}
		}
		gold := tatAnswerStr(tatGold(ex), goldScale)
		for _, ps := range preds {
			e, f := tatEMF1(ps, gold)
			if e > em || (e == em && f > f1) {
				em, f1 = e, f
			}
		}
		if typ == "arithmetic" || typ == "count" {
			f1 = em
		}
	}
	return Outcome{Correct: em == 1, Score: em, Group: typ,
		Metrics: map[string]float64{"em": em, "f1": f1, "scale": scale}}
}

func (tatqaScorer) Summarize(scored []Scored) Metrics {
	m := MeanSummary(scored)
	by := map[string][]Scored{}
	for _, s := range scored {
		by[s.Outcome.Group] = append(by[s.Outcome.Group], s)
	}
	for g, ss := range by {
		if g == "" {
			continue
		}
		sub := MeanSummary(ss)
		m["em/"+g] = sub["em"]
		m["f1/"+g] = sub["f1"]
		m["n/"+g] = float64(len(ss))
	}
	return m
}
