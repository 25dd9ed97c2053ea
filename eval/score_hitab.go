package eval

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"

	"tabler1/answer"
)

// hitabBenchmark is HiTab: hierarchical tables, scored by hmt_score.
var hitabBenchmark = Benchmark{
	Name: HiTab, Paper: true,
	Native: loadHiTab, Scorer: hitabScorer{}, Official: writeHiTabOfficial,
}

// HiTab's hmt_score (qa/table/utils.py), benchmarks.md §3.

// hvalue is the result of process(): a float, a string or a list.
type hvalue struct {
	kind int // hFloat, hString, hList
	f    float64
	s    string
	l    []hvalue
}

const (
	hFloat = iota
	hString
	hList
)

// hmtProcess is process(x); ok is false where Python raises (an empty list).
func hmtProcess(x any) (hvalue, bool) {
	switch v := x.(type) {
	case json.Number:
		f, err := strconv.ParseFloat(v.String(), 64)
		if err != nil {
			return hvalue{kind: hFloat, f: f}, isRangeError(err)
		}
		return hvalue{kind: hFloat, f: f}, true
	case float64:
		return hvalue{kind: hFloat, f: v}, true
	case bool:
		return hvalue{kind: hFloat, f: boolScore(v)}, true
	case string:
		return hmtString(v), true
	case []any:
		if len(v) == 0 {
			return hvalue{}, false
		}
		if first, isList := v[0].([]any); isList {
			switch {
			case len(v) == 1 && len(first) == 1:
				return hmtProcess(first[0])
			case len(v) == 1:
				return hmtProcess(first)
			case len(first) == 1:
				col := make([]any, len(v))
				for i, r := range v {
					rl, ok := r.([]any)
					if !ok || len(rl) == 0 {
						return hvalue{}, false
					}
					col[i] = rl[0]
				}
				return hmtProcess(col)
			}
			return hmtList(v)
		}
		if len(v) == 1 {
			return hmtProcess(v[0])
		}
		return hmtList(v)
	case nil:
		return hvalue{}, false
	}
	return hvalue{}, false
}

func isRangeError(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

func hmtList(v []any) (hvalue, bool) {
	out := hvalue{kind: hList, l: make([]hvalue, len(v))}
	for i, e := range v {
		p, ok := hmtProcess(e)
		if !ok {
			return hvalue{}, false
		}
		out.l[i] = p
	}
	return out, true
}

// hmtString is process() of a str: strip and lowercase, then
// naive_str_to_float, whose failure returns WTQ normalize of the stripped,
// lowercased text.
func hmtString(x string) hvalue {
	s := strings.ToLower(pyStrip(x))
	t := strings.TrimPrefix(s, "(")
	if strings.HasSuffix(t, "%") || strings.HasSuffix(t, ")") {
		t = t[:len(t)-1]
	}
	t = strings.ReplaceAll(t, ",", "")
	if s != "" {
		if f, ok := pyFloat(t); ok {
			return hvalue{kind: hFloat, f: f}
		}
	}
	return hvalue{kind: hString, s: answer.WTQNormalize(s)}
}

// hmtEqual is equal(p, a).
func hmtEqual(p, a hvalue) bool {
	if p.kind != a.kind {
		return false
	}
	switch p.kind {
	case hString:
		return p.s == a.s
	case hFloat:
		return math.Abs(p.f-a.f) < 1e-5
	}
	if len(p.l) != len(a.l) {
		return false
	}
	for i := range p.l {
		if !hmtEqual(p.l[i], a.l[i]) {
			return false
		}
	}
	return true
}

// hmtScore is hmt_score(prediction, answer): 1 when equal, 0 otherwise and
// where the official code raises.
func hmtScore(pred, gold any) float64 {
	p, ok := hmtProcess(pred)
	if !ok {
		return 0
	}
	g, ok := hmtProcess(gold)
	if !ok {
		return 0
	}
	return boolScore(hmtEqual(p, g))
}

type hitabScorer struct{}

// Score uses meta.answer_raw (the typed gold list) where present, else the
// string answers.
func (hitabScorer) Score(ex *Example, p Prediction) Outcome {
	gold, ok := ex.Meta["answer_raw"]
	if !ok {
		l := make([]any, len(ex.Answer))
		for i, s := range ex.Answer {
			l[i] = s
		}
		gold = l
	}
	s := hmtScore(p.Value, gold)
	return Outcome{Correct: s == 1, Score: s}
}

func (hitabScorer) Summarize(scored []Scored) Metrics { return MeanSummary(scored) }
