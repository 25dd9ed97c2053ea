package eval

import (
	"encoding/json"
	"testing"
)

// TAT-QA's F1 is the token-set overlap even when the prediction lacks the
// gold's numbers: the official metric switched DROP's number-match rule off.
// The expected values are what tatqa_metric.TaTQAEmAndF1 (TAT-QA @ 870accc4)
// gives for the same gold, prediction and scale.
func TestTATQAPartialCredit(t *testing.T) {
	cases := []struct {
		name       string
		typ        string
		gold       string // answer_raw as JSON
		goldScale  string
		pred       any
		predScale  string
		wantEM, f1 float64
	}{
		{"gold numbers the prediction lacks", "span", `["12 months ended 2019"]`, "", []any{"months ended"}, "", 0, 0.67},
		{"a year left out", "span", `["the Board of Directors in 2019"]`, "", []any{"the Board of Directors"}, "", 0, 0.75},
		{"one of two years", "multi-span", `["2018", "2019"]`, "", []any{"2019"}, "", 0, 0.67},
		{"multi-span without the years", "multi-span", `["Revenue 2019", "Cost 2019"]`, "", []any{"Revenue", "Cost"}, "", 0, 0.8},
		{"scale word kept on text", "span", `["fiscal 2019"]`, "million", []any{"fiscal"}, "million", 0, 0.8},
		{"no number in the gold", "span", `["Cash and cash equivalents"]`, "", []any{"cash equivalents"}, "", 0, 0.8},
		{"a gold read as one number", "span", `["$1.2 million in cash"]`, "", []any{"in cash"}, "", 0, 0},
		{"arithmetic: f1 is em", "arithmetic", `12.5`, "percent", "12", "percent", 0, 0},
		{"exact", "span", `["12 months ended 2019"]`, "", []any{"12 months ended 2019"}, "", 1, 1},
		{"falsy prediction", "span", `["2019"]`, "", "", "", 0, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			raw, err := decodeAny([]byte(c.gold))
			if err != nil {
				t.Fatal(err)
			}
			ex := &Example{ID: "q", Benchmark: TATQA, Meta: map[string]any{"answer_raw": raw, "answer_type": c.typ, "scale": c.goldScale}}
			o, err := ScoreExample(ex, Prediction{ID: "q", Value: c.pred, Scale: c.predScale})
			if err != nil {
				t.Fatal(err)
			}
			if o.Metrics["em"] != c.wantEM || o.Metrics["f1"] != c.f1 {
				pj, _ := json.Marshal(c.pred)
				t.Errorf("gold %s (%s) pred %s: em %v f1 %v, official em %v f1 %v", c.gold, c.typ, pj, o.Metrics["em"], o.Metrics["f1"], c.wantEM, c.f1)
			}
		})
	}
}
