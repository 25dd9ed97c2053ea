package eval

import (
	"fmt"
	"sort"
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
	// Warnings name ids that were skipped (unknown to the data) or missing.
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
// The denominator follows the official scorer: for a PerLine benchmark
// (WTQ) every prediction line whose id is known is scored (duplicates twice)
// and gold examples without a prediction are not counted; for the other
// benchmarks every gold example is scored, a missing prediction as an empty
// one (wrong), and where an id has several predictions the last one is used. Unknown ids are skipped and
// reported in Warnings and in Metrics["unknown"].
func ScorePredictions(bench string, exs []Example, preds []Prediction) (*Result, error) {
	b, err := lookup(bench)
	if err != nil {
		return nil, err
	}
	idx, err := indexByID(exs)
	if err != nil {
		return nil, err
	}
	res := &Result{Benchmark: bench}
	unknown, missing := 0, 0
	add := func(ex *Example, p Prediction) {
		o := b.Scorer.Score(ex, p)
		o.ID = ex.ID
		res.Scored = append(res.Scored, Scored{Example: ex, Prediction: p, Outcome: o})
	}
	if b.PerLine {
		for _, p := range preds {
			i, ok := idx[p.ID]
			if !ok {
				unknown++
				res.Warnings = append(res.Warnings, fmt.Sprintf("prediction for unknown id %q skipped", p.ID))
				continue
			}
			add(&exs[i], p)
		}
		seen := map[string]bool{}
		for _, p := range preds {
			seen[p.ID] = true
		}
		for _, e := range exs {
			if !seen[e.ID] {
				missing++
			}
		}
	} else {
		byID := map[string]Prediction{}
		for _, p := range preds {
			if _, ok := idx[p.ID]; !ok {
				unknown++
				res.Warnings = append(res.Warnings, fmt.Sprintf("prediction for unknown id %q skipped", p.ID))
				continue
			}
			byID[p.ID] = p
		}
		for i := range exs {
			p, ok := byID[exs[i].ID]
			if !ok {
				missing++
				p = Prediction{ID: exs[i].ID}
			}
			add(&exs[i], p)
		}
	}
	if missing > 0 {
		res.Warnings = append(res.Warnings, fmt.Sprintf("%d of %d examples have no prediction", missing, len(exs)))
	}
	res.Metrics = b.Scorer.Summarize(res.Scored)
	res.N = len(res.Scored)
	res.Metrics["n"] = float64(res.N)
	res.Metrics["unknown"] = float64(unknown)
	res.Metrics["missing"] = float64(missing)
	return res, nil
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
