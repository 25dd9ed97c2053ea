package eval

import (
	"strings"
	"testing"
)

// The HTML report starts with a banner when requests failed, lists wrong
// answers with gold and prediction, shows errors in full and keeps its
// chart legend inside the chart.
func TestReportHTML(t *testing.T) {
	exs := []Example{
		{ID: "q1", Benchmark: WTQ, Question: "how many?", Answer: []string{"3"}, Label: -1},
		{ID: "q2", Benchmark: WTQ, Question: "which year?", Answer: []string{"1999"}, Label: -1},
		{ID: "q3", Benchmark: WTQ, Question: "who?", Answer: []string{"ann"}, Label: -1},
		{ID: "q4", Benchmark: WTQ, Question: "where?", Answer: []string{"oslo"}, Label: -1},
	}
	long := "Traceback: " + strings.Repeat("frame ", 200) + "THE-CAUSE"
	sample := func(ex *Example, pred string, failure, detail string) Sample {
		s := Sample{Bench: WTQ, ID: ex.ID, Paradigm: "text", Failure: failure, Prediction: Text(ex.ID, pred)}
		if pred == "" {
			s.Prediction = Prediction{ID: ex.ID}
		}
		if detail != "" {
			s.Exec = &ExecInfo{Status: failure, Detail: detail}
		}
		s.Outcome, _ = ScoreExample(ex, s.Prediction)
		return s
	}
	for _, tc := range []struct {
		name    string
		samples []Sample
		banner  string
		want    []string
	}{
		{"requests failed", []Sample{
			sample(&exs[0], "3", "", ""),
			sample(&exs[1], "2001", "", ""),
			sample(&exs[2], "", FailRejected, "the prompt has 625 tokens; this model's maximum context length is 512"),
			sample(&exs[3], "", "runtime_error", long),
		}, "1 of 4 samples got no answer from the model", []string{
			"request_rejected: 1", "625 tokens", // the banner names the kind and the first error
			"<td>which year?</td><td>1999</td><td>2001</td>", // a wrong answer with gold and prediction
			"THE-CAUSE", // the error in full
		}},
		{"all answered", []Sample{
			sample(&exs[0], "3", "", ""), sample(&exs[1], "3", "", ""), sample(&exs[2], "ann", "", ""), sample(&exs[3], "oslo", "", ""),
		}, "", []string{"<td>which year?</td><td>1999</td><td>3</td>"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep := BuildReport(exs, tc.samples, 1)
			h, err := rep.HTML()
			if err != nil {
				t.Fatal(err)
			}
			body := h[strings.Index(h, "<body>"):]
			if tc.banner != "" && !strings.HasPrefix(body, "<body>\n<div class=\"banner\"") || !strings.Contains(body, tc.banner) {
				t.Errorf("want a banner %q first in the page:\n%.600s", tc.banner, body)
			}
			if tc.banner == "" && strings.Contains(body, `class="banner"`) {
				t.Errorf("a banner without failed requests")
			}
			for _, w := range tc.want {
				if !strings.Contains(h, w) {
					t.Errorf("report lacks %q", w)
				}
			}
			if strings.Contains(h, "overflow-x:auto") || strings.Contains(h, "overflow:auto") {
				t.Error("errors in a scroll box")
			}
		})
	}
}

// The accuracy chart is as wide as its legend row even for one benchmark.
func TestAccuracyChartLegendFits(t *testing.T) {
	for n := 1; n <= 3; n++ {
		rep := &Report{}
		for i := 0; i < n; i++ {
			rep.Benchmarks = append(rep.Benchmarks, BenchReport{Benchmark: "wtq", Metrics: Metrics{"accuracy": 0.5}})
		}
		c := rep.accuracyChart()
		for _, tx := range c.Texts {
			// A legend label is at most ~8 characters of 12px text.
			if tx.Anchor == "start" && tx.X+8*7 > c.W {
				t.Errorf("%d benchmarks: legend %q at x=%v runs past the chart's width %v", n, tx.Text, tx.X, c.W)
			}
		}
	}
}
