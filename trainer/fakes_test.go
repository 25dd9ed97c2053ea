package trainer

import (
	"context"
	"fmt"
	"hash/fnv"
	"path/filepath"
	"strings"
	"testing"

	"tabler1/backend"
	"tabler1/episode"
	"tabler1/sandbox/execution"
)

// fakeGenerator answers with the gold program of the prompt's item for a
// fixed share of the completions (chosen by hashing the seed) and with a
// wrong text answer otherwise: enough to drive the pipeline
// deterministically without a model.
type fakeGenerator struct {
	gold  map[string]string // prompt → target completion
	share float64
	fail  error
}

func (g *fakeGenerator) Generate(ctx context.Context, req GenRequest) ([]episode.Completion, error) {
	if g.fail != nil {
		return nil, g.fail
	}
	out := make([]episode.Completion, req.N)
	for i := range out {
		h := fnv.New64a()
		fmt.Fprintf(h, "%d/%d", req.Seed, i)
		if float64(h.Sum64()%1000)/1000 < g.share {
			out[i] = episode.Completion{Text: g.gold[req.Prompt], FinishReason: "stop"}
		} else {
			out[i] = episode.Completion{Text: "Answer: nobody", FinishReason: "stop"}
		}
	}
	return out, nil
}

// fakeExecutor "runs" a program by looking up the answer registered for
// it and its table: no Python needed.
type fakeExecutor struct{ answers map[string]string }

func (e *fakeExecutor) Run(ctx context.Context, job execution.Job) execution.Result {
	if a, ok := e.answers[fmt.Sprintf("%p|%s", job.Table, job.Code)]; ok {
		return execution.Result{Status: execution.StatusOK, Stdout: a + "\n"}
	}
	return execution.Result{Status: execution.StatusRuntimeError, Stderr: "NameError"}
}

// exactScorer rewards an exact answer with 1.
type exactScorer struct{}

func (exactScorer) Score(it Item, s *episode.Episode) episode.Reward {
	ans := s.Answer
	if s.Exec != nil {
		ans = s.Exec.Answer()
	}
	ok := len(it.Answers) > 0 && strings.TrimSpace(ans) == it.Answers[0]
	r := 0.0
	if ok {
		r = 1
	}
	return episode.Reward{Total: r, Components: episode.Components{Answer: r}, Correct: ok}
}

// fakeDeps wires fakes over synthetic items for cfg.
func fakeDeps(cfg *Config, b backend.Backend) Deps {
	items := Synthesize(cfg.Seed, cfg.Data.Synthetic.Questions, cfg.Data.Synthetic)
	f := CompactFormat{PreviewRows: cfg.Rollout.PreviewRows}
	gen := &fakeGenerator{gold: map[string]string{}, share: 0.5}
	ex := &fakeExecutor{answers: map[string]string{}}
	for _, it := range items {
		gen.gold[f.Prompt(it, "")] = f.Target(it)
		ex.answers[fmt.Sprintf("%p|%s", it.Table, it.GoldProgram)] = it.Answers[0]
	}
	return Deps{Backend: b, Generator: gen, Executor: ex, Format: f, Scorer: exactScorer{}, Sources: map[string][]Item{SourceSynthetic: items}}
}

// runToMetrics runs cfg with d to the end and returns its metrics.
func runToMetrics(t *testing.T, cfg *Config, d Deps) []StepMetrics {
	t.Helper()
	tr, err := New(cfg, d)
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Run(context.Background(), false); err != nil {
		t.Fatal(err)
	}
	ms, err := ReadMetrics(filepath.Join(cfg.RunDir, "metrics.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	return ms
}
