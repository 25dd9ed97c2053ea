package eval

import (
	"encoding/json"
	"testing"
)

// goldPredictions turns each example's gold answer into a prediction, the
// way a user would feed gold to the official scorer: the typed answer_raw
// where the scorer reads it (HiTab, TAT-QA), the answer list elsewhere.
func goldPredictions(exs []Example) []Prediction {
	out := make([]Prediction, len(exs))
	for i, e := range exs {
		p := List(e.ID, e.Answer)
		switch e.Benchmark {
		case HiTab:
			p.Value = e.Meta["answer_raw"]
		case TATQA:
			p.Value = e.Meta["answer_raw"]
			p.Scale = e.MetaString("scale")
		case TableBench, FeTaQA:
			p = Text(e.ID, e.Answer[0])
		}
		out[i] = p
	}
	return out
}

func TestGoldAsPredictions(t *testing.T) {
	for _, tc := range []struct {
		bench string
		want  Metrics
	}{
		{WTQ, Metrics{"accuracy": 1}},
		{TabFact, Metrics{"accuracy": 1}},
		{HiTab, Metrics{"accuracy": 1}},
		{AITQA, Metrics{"accuracy": 1}},
		{TableBench, Metrics{"em": 1, "em_with_error_10": 1, "rouge_l": 1, "accuracy": 1}},
		{TATQA, nil},
		{FeTaQA, Metrics{"accuracy": 1, "rouge_l": 1, "bleu": 100}},
	} {
		t.Run(tc.bench, func(t *testing.T) {
			exs := loadBench(t, tc.bench)
			res, err := ScorePredictions(tc.bench, exs, goldPredictions(exs))
			if err != nil {
				t.Fatal(err)
			}
			if res.N != len(exs) || res.Metrics["missing"] != 0 || res.Metrics["unknown"] != 0 {
				t.Fatalf("scored %d of %d (missing %v, unknown %v)", res.N, len(exs), res.Metrics["missing"], res.Metrics["unknown"])
			}
			if tc.bench == TATQA {
				// The official quirk: a gold answer that is falsy (0)
				// scores 0 as a prediction.
				falsy := 0
				for _, e := range exs {
					if !pyTruthy(e.Meta["answer_raw"]) {
						falsy++
					}
				}
				want := 1 - float64(falsy)/float64(len(exs))
				if res.Metrics["em"] != want || res.Metrics["f1"] != want || res.Metrics["scale"] != want {
					t.Errorf("TAT-QA gold: em %v f1 %v scale %v, want %v each (%d falsy gold answers)", res.Metrics["em"], res.Metrics["f1"], res.Metrics["scale"], want, falsy)
				}
				return
			}
			for k, w := range tc.want {
				if d := res.Metrics[k] - w; d > 1e-9 || d < -1e-9 {
					t.Errorf("%s: got %v, want %v", k, res.Metrics[k], w)
				}
			}
		})
	}
}

func TestTATQAFalsyPredictions(t *testing.T) {
	ex := &Example{ID: "q", Benchmark: TATQA, Answer: []string{"0"},
		Meta: map[string]any{"answer_raw": json.Number("0"), "answer_type": "arithmetic", "scale": ""}}
	for _, v := range []any{nil, "", []any{}, json.Number("0"), json.Number("0.0")} {
		o, _ := ScoreExample(ex, Prediction{ID: "q", Value: v})
		if o.Score != 0 || o.Metrics["scale"] != 0 {
			t.Errorf("falsy prediction %#v scored %+v, want 0", v, o)
		}
	}
	o, _ := ScoreExample(ex, Prediction{ID: "q", Value: "0"})
	if o.Score != 1 {
		t.Errorf(`prediction "0" (a non-empty string) scored %v, want 1`, o.Score)
	}
}
