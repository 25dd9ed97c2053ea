package trainer

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"tabler1/episode"
	"tabler1/eval"
	"tabler1/rollout"
	"tabler1/trainer/backendtest"
)

// wrongModel answers every eval question wrongly, in text.
type wrongModel struct{}

func (wrongModel) Complete(_ context.Context, req rollout.CompletionRequest) ([]episode.Completion, error) {
	out := make([]episode.Completion, max(req.Sampling.N, 1))
	for i := range out {
		out[i] = episode.Completion{Text: "Answer: nobody", FinishReason: "stop"}
	}
	return out, nil
}

// Evaluation during training runs every eval.every steps: its results are
// in metrics.jsonl as eval/<bench>/<split>/<metric> and its report in the
// run's eval/step-N.
func TestEvalDuringTraining(t *testing.T) {
	data := filepath.Join("..", "..", "shared", "data", "wtq.dev.jsonl")
	if _, err := os.Stat(data); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("shared data missing: %v", err)
		}
		t.Skipf("shared data not found at %s", data)
	}
	cfg, err := ParseConfig([]byte(resumeConfig))
	if err != nil {
		t.Fatal(err)
	}
	cfg.RunDir = t.TempDir()
	cfg.Eval = eval.HookConfig{Every: 4, Data: data, Benchmarks: []string{eval.WTQ}, Split: "dev", Subset: 5, Mode: "text",
		OutDir: filepath.Join(cfg.RunDir, "eval")}
	srv := httptest.NewServer(backendtest.New(1))
	defer srv.Close()
	d := fakeDeps(cfg, &RemoteBackend{URL: srv.URL, Retries: 1, Backoff: time.Millisecond})
	if d.Eval, err = eval.NewHook(cfg.Eval, nil, nil); err != nil {
		t.Fatal(err)
	}
	d.EvalModel = wrongModel{}
	ms := runToMetrics(t, cfg, d)
	for _, m := range ms {
		acc, ok := m.Extra["eval/wtq/dev/accuracy"]
		if due := m.Step%4 == 0; ok != due || (ok && acc != 0) {
			t.Errorf("step %d: eval %v; want eval/wtq/dev/accuracy 0 on every 4th step only", m.Step, m.Extra)
		}
		if _, err := os.Stat(filepath.Join(cfg.RunDir, "eval", "step-4")); err != nil {
			t.Errorf("no report of the step-4 evaluation: %v", err)
		}
	}
}
