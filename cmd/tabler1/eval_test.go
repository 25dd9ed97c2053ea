package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"tabler1/episode"
	"tabler1/eval"
	"tabler1/layouts"
	"tabler1/model"
	"tabler1/rollout"
	"tabler1/rollout/openaitest"
)

// tabler1 eval against a fake OpenAI server that answers every TabFact
// statement "entailed": accuracy is the share of entailed statements; a
// rerun resumes from the cache without a request.
func TestEvalCommand(t *testing.T) {
	d := sharedDataDir(t)
	srv := openaitest.NewServer(openaitest.Config{Script: func(req openaitest.Request, i int) openaitest.Choice {
		return openaitest.Choice{Text: "The table shows it.\nAnswer: entailed"}
	}})
	defer srv.Close()
	out := t.TempDir()
	args := []string{"eval", "--endpoint", srv.URL, "--model", "fake-model", "--server", "embedded", "--bench", "tabfact",
		"--data", filepath.Join(d, "tabfact.dev.jsonl"), "--mode", "text", "--limit", "30", "--seed", "2", "--out", out}
	code, stdout, stderr := runCmd(t, args...)
	if code != 0 {
		t.Fatalf("eval: exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "tabfact") || !strings.Contains(stderr, "30/30 samples") {
		t.Errorf("stdout %q stderr %q: want a tabfact line and progress", stdout, stderr)
	}
	var rep struct {
		Benchmarks []struct {
			Metrics map[string]float64 `json:"metrics"`
		} `json:"benchmarks"`
	}
	b, err := os.ReadFile(filepath.Join(out, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	// The same accuracy from the written predictions through tabler1 score.
	code, sout, serr := runCmd(t, "score", "--json", "--bench", "tabfact", "--data", filepath.Join(d, "tabfact.dev.jsonl"),
		"--predictions", filepath.Join(out, "predictions", "tabfact.predictions.jsonl"))
	if code != 0 {
		t.Fatalf("score: %s", serr)
	}
	var sc map[string]float64
	_ = json.Unmarshal([]byte(sout), &sc)
	acc := rep.Benchmarks[0].Metrics["accuracy"]
	if acc <= 0 || acc >= 1 {
		t.Errorf("accuracy %v: want a fraction strictly between 0 and 1 (entailed share)", acc)
	}
	// score reads all 203 gold examples (the missing ones wrong), eval ran 30.
	if sc["n"] != 203 || sc["missing"] != 173 {
		t.Errorf("score of the eval predictions: %v", sc)
	}
	for _, f := range []string{"report.html", "report.md", "samples.jsonl", "predictions/tabfact.predictions.json"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
	before := srv.Stats().Requests
	if code, _, stderr := runCmd(t, args...); code != 0 {
		t.Fatalf("rerun: exit %d: %s", code, stderr)
	}
	if n := srv.Stats().Requests - before; n != 0 {
		t.Errorf("rerun sent %d requests, want 0 (all cached)", n)
	}
	code, _, stderr = runCmd(t, append(args, "--temperature", "0.5")...)
	if code == 0 || !strings.Contains(stderr, "other settings") {
		t.Errorf("rerun with another temperature into the same --out: exit %d, %q; want a refusal", code, stderr)
	}
	code, _, stderr = runCmd(t, "eval", "--model", "m", "--data", "x", "--out", out)
	if code != 2 || !strings.Contains(stderr, "no endpoint") {
		t.Errorf("eval without --endpoint: exit %d, %q", code, stderr)
	}
}

// tabler1 eval --checkpoint serves an embedded-model checkpoint in-process
// and evaluates it end to end (an untrained model: the figures are not the
// point, the pipeline is).
func TestEvalCheckpoint(t *testing.T) {
	d := sharedDataDir(t)
	m, err := model.New(model.SmokeConfig(), 1)
	if err != nil {
		t.Fatal(err)
	}
	ckpt := t.TempDir()
	if err := m.Save(ckpt); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	code, stdout, stderr := runCmd(t, "eval", "--checkpoint", ckpt, "--bench", "tabfact", "--data", filepath.Join(d, "tabfact.dev.jsonl"),
		"--mode", "text", "--limit", "2", "--max-tokens", "8", "--preview-rows", "2", "--out", out)
	if code != 0 {
		t.Fatalf("eval --checkpoint: exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "tabfact    n=2") {
		t.Errorf("stdout %q: want a tabfact line over 2 examples", stdout)
	}
	b, err := os.ReadFile(filepath.Join(out, "samples.jsonl"))
	if err != nil || strings.Count(string(b), "\n") != 2 || strings.Contains(string(b), "request_error") {
		t.Errorf("samples.jsonl: %v, %q; want 2 answered samples", err, b)
	}
}

// Every configs/eval*.yaml parses and, with its paths, passes validation.
func TestEvalConfigs(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("..", "..", "configs", "eval*.yaml"))
	if len(files) == 0 {
		t.Fatal("no configs/eval*.yaml")
	}
	for _, f := range files {
		rc, err := eval.LoadRunConfig(f)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if rc.Checkpoint != "" {
			rc.Endpoints = []string{"http://127.0.0.1:1/v1"}
			rc.Model = "tabler1-tiny"
		}
		if err := rc.Validate(); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}

// A checkpoint inside a run directory is evaluated with the prompts it was
// trained on: the run's compact template and preview rows, a preview cut
// to leave room for an answer, and max_tokens what the context leaves.
func TestEvalCheckpointTrainedPrompts(t *testing.T) {
	d := sharedDataDir(t)
	m, err := model.New(model.SmokeConfig(), 1)
	if err != nil {
		t.Fatal(err)
	}
	run := t.TempDir()
	ckpt := filepath.Join(run, "checkpoints", "step-3")
	if err := m.Save(ckpt); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("step-3", filepath.Join(run, "checkpoints", "latest")); err != nil {
		t.Fatal(err)
	}
	cfg := "rollout:\n  template: compact\n  preview_rows: 4\n  max_tokens: 40\n"
	if err := os.WriteFile(filepath.Join(run, "config.yaml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	code, stdout, stderr := runCmd(t, "eval", "--checkpoint", filepath.Join(run, "checkpoints", "latest"), "--bench", "wtq",
		"--data", filepath.Join(d, "wtq.dev.jsonl"), "--mode", "text", "--limit", "3", "--out", out)
	if code != 0 {
		t.Fatalf("eval --checkpoint: exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "wtq        n=3") {
		t.Errorf("stdout %q: want a wtq line over 3 examples", stdout)
	}
	b, err := os.ReadFile(filepath.Join(out, "samples.jsonl"))
	if err != nil || strings.Count(string(b), "\n") != 3 || strings.Contains(string(b), "request_") {
		t.Errorf("samples.jsonl: %v, %q; want 3 answered samples", err, b)
	}
	meta, err := os.ReadFile(filepath.Join(out, eval.CacheMetaFile))
	want := []string{`"template":"compact"`, `"preview_rows":4`, fmt.Sprintf(`"max_tokens":%d`, model.SmokeConfig().Context), "step-3"}
	for _, w := range want {
		if err != nil || !strings.Contains(string(meta), w) {
			t.Errorf("eval settings %s (%v): want %s", meta, err, w)
		}
	}
	// When latest moves to a newer checkpoint, the cached answers of the
	// old one are not reused.
	if err := m.Save(filepath.Join(run, "checkpoints", "step-4")); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(run, "checkpoints", "latest")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("step-4", filepath.Join(run, "checkpoints", "latest")); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = runCmd(t, "eval", "--checkpoint", filepath.Join(run, "checkpoints", "latest"), "--bench", "wtq",
		"--data", filepath.Join(d, "wtq.dev.jsonl"), "--mode", "text", "--limit", "3", "--out", out)
	if code == 0 || !strings.Contains(stderr, "other settings") {
		t.Errorf("eval of a newer checkpoint into the same --out: exit %d, %q; want a refusal", code, stderr)
	}
}

// The compact prompter shows fewer rows where the preview would not leave
// room for an answer.
func TestCompactPrompterFits(t *testing.T) {
	tab := &layouts.Table{Header: [][]string{{"name", "value"}}}
	for i := 0; i < 10; i++ {
		tab.Rows = append(tab.Rows, []string{strings.Repeat("x", 40), "1"})
	}
	q := rollout.Question{ID: "q", Task: episode.TaskQA, Question: "which?", Table: tab}
	for _, tc := range []struct {
		budget, rows int
	}{{0, 10}, {1000, 10}, {200, 3}, {10, 1}} {
		p, _, err := compactPrompter{rows: 10, budget: tc.budget}.Prompt(q, "")
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Count(p, "x|1\n"); got != tc.rows {
			t.Errorf("budget %d: %d rows shown, want %d:\n%s", tc.budget, got, tc.rows, p)
		}
		if tc.rows < 10 && !strings.Contains(p, "(10 rows)") {
			t.Errorf("budget %d: the prompt does not give the table's length:\n%s", tc.budget, p)
		}
	}
}

// configs/eval-smoke.yaml runs as written from the repository root, on a
// smoke-sized checkpoint in a run directory laid out as training writes it
// (checkpoints/latest, config.yaml).
func TestEvalSmokeConfigAsWritten(t *testing.T) {
	sharedDataDir(t)
	distillNeedsPandas(t)
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	run := t.TempDir()
	m, err := model.New(model.Config{Layers: 2, Width: 64, Heads: 4, MLP: 256, Context: 512}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Save(filepath.Join(run, "checkpoints", "step-1")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("step-1", filepath.Join(run, "checkpoints", "latest")); err != nil {
		t.Fatal(err)
	}
	smoke, err := os.ReadFile(filepath.Join(root, "configs", "smoke.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(run, "config.yaml"), smoke, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(root)
	out := filepath.Join(run, "eval")
	code, stdout, stderr := runCmd(t, "eval", "--config", "configs/eval-smoke.yaml", "--checkpoint", filepath.Join(run, "checkpoints", "latest"),
		"--bench", "wtq,tabfact", "--limit", "2", "--out", out)
	if code != 0 {
		t.Fatalf("eval --config configs/eval-smoke.yaml: exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "wtq        n=2") || !strings.Contains(stdout, "tabfact    n=2") {
		t.Errorf("stdout %q", stdout)
	}
	meta, err := os.ReadFile(filepath.Join(out, eval.CacheMetaFile))
	if err != nil || !strings.Contains(string(meta), `"template":"compact"`) || !strings.Contains(string(meta), `"max_tokens":512`) {
		t.Errorf("eval settings %s (%v): want the compact template and max_tokens 512", meta, err)
	}
}
