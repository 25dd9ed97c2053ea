package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func sharedDataDir(t *testing.T) string {
	t.Helper()
	d := filepath.Join("..", "..", "..", "shared", "data")
	if _, err := os.Stat(d); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("shared data missing at %s: %v", d, err)
		}
		t.Skipf("shared data not found at %s", d)
	}
	return d
}

// Gold answers scored as predictions give accuracy 1 on WTQ; the TAT-QA
// sample prediction reproduces the official EM/F1/scale.
func TestScoreCommand(t *testing.T) {
	d := sharedDataDir(t)
	dir := t.TempDir()

	var wtq strings.Builder
	raw, err := os.ReadFile(filepath.Join(d, "wtq.dev.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		var r struct {
			ID     string   `json:"id"`
			Answer []string `json:"answer"`
		}
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(map[string]any{"id": r.ID, "prediction": r.Answer})
		wtq.Write(append(b, '\n'))
	}
	wtqPreds := filepath.Join(dir, "wtq.jsonl")
	if err := os.WriteFile(wtqPreds, []byte(wtq.String()), 0o644); err != nil {
		t.Fatal(err)
	}

	var tat strings.Builder
	raw, err = os.ReadFile(filepath.Join(d, "fixtures", "tatqa_sample_prediction_dev_subset.json"))
	if err != nil {
		t.Fatal(err)
	}
	var pm map[string][2]any
	if err := json.Unmarshal(raw, &pm); err != nil {
		t.Fatal(err)
	}
	for id, v := range pm {
		b, _ := json.Marshal(map[string]any{"id": id, "prediction": v[0], "scale": v[1]})
		tat.Write(append(b, '\n'))
	}
	tatPreds := filepath.Join(dir, "tat.jsonl")
	if err := os.WriteFile(tatPreds, []byte(tat.String()), 0o644); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		args []string
		want map[string]float64
	}{
		{[]string{"--bench", "wtq", "--data", filepath.Join(d, "wtq.dev.jsonl"), "--predictions", wtqPreds},
			map[string]float64{"accuracy": 1, "n": 200}},
		{[]string{"--bench", "wtq", "--data", filepath.Join(d, "raw", "wtq"), "--split", "pristine-seen-tables", "--predictions", wtqPreds},
			map[string]float64{"accuracy": 1, "n": 200}},
		{[]string{"--bench", "tatqa", "--data", d, "--split", "dev", "--predictions", tatPreds},
			map[string]float64{"accuracy": 0.40196, "em": 0.40196, "f1": 0.56078, "scale": 0.91667, "n": 204}},
	} {
		code, out, errs := runCmd(t, append([]string{"score", "--json"}, tc.args...)...)
		if code != 0 {
			t.Fatalf("score %q: exit %d: %s", tc.args, code, errs)
		}
		var got map[string]any
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatalf("score --json printed %q: %v", out, err)
		}
		for k, w := range tc.want {
			g, _ := got[k].(float64)
			if d := g - w; d > 5e-6 || d < -5e-6 {
				t.Errorf("score %q: %s = %v, want %v", tc.args, k, got[k], w)
			}
		}
	}

	// A duplicated id, and a prediction in Latin-1 ("é" as one byte).
	dupPreds := filepath.Join(dir, "dup.jsonl")
	first := strings.SplitAfter(wtq.String(), "\n")[0]
	if err := os.WriteFile(dupPreds, []byte(wtq.String()+first), 0o644); err != nil {
		t.Fatal(err)
	}
	latin1Preds := filepath.Join(dir, "latin1.jsonl")
	if err := os.WriteFile(latin1Preds, []byte(first+"{\"id\": \"x\", \"prediction\": \"caf\xe9\"}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	latin1Data := filepath.Join(dir, "latin1.data.jsonl")
	if err := os.WriteFile(latin1Data, []byte("{\"id\": \"x\", \"benchmark\": \"wtq\", \"question\": \"caf\xe9?\", \"answer\": [\"1\"]}\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	// Counts print as integers; unknown and missing ids are one line each.
	half := strings.SplitAfter(wtq.String(), "\n")[:100]
	partial := filepath.Join(dir, "partial.jsonl")
	extra := ""
	for i := 0; i < 5; i++ {
		extra += fmt.Sprintf("{\"id\": \"nope-%d\", \"prediction\": \"x\"}\n", i)
	}
	if err := os.WriteFile(partial, []byte(strings.Join(half, "")+extra), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, bench := range []string{"wtq"} {
		code, out, errs := runCmd(t, "score", "--bench", bench, "--data", filepath.Join(d, "wtq.dev.jsonl"), "--predictions", partial)
		if code != 0 {
			t.Fatalf("score partial: exit %d: %s", code, errs)
		}
		if !strings.Contains(out, "(n=100, unknown=5, missing=100)") || strings.Contains(out, "missing ") || strings.Contains(out, "unknown ") {
			t.Errorf("score partial printed %q, want integer counts n=100 unknown=5 missing=100", out)
		}
		if lines := strings.Count(errs, "\n"); lines != 2 || !strings.Contains(errs, "5 predictions have ids the data does not have") ||
			!strings.Contains(errs, "100 of 200 examples have no prediction") {
			t.Errorf("score partial warned %d lines: %q, want one line for unknown ids and one for missing", lines, errs)
		}
		_, out, _ = runCmd(t, "score", "--json", "--bench", bench, "--data", filepath.Join(d, "wtq.dev.jsonl"), "--predictions", partial)
		if !strings.Contains(out, `"n":100`) || !strings.Contains(out, `"missing":100`) || !strings.Contains(out, `"unknown":5`) {
			t.Errorf("score --json printed %q, want integer counts", out)
		}
	}

	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"--bench", "nope", "--data", "x", "--predictions", "y"}, 2, "unknown benchmark"},
		{[]string{"--bench", "wtq", "--predictions", "y"}, 2, "--data is required"},
		{[]string{"--bench", "wtq", "--data", filepath.Join(d, "wtq.dev.jsonl"), "--predictions", filepath.Join(dir, "missing.jsonl")}, 1, "opening predictions"},
		{[]string{"--bench", "wtq", "--data", filepath.Join(d, "wtq.dev.jsonl"), "--predictions", dupPreds}, 1, "given more than once"},
		{[]string{"--bench", "wtq", "--data", filepath.Join(d, "wtq.dev.jsonl"), "--predictions", latin1Preds}, 1, "invalid UTF-8"},
		{[]string{"--bench", "wtq", "--data", latin1Data, "--predictions", wtqPreds}, 1, "latin1.data.jsonl:1: invalid UTF-8"},
	} {
		code, _, errs := runCmd(t, append([]string{"score"}, tc.args...)...)
		if code != tc.code || !strings.Contains(errs, tc.msg) {
			t.Errorf("score %q: exit %d, stderr %q; want %d and %q", tc.args, code, errs, tc.code, tc.msg)
		}
	}
}
