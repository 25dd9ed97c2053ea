package main

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"tabler1/rollout/openaitest"
	"tabler1/trainer"
)

func distillNeedsPandas(t *testing.T) {
	t.Helper()
	py := os.Getenv("TABLER1_PYTHON")
	if py == "" {
		py = "/usr/bin/python3"
	}
	if err := exec.Command(py, "-c", "import pandas").Run(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s lacks pandas: %v (run scripts/setup.sh)", py, err)
		}
		t.Skipf("%s lacks pandas (%v); run scripts/setup.sh", py, err)
	}
}

// tabler1 distill against a fake teacher that prints the gold answer for
// every other question and a wrong one for the rest: only the correct ones
// are kept, up to the per-dataset cap, after running in the real sandbox.
func TestDistillCommand(t *testing.T) {
	d := sharedDataDir(t)
	distillNeedsPandas(t)
	data := filepath.Join(d, "wtq.dev.jsonl")
	gold := map[string][]string{}
	f, err := os.Open(data)
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var r struct {
			Question string   `json:"question"`
			Answer   []string `json:"answer"`
		}
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		gold[r.Question] = r.Answer
	}
	f.Close()
	srv := openaitest.NewServer(openaitest.Config{Script: func(req openaitest.Request, i int) openaitest.Choice {
		p := req.Messages[0].Content
		q := p[strings.Index(p, "Question: ")+10:]
		q = q[:strings.IndexByte(q, '\n')]
		ans, _ := json.Marshal(gold[q])
		if len(q)%2 == 0 {
			ans = []byte(`["certainly not the answer"]`)
		}
		return openaitest.Choice{Text: "```python\nimport json\nprint(json.dumps(" + string(ans) + "))\n```"}
	}})
	defer srv.Close()
	out := filepath.Join(t.TempDir(), "sft.jsonl")
	code, stdout, stderr := runCmd(t, "distill", "--endpoint", srv.URL, "--model", "teacher", "--bench", "wtq", "--data", data,
		"--limit", "12", "--seed", "1", "--max-per-dataset", "3", "--sandbox-workers", "1", "--concurrency", "4", "--preview-rows", "2", "--out", out)
	if code != 0 {
		t.Fatalf("distill: exit %d: %s", code, stderr)
	}
	var st struct {
		Kept       int            `json:"kept"`
		RanOK      int            `json:"ran_ok"`
		PerDataset map[string]int `json:"per_dataset"`
	}
	if err := json.Unmarshal([]byte(stdout), &st); err != nil {
		t.Fatalf("stdout %q: %v", stdout, err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if st.Kept != 3 || st.PerDataset["wtq"] != 3 || len(lines) != 3 || st.RanOK == 0 {
		t.Fatalf("stats %s, %d lines", stdout, len(lines))
	}
	for _, l := range lines {
		var r struct {
			Prompt, Completion, Answer string
			Gold                       []string
		}
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(r.Answer, "certainly not") || !strings.Contains(r.Prompt, "pandas DataFrame `df`") {
			t.Errorf("kept a wrong answer or a wrong prompt: %s", l)
		}
	}

	// The distilled file is training data as it is: an sft stage trains on
	// its prompts and completions.
	dir := t.TempDir()
	cfg := filepath.Join(dir, "coldstart.yaml")
	yaml := "name: coldstart\nseed: 1\nmodel:\n  embedded: {layers: 1, width: 16, heads: 2, mlp: 32, context: 4096}\n" +
		"backend: {kind: embedded}\nsandbox: {workers: 1}\ndata:\n  sources:\n    - path: " + out + "\n" +
		"stages:\n  - kind: sft\n    steps: 2\n    batch_size: 2\nlogging: {progress: none}\n"
	if err := os.WriteFile(cfg, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	run := filepath.Join(dir, "run")
	if code, _, stderr := runCmd(t, "train", "--config", cfg, "--run-dir", run); code != 0 {
		t.Fatalf("train on the distilled file: exit %d: %s", code, stderr)
	}
	ms, err := trainer.ReadMetrics(filepath.Join(run, "metrics.jsonl"))
	if err != nil || len(ms) != 2 {
		t.Fatalf("metrics: %d steps (%v), want 2", len(ms), err)
	}
	for _, m := range ms {
		if m.Loss <= 0 || len(m.Items) != 2 || !strings.HasPrefix(m.Items[0], "wtq:") {
			t.Errorf("step %d: loss %v on %v; want a positive loss on 2 distilled wtq records", m.Step, m.Loss, m.Items)
		}
	}
}

func TestBenchRolloutJSON(t *testing.T) {
	code, stdout, stderr := runCmd(t, "bench", "rollout", "--json", "--in-flight", "8", "--duration", "50ms", "--tokens", "4")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	var res map[string]float64
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &res); err != nil {
		t.Fatalf("last line %q: %v", lines[len(lines)-1], err)
	}
	for _, k := range []string{"completions_per_s", "bare_completions_per_s", "ratio", "in_flight"} {
		if _, ok := res[k]; !ok {
			t.Errorf("JSON lacks %s: %s", k, stdout)
		}
	}
	if res["in_flight"] != 8 || res["completions_per_s"] <= 0 {
		t.Errorf("result %v", res)
	}
}
