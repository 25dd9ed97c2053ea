package eval

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"

	"go.uber.org/zap"

	"tabler1/rollout"
	"tabler1/sandbox"
)

// HookConfig configures evaluation during training.
type HookConfig struct {
	// Every is the step interval (0: never).
	Every int `yaml:"every" json:"every"`
	// Data is a uniform JSONL file, or a directory (see LoadData).
	Data string `yaml:"data" json:"data"`
	// Benchmarks to evaluate (default: every benchmark in Data when it is a
	// file, the paper's four when it is a directory).
	Benchmarks []string `yaml:"benchmarks" json:"benchmarks,omitempty"`
	Split      string   `yaml:"split" json:"split,omitempty"`
	// Subset is the number of examples per benchmark, drawn once with Seed
	// and reused at every evaluation (default 50; <0 for all).
	Subset int    `yaml:"subset" json:"subset"`
	Seed   uint64 `yaml:"seed" json:"seed"`
	// Mode, MaxTokens and Concurrency as in Config (defaults mixed, 1024, 8);
	// decoding is greedy.
	Mode        string `yaml:"mode" json:"mode,omitempty"`
	MaxTokens   int    `yaml:"max_tokens" json:"max_tokens,omitempty"`
	Concurrency int    `yaml:"concurrency" json:"concurrency,omitempty"`
	// OutDir, when set, receives each evaluation's report in step-N/.
	OutDir string `yaml:"out_dir" json:"out_dir,omitempty"`
}

// Hook is the trainer's eval: every Every steps it evaluates the model
// being trained on a fixed, seeded subset of the benchmarks.
type Hook struct {
	every  int
	exs    []Example
	cfg    Config
	outDir string
}

// NewHook loads the data and draws the subset. exec runs programs (required
// unless the mode is text).
func NewHook(hc HookConfig, exec sandbox.Executor, logger *zap.Logger) (*Hook, error) {
	if hc.Every < 0 {
		return nil, fmt.Errorf("eval hook: every is %d, want >= 0", hc.Every)
	}
	mode := ModeMixed
	if hc.Mode != "" {
		m, err := ParseMode(hc.Mode)
		if err != nil {
			return nil, fmt.Errorf("eval hook: %w", err)
		}
		mode = m
	}
	benches := hc.Benchmarks
	if len(benches) == 0 {
		benches = PaperBenchmarks()
		if st, err := os.Stat(hc.Data); hc.Every > 0 && err == nil && !st.IsDir() {
			all, err := LoadJSONL(hc.Data)
			if err != nil {
				return nil, fmt.Errorf("eval hook: %w", err)
			}
			benches, _ = GroupByBenchmark(all)
		}
	}
	subset := hc.Subset
	if subset == 0 {
		subset = 50
	}
	var exs []Example
	if hc.Every > 0 {
		if hc.Data == "" {
			return nil, fmt.Errorf("eval hook: no data: set eval.data to a uniform JSONL file or a directory")
		}
		var err error
		if exs, err = LoadBenchmarks(benches, hc.Data, hc.Split, subset, hc.Seed); err != nil {
			return nil, fmt.Errorf("eval hook: %w", err)
		}
	}
	cfg := Config{Mode: mode, MaxTokens: hc.MaxTokens, Concurrency: hc.Concurrency, Executor: exec, Logger: logger}
	if _, err := NewRunner(nopCompleter{}, cfg); err != nil {
		return nil, fmt.Errorf("eval hook: %w", err)
	}
	return &Hook{every: hc.Every, exs: exs, cfg: cfg, outDir: hc.OutDir}, nil
}

// Examples are the subset the hook evaluates.
func (h *Hook) Examples() []Example { return h.exs }

// Due reports whether step is an evaluation step.
func (h *Hook) Due(step int) bool {
	return h != nil && h.every > 0 && step > 0 && step%h.every == 0 && len(h.exs) > 0
}

// MaybeRun evaluates model when step is due and returns the report (nil,
// nil otherwise). The report is also written to OutDir/step-N when set.
func (h *Hook) MaybeRun(ctx context.Context, step int, model Completer) (*Report, error) {
	if !h.Due(step) {
		return nil, nil
	}
	r, err := NewRunner(model, h.cfg)
	if err != nil {
		return nil, err
	}
	rep, err := r.Run(ctx, h.exs)
	if err != nil {
		return nil, fmt.Errorf("eval at step %d: %w", step, err)
	}
	rep.Meta = map[string]any{"step": step, "mode": string(h.cfg.Mode)}
	if h.outDir != "" {
		if err := rep.WriteFiles(filepath.Join(h.outDir, fmt.Sprintf("step-%d", step))); err != nil {
			return rep, err
		}
	}
	return rep, nil
}

// Flat is the report as "bench/metric" numbers (plus "bench/paradigm/
// program_share" and the like), for a metrics log line.
func (r *Report) Flat() map[string]float64 {
	out := map[string]float64{}
	for _, b := range r.Benchmarks {
		for k, v := range b.Metrics {
			out[b.Benchmark+"/"+k] = v
		}
		for p, st := range b.Paradigms {
			out[b.Benchmark+"/"+p+"_share"] = st.Share
			out[b.Benchmark+"/"+p+"_accuracy"] = st.Accuracy
		}
		fails := 0
		for _, n := range b.Failures {
			fails += n
		}
		if b.Samples > 0 {
			out[b.Benchmark+"/failure_rate"] = float64(fails) / float64(b.Samples)
		}
		if r.K > 1 {
			out[b.Benchmark+"/pass_at_k"] = b.PassAtK
			out[b.Benchmark+"/pass_at_1"] = b.PassAt[1]
			out[b.Benchmark+"/avg_at_k"] = b.AvgAtK
		}
	}
	return out
}

// SeededSubset draws n examples with a PCG source seeded by seed, keeping
// their original order; n < 0 or n >= len(exs) keeps all.
func SeededSubset(exs []Example, n int, seed uint64) []Example {
	if n < 0 || n >= len(exs) {
		return append([]Example(nil), exs...)
	}
	rng := rand.New(rand.NewPCG(seed, 0x6576616c))
	idx := rng.Perm(len(exs))[:n]
	sort.Ints(idx)
	out := make([]Example, n)
	for i, j := range idx {
		out[i] = exs[j]
	}
	return out
}

// nopCompleter lets NewHook check its config before a model exists.
type nopCompleter struct{}

func (nopCompleter) Complete(context.Context, rollout.CompletionRequest) ([]rollout.Completion, error) {
	return nil, fmt.Errorf("no model")
}
