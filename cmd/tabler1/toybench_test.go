package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"tabler1/eval"
	"tabler1/rollout"
	"tabler1/trainer"
)

// A benchmark defined in one file: its row (native loader, scorer) and the
// Register call. Nothing else in tabler1 names it, yet loading, scoring,
// prompting, training data and the command line's name checks all take it.

// toyNative reads <split>.tsv under root: id, question, answer per line.
func toyNative(root, split string) ([]eval.Example, error) {
	b, err := os.ReadFile(filepath.Join(root, split+".tsv"))
	if err != nil {
		return nil, err
	}
	var out []eval.Example
	for i, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.Split(line, "\t")
		if len(f) != 3 {
			return nil, fmt.Errorf("line %d: %d fields, want id, question, answer", i+1, len(f))
		}
		out = append(out, eval.Example{ID: f[0], Benchmark: "toy", Split: split, Task: "short_answer_qa",
			Question: f[1], Answer: []string{f[2]}, Label: -1})
	}
	return out, nil
}

// toyScorer: the first item equals the gold answer, case aside.
type toyScorer struct{}

func (toyScorer) Score(ex *eval.Example, p eval.Prediction) eval.Outcome {
	items := p.Items()
	ok := len(items) > 0 && len(ex.Answer) > 0 && strings.EqualFold(items[0], ex.Answer[0])
	s := 0.0
	if ok {
		s = 1
	}
	return eval.Outcome{Correct: ok, Score: s}
}

func (toyScorer) Summarize(scored []eval.Scored) eval.Metrics { return eval.MeanSummary(scored) }

func init() {
	if err := eval.Register(eval.Benchmark{Name: "toy", Native: toyNative, Scorer: toyScorer{}}); err != nil {
		panic(err)
	}
}

func TestToyBenchmark(t *testing.T) {
	dir := t.TempDir()
	native := filepath.Join(dir, "native")
	uniform := filepath.Join(dir, "uniform")
	for _, d := range []string{native, uniform} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write := func(path, s string) string {
		if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	write(filepath.Join(native, "test.tsv"), "q1\tcapital of France?\tParis\nq2\t2+2?\t4\nq3\tcolour of the sky?\tblue\n")
	write(filepath.Join(native, "train.tsv"), "t1\t1+1?\t2\n")
	var uni strings.Builder
	for _, r := range [][3]string{{"q1", "capital of France?", "Paris"}, {"q2", "2+2?", "4"}, {"q3", "colour of the sky?", "blue"}} {
		b, _ := json.Marshal(map[string]any{"id": r[0], "benchmark": "toy", "split": "test", "task": "short_answer_qa", "question": r[1], "answer": []string{r[2]}})
		uni.Write(append(b, '\n'))
	}
	write(filepath.Join(uniform, "toy.test.jsonl"), uni.String())
	preds := write(filepath.Join(dir, "preds.jsonl"), `{"id":"q1","prediction":"PARIS"}`+"\n"+`{"id":"q2","prediction":["5"]}`+"\n")

	// Loading (native and uniform) and scoring, through tabler1 score.
	for _, data := range []string{native, uniform, filepath.Join(uniform, "toy.test.jsonl")} {
		code, out, errs := runCmd(t, "score", "--json", "--bench", "toy", "--data", data, "--predictions", preds)
		if code != 0 {
			t.Fatalf("score --data %s: exit %d: %s", data, code, errs)
		}
		var got map[string]any
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatalf("score --json printed %q: %v", out, err)
		}
		if acc, _ := got["accuracy"].(float64); got["n"] != 3.0 || got["missing"] != 1.0 || acc < 0.333 || acc > 0.334 {
			t.Errorf("score --data %s: %s, want n 3, missing 1, accuracy 1/3", data, out)
		}
	}

	// The command line knows the name from the table, and still refuses
	// unknown ones.
	if code, out, _ := runCmd(t, "score", "--help"); code != 0 || !strings.Contains(out, "toy") {
		t.Errorf("score --help: exit %d, does not list toy: %s", code, out)
	}
	for _, args := range [][]string{
		{"distill", "--bench", "toy,nope", "--endpoint", "http://127.0.0.1:1/v1", "--model", "m", "--data", preds, "--out", filepath.Join(dir, "sft.jsonl")},
		{"eval", "--bench", "toy,nope", "--endpoint", "http://127.0.0.1:1/v1", "--model", "m", "--data", preds, "--out", filepath.Join(dir, "out")},
		{"score", "--bench", "nope", "--data", native, "--predictions", preds},
	} {
		code, _, errs := runCmd(t, args...)
		if code != 2 || !strings.Contains(errs, `unknown benchmark "nope"`) || !strings.Contains(errs, "toy") {
			t.Errorf("%s: exit %d, stderr %q; want exit 2 naming nope and listing toy", args[0], code, errs)
		}
	}
	// eval accepts the name and gets as far as loading the data.
	code, _, errs := runCmd(t, "eval", "--bench", "toy", "--endpoint", "http://127.0.0.1:1/v1", "--model", "m", "--data", filepath.Join(dir, "absent.jsonl"), "--out", filepath.Join(dir, "out"))
	if code != 1 || !strings.Contains(errs, "absent.jsonl") {
		t.Errorf("eval --bench toy: exit %d, stderr %q; want the missing data file reported", code, errs)
	}

	// Training reads the table's default training split; prompts and
	// predictions take the table's defaults.
	items, err := trainer.LoadSource(trainer.SourceConfig{Benchmark: "toy", Path: native})
	if err != nil || len(items) != 1 || items[0].ID != "toy:t1" || items[0].Task != rollout.TaskQA {
		t.Errorf("trainer.LoadSource: %+v, %v; want the one train.tsv question as a QA item", items, err)
	}
	ex := &eval.Example{ID: "q1", Benchmark: "toy", Question: "capital of France?"}
	if q := eval.PromptQuestion(ex); q.Task != rollout.TaskQA || q.Bench != "toy" {
		t.Errorf("PromptQuestion: %+v", q)
	}
	if p := eval.PredictionFor(ex, []string{"Paris", "Lyon"}); len(p.Items()) != 2 {
		t.Errorf("PredictionFor: %+v, want a list", p)
	}
	if !eval.IsEvalSplit("toy", "test") || eval.IsEvalSplit("toy", "train") || eval.DefaultSplit("toy") != "test" {
		t.Error("the toy's splits are not the table's defaults")
	}
}
