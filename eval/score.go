package eval

import (
	"fmt"
	"sort"
	"strings"
)

// Outcome is the score of one prediction.
type Outcome struct {
	ID string `json:"id"`
	// Correct says whether the prediction counts as right for the
	// benchmark's accuracy (for FeTaQA: ROUGE-L F ≥ 0.5, for pass@k only).
	Correct bool `json:"correct"`
	// Score is the example's contribution to accuracy: 1 or 0 for the
	// exact-match benchmarks, a fraction for TableBench's ROUGE-L subtypes
	// and FeTaQA.
	Score float64 `json:"score"`
	// Metrics are the benchmark's other per-example metrics (em, f1, scale,
	// em_with_error_10, rouge_l).
	Metrics map[string]float64 `json:"metrics,omitempty"`
	// Group is the example's category for breakdowns (TableBench qtype,
	// TAT-QA answer_type), "" elsewhere.
	Group string `json:"group,omitempty"`
}

// Metrics are a benchmark's aggregate figures, fractions in [0, 1] except
// FeTaQA's "bleu" (0-100, as sacreBLEU prints it). Every benchmark has
// "accuracy".
type Metrics map[string]float64

// Scored pairs an example with a prediction and its outcome.
type Scored struct {
	Example    *Example
	Prediction Prediction
	Outcome    Outcome
}

// Result is a benchmark's predictions scored.
type Result struct {
	Benchmark string   `json:"benchmark"`
	N         int      `json:"n"`
	Metrics   Metrics  `json:"metrics"`
	Scored    []Scored `json:"-"`
	// Unknown counts predictions whose id the data does not have (skipped);
	// Missing counts examples without a prediction.
	Unknown int `json:"unknown"`
	Missing int `json:"missing"`
	// Warnings summarise the skipped and missing ids, one line each.
	Warnings []string `json:"warnings,omitempty"`
}

// ScoreExample scores one prediction against ex by ex's benchmark metric.
func ScoreExample(ex *Example, p Prediction) (Outcome, error) {
	b, err := lookup(ex.Benchmark)
	if err != nil {
		return Outcome{}, err
	}
	o := b.Scorer.Score(ex, p)
	o.ID = ex.ID
	return o, nil
}

// Summarize aggregates scored predictions of one benchmark into its metrics,
// with "n" the number scored.
func Summarize(bench string, scored []Scored) (Metrics, error) {
	b, err := lookup(bench)
	if err != nil {
		return nil, err
	}
	m := b.Scorer.Summarize(scored)
	m["n"] = float64(len(scored))
	return m, nil
}

// ScorePredictions scores preds against the examples of one benchmark.
//
// Every gold example is scored once, a missing prediction as an empty one
// (wrong). A prediction id given twice is an error: scoring it twice would
// change the denominator (n=201 of 200), and which of two answers counts is
// not the scorer's call. Unknown ids are skipped, counted in Unknown and
// summarised in one warning line. A PerLine benchmark (WTQ) keeps evaluator.py's denominator,
// the predictions scored: examples without a prediction are not counted.
func ScorePredictions(bench string, exs []Example, preds []Prediction) (*Result, error) {
	b, err := lookup(bench)
	if err != nil {
		return nil, err
	}
	idx, err := indexByID(exs)
	if err != nil {
		return nil, err
	}
	if err := checkDuplicatePredictions(preds); err != nil {
		return nil, err
	}
	res := &Result{Benchmark: bench}
	add := func(ex *Example, p Prediction) {
		o := b.Scorer.Score(ex, p)
		o.ID = ex.ID
		res.Scored = append(res.Scored, Scored{Example: ex, Prediction: p, Outcome: o})
	}
	byID := map[string]Prediction{}
	var unknown []string
	for _, p := range preds {
		if _, ok := idx[p.ID]; !ok {
			unknown = append(unknown, p.ID)
			continue
		}
		byID[p.ID] = p
	}
	for i := range exs {
		p, ok := byID[exs[i].ID]
		if !ok {
			res.Missing++
			if b.PerLine {
				continue
			}
			p = Prediction{ID: exs[i].ID}
		}
		add(&exs[i], p)
	}
	res.Unknown = len(unknown)
	if len(unknown) > 0 {
		res.Warnings = append(res.Warnings, fmt.Sprintf("%d predictions have ids the data does not have and were skipped (%s); check --bench, --data and --split", len(unknown), sampleIDs(unknown)))
	}
	if res.Missing > 0 {
		how := "scored as wrong"
		if b.PerLine {
			how = "not counted, as in evaluator.py"
		}
		res.Warnings = append(res.Warnings, fmt.Sprintf("%d of %d examples have no prediction (%s)", res.Missing, len(exs), how))
	}
	res.Metrics = b.Scorer.Summarize(res.Scored)
	res.N = len(res.Scored)
	res.Metrics["n"] = float64(res.N)
	res.Metrics["unknown"] = float64(res.Unknown)
	res.Metrics["missing"] = float64(res.Missing)
	return res, nil
}

// checkDuplicatePredictions refuses a prediction id given more than once,
// naming the first few.
func checkDuplicatePredictions(preds []Prediction) error {
	seen := make(map[string]bool, len(preds))
	var dups []string
	for _, p := range preds {
		if seen[p.ID] {
			dups = append(dups, p.ID)
		}
		seen[p.ID] = true
	}
	if len(dups) > 0 {
		return fmt.Errorf("%d prediction ids are given more than once (%s): keep one prediction per id", len(dups), sampleIDs(dups))
	}
	return nil
}

// sampleIDs quotes the first few ids of a list for a one-line message.
func sampleIDs(ids []string) string {
	const show = 3
	var b strings.Builder
	for i, id := range ids {
		if i == show {
			fmt.Fprintf(&b, ", ... %d more", len(ids)-show)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%q", id)
	}
	return b.String()
}

// MeanSummary is the summary of the exact-match benchmarks: accuracy is the
// mean Score, and each per-example metric is averaged.
func MeanSummary(scored []Scored) Metrics {
	m := Metrics{"accuracy": 0}
	if len(scored) == 0 {
		return m
	}
	sums := map[string]float64{}
	total := 0.0
	for _, s := range scored {
		total += s.Outcome.Score
		for k, v := range s.Outcome.Metrics {
			sums[k] += v
		}
	}
	m["accuracy"] = total / float64(len(scored))
	keys := make([]string, 0, len(sums))
	for k := range sums {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		m[k] = sums[k] / float64(len(scored))
	}
	return m
}

func boolScore(ok bool) float64 {
	if ok {
		return 1
	}
	return 0
}
