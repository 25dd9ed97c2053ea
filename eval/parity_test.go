package eval

import (
	"bufio"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// sharedData is ../shared/data relative to the repository root.
func sharedData(t testing.TB) string {
	t.Helper()
	d := filepath.Join("..", "..", "shared", "data")
	if _, err := os.Stat(d); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("shared data missing at %s: %v", d, err)
		}
		t.Skipf("shared data not found at %s (tests read the dev samples from ../shared/data)", d)
	}
	return d
}

// benchCache keeps each dev sample once per test binary: decoding them
// (HiTab's tables above all) dominates the run time under -race.
var benchCache sync.Map // bench -> []Example

// loadBench returns a copy of the slice of bench's dev examples; examples
// share their tables and meta, which tests must not modify.
func loadBench(t testing.TB, bench string) []Example {
	t.Helper()
	if v, ok := benchCache.Load(bench); ok {
		return append([]Example(nil), v.([]Example)...)
	}
	exs, err := LoadJSONL(filepath.Join(sharedData(t), bench+".dev.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	benchCache.Store(bench, exs)
	return append([]Example(nil), exs...)
}

// readJSONLines decodes each line of a JSONL file with numbers kept as
// json.Number.
func readJSONLines(t testing.TB, path string) []map[string]any {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, maxLine)
	var out []map[string]any
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		v, err := decodeAny(sc.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, v.(map[string]any))
	}
	return out
}

func byID(exs []Example) map[string]*Example {
	m := map[string]*Example{}
	for i := range exs {
		m[exs[i].ID] = &exs[i]
	}
	return m
}

func TestWTQOfficialParity(t *testing.T) {
	exs := byID(loadBench(t, WTQ))
	cases := readJSONLines(t, filepath.Join(sharedData(t), "fixtures", "wtq_eval_cases.jsonl"))
	if len(cases) != 1984 {
		t.Fatalf("got %d WTQ cases, want 1984", len(cases))
	}
	bad := 0
	for _, c := range cases {
		ex := exs[c["id"].(string)]
		if ex == nil {
			t.Fatalf("case %v: unknown id", c["case"])
		}
		o, err := ScoreExample(ex, Prediction{ID: ex.ID, Value: c["prediction"]})
		if err != nil {
			t.Fatal(err)
		}
		if o.Correct != c["expected_correct"].(bool) {
			bad++
			t.Errorf("case %v: prediction %q: got %v, official %v", c["case"], c["prediction"], o.Correct, c["expected_correct"])
		}
	}
	t.Logf("WTQ parity: %d/%d cases agree", len(cases)-bad, len(cases))
}

func TestHiTabOfficialParity(t *testing.T) {
	cases := readJSONLines(t, filepath.Join(sharedData(t), "fixtures", "hitab_eval_cases.jsonl"))
	if len(cases) != 2200 {
		t.Fatalf("got %d HiTab cases, want 2200", len(cases))
	}
	bad := 0
	for _, c := range cases {
		want, _ := c["expected_score"].(json.Number).Float64()
		if got := hmtScore(c["prediction"], c["gold"]); got != want {
			bad++
			t.Errorf("case %v: prediction %v gold %v: got %v, official %v", c["case"], c["prediction"], c["gold"], got, want)
		}
	}
	t.Logf("HiTab parity: %d/%d cases agree", len(cases)-bad, len(cases))
}

func TestTATQAOfficialParity(t *testing.T) {
	d := sharedData(t)
	exs := loadBench(t, TATQA)
	raw, err := os.ReadFile(filepath.Join(d, "fixtures", "tatqa_sample_prediction_dev_subset.json"))
	if err != nil {
		t.Fatal(err)
	}
	pm, err := decodeAny(raw)
	if err != nil {
		t.Fatal(err)
	}
	var preds []Prediction
	for uid, v := range pm.(map[string]any) {
		pair := v.([]any)
		scale, _ := pair[1].(string)
		preds = append(preds, Prediction{ID: uid, Value: pair[0], Scale: scale})
	}
	var want struct {
		EM          float64 `json:"official_exact_match"`
		F1          float64 `json:"official_f1"`
		Scale       float64 `json:"official_scale_score"`
		PerQuestion []struct {
			UID string  `json:"uid"`
			EM  float64 `json:"em"`
			F1  float64 `json:"f1"`
		} `json:"per_question"`
	}
	raw, err = os.ReadFile(filepath.Join(d, "fixtures", "tatqa_eval_expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	res, err := ScorePredictions(TATQA, exs, preds)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Outcome{}
	for _, s := range res.Scored {
		got[s.Example.ID] = s.Outcome
	}
	bad := 0
	for _, q := range want.PerQuestion {
		o := got[q.UID]
		if o.Metrics["em"] != q.EM || o.Metrics["f1"] != q.F1 {
			bad++
			ex := byID(exs)[q.UID]
			t.Errorf("%s (%s, gold %v scale %q): got em %v f1 %v, official em %v f1 %v; pred %v",
				q.UID, ex.MetaString("answer_type"), ex.Meta["answer_raw"], ex.MetaString("scale"),
				o.Metrics["em"], o.Metrics["f1"], q.EM, q.F1, pm.(map[string]any)[q.UID])
		}
	}
	for k, w := range map[string]float64{"em": want.EM, "f1": want.F1, "scale": want.Scale} {
		if math.Abs(res.Metrics[k]-w) > 1e-9 {
			t.Errorf("TAT-QA %s: got %.5f, official %.5f", k, res.Metrics[k], w)
		}
	}
	t.Logf("TAT-QA parity: %d/%d questions agree; em %.5f f1 %.5f scale %.5f", len(want.PerQuestion)-bad, len(want.PerQuestion), res.Metrics["em"], res.Metrics["f1"], res.Metrics["scale"])
}

func TestTableBenchOfficialParity(t *testing.T) {
	d := filepath.Join(sharedData(t), "fixtures", "tablebench_eval_examples")
	lines := readJSONLines(t, filepath.Join(d, "parsed_results_o3-mini-2025-01-31_TableBench_DP_Example.jsonl"))
	type agg struct{ n, em, tol, rouge, mix float64 }
	byType, bySub := map[string]*agg{}, map[string]*agg{}
	for _, l := range lines {
		qtype := l["qtype"].(string)
		if qtype == "Visualization" {
			continue
		}
		ex := &Example{ID: l["id"].(string), Benchmark: TableBench, Answer: []string{l["answer"].(string)},
			Meta: map[string]any{"qtype": qtype, "qsubtype": l["qsubtype"]}}
		pred := l["parsed_result"].(map[string]any)["parsed_prediction"].(string)
		o, err := ScoreExample(ex, Text(ex.ID, pred))
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{qtype, qtype + "_" + l["qsubtype"].(string)} {
			m := byType
			if k != qtype {
				m = bySub
			}
			if m[k] == nil {
				m[k] = &agg{}
			}
			m[k].n++
			m[k].em += o.Metrics["em"]
			m[k].tol += o.Metrics["em_with_error_10"]
			m[k].rouge += o.Metrics["rouge_l"]
			m[k].mix += o.Score
		}
	}
	var typeRes, subRes map[string]map[string]map[string]float64
	readJSON(t, filepath.Join(d, "llm_eval_type_results.json"), &typeRes)
	readJSON(t, filepath.Join(d, "llm_eval_subtype_results.json"), &subRes)
	check := func(got map[string]*agg, want map[string]map[string]float64) {
		for k, a := range got {
			w, ok := want[k]
			if !ok {
				t.Errorf("group %s not in the official results", k)
				continue
			}
			em := math.Round(a.em/a.n*100*100) / 100
			tol := math.Round(a.tol/a.n*100*100) / 100
			if em != w["EM"] || tol != w["EM_with_error_10"] || a.n != w["total"] {
				t.Errorf("%s: got EM %.2f EM_with_error_10 %.2f n %v, official %.2f %.2f %v", k, em, tol, a.n, w["EM"], w["EM_with_error_10"], w["total"])
			}
		}
	}
	check(byType, typeRes["o3-mini-2025-01-31/DP"])
	// ROUGE-L is the mean of F-measures, the official figure a bootstrap
	// median: equal where every F is 0 or 1, close elsewhere.
	for k, a := range byType {
		w := typeRes["o3-mini-2025-01-31/DP"][k]
		rouge := a.rouge / a.n * 100
		if math.Abs(rouge-w["ROUGE-L"]) > 0.5 {
			t.Errorf("%s: ROUGE-L %.2f, official (bootstrap) %.2f", k, rouge, w["ROUGE-L"])
		}
		if mix, ok := w["Mix_Metric"]; ok && math.Abs(a.mix/a.n*100-mix) > 0.5 {
			t.Errorf("%s: Mix_Metric %.2f, official %.2f", k, a.mix/a.n*100, mix)
		}
	}
	check(bySub, subRes["o3-mini-2025-01-31/DP"])
	t.Logf("TableBench: FC EM %.2f, NR EM %.2f, DA EM %.2f", byType["FactChecking"].em/byType["FactChecking"].n*100,
		byType["NumericalReasoning"].em/byType["NumericalReasoning"].n*100, byType["DataAnalysis"].em/byType["DataAnalysis"].n*100)
}

func readJSON(t testing.TB, path string, v any) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}
