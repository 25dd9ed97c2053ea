package eval

import (
	"strings"
	"unicode"

	"tabler1/rollout"
)

// tabfactBenchmark is TabFact: statements to verify, with their own prompt.
var tabfactBenchmark = Benchmark{
	Name: TabFact, Paper: true, Task: rollout.TaskTabFact,
	EvalSplits: []string{"small_test", "complex_test", "simple_test"},
	Native:     loadTabFact, Scorer: tabfactScorer{}, Official: writeTabFactOfficial,
}

// TabFactLabel maps a model's verdict to TabFact's label: 1 for entailed
// (also "true", "yes", "supported", "1"), 0 for refuted (also "false", "no",
// "not entailed", "0"). Case, surrounding punctuation and whitespace are
// ignored. ok is false for anything else, which scores as wrong.
func TabFactLabel(s string) (label int, ok bool) {
	s = strings.ToLower(strings.TrimFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsPunct(r)
	}))
	s = strings.Join(strings.Fields(s), " ")
	switch s {
	case "entailed", "entail", "entails", "entailment", "true", "yes", "supported", "support", "supports", "1":
		return 1, true
	case "refuted", "refute", "refutes", "false", "no", "not entailed", "unsupported", "not supported", "0":
		return 0, true
	}
	return 0, false
}

type tabfactScorer struct{}

func (tabfactScorer) Score(ex *Example, p Prediction) Outcome {
	items := p.Items()
	// The gold answer ("entailed"/"refuted") decides; Label is the fallback,
	// so that a hand-built Example whose Label was left at zero still
	// scores by its answer.
	gold := ex.Label
	if len(ex.Answer) == 1 {
		if l, parsed := TabFactLabel(ex.Answer[0]); parsed {
			gold = l
		}
	}
	ok := false
	if gold >= 0 && len(items) == 1 {
		if l, parsed := TabFactLabel(items[0]); parsed && l == gold {
			ok = true
		}
	}
	return Outcome{Correct: ok, Score: boolScore(ok)}
}

func (tabfactScorer) Summarize(scored []Scored) Metrics { return MeanSummary(scored) }
