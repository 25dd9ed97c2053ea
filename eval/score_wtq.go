package eval

import (
	"strings"

	"tabler1/answer"
)

// wtqBenchmark is WikiTableQuestions: evaluated on pristine-unseen-tables,
// scored per prediction line as evaluator.py does.
var wtqBenchmark = Benchmark{
	Name: WTQ, Paper: true,
	TestSplit: "pristine-unseen-tables", TrainSplit: "training", EvalSplits: []string{"pristine-unseen-tables"},
	Native: loadWTQ, Scorer: wtqScorer{}, PerLine: true, Official: writeWTQOfficial,
}

// aitqaBenchmark is AIT-QA: one file, cut by the seeded AITQASplit.
var aitqaBenchmark = Benchmark{
	Name: AITQA, Paper: true, TestSplit: "all",
	Native: func(root, _ string) ([]Example, error) { return loadAITQA(root) },
	Split:  applyAITQASplit, Scorer: aitqaScorer{},
}

// wtqScorer is evaluator.py's denotation match, through package answer (the
// one port shared with the GRPO rewards). The gold canonical values are
// meta.target_canon; without them (splits whose tagged file is absent) each
// gold item is its own canonical form.
type wtqScorer struct{}

func (wtqScorer) Score(ex *Example, p Prediction) Outcome {
	canon, ok := ex.MetaStrings("target_canon")
	if !ok || len(canon) != len(ex.Answer) {
		canon = nil
	}
	c := answer.DenotationMatch(ex.Answer, canon, p.Items())
	return Outcome{Correct: c, Score: boolScore(c)}
}

func (wtqScorer) Summarize(scored []Scored) Metrics { return MeanSummary(scored) }

// aitqaScorer is tabler1's AIT-QA rule (the repository has no scorer; see
// the package documentation): WTQ denotation match on the single gold
// string, both sides given a canonical number by aitqaCanon.
type aitqaScorer struct{}

func (aitqaScorer) Score(ex *Example, p Prediction) Outcome {
	gold, err := answer.WTQValues(ex.Answer, aitqaCanons(ex.Answer))
	if err != nil {
		return Outcome{}
	}
	items := p.Items()
	pred, err := answer.WTQValues(items, aitqaCanons(items))
	if err != nil {
		return Outcome{}
	}
	c := answer.WTQCorrect(gold, pred)
	return Outcome{Correct: c, Score: boolScore(c)}
}

func (aitqaScorer) Summarize(scored []Scored) Metrics { return MeanSummary(scored) }

// aitqaCanon is the canonical form of an AIT-QA answer item: with "$" signs
// and "," separators dropped and whitespace trimmed, a text that Python's
// float() reads (e.g. "$1,234.5" → "1234.5") is that number; anything else
// is its own canonical form ("" tells WTQValue so).
func aitqaCanon(s string) string {
	t := pyStrip(strings.NewReplacer("$", "", ",", "").Replace(s))
	if _, ok := pyFloat(t); ok {
		return t
	}
	return ""
}

func aitqaCanons(items []string) []string {
	out := make([]string, len(items))
	for i, s := range items {
		out[i] = aitqaCanon(s)
	}
	return out
}
