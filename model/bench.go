package model

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"time"
)

//go:embed bench_torch.py
var torchBenchScript []byte

// BenchConfig sizes `tabler1 bench model`.
type BenchConfig struct {
	Model  Config
	Batch  int // sequences per training step (default 8)
	SeqLen int // tokens per sequence (default 256)
	// Steps is the number of timed training steps (default 5, after one
	// warm-up step); the fastest counts, as the machine may be shared.
	Steps   int
	Threads int // cores for both Go and PyTorch (default GOMAXPROCS)
	// SamplePrompt, SampleTokens, SampleN size the sampling measurement
	// (defaults 256, 128, 4).
	SamplePrompt, SampleTokens, SampleN int
	// Python runs the PyTorch baseline (default $TABLER1_PYTHON or
	// /usr/bin/python3); it needs python3-torch (scripts/bench-model-setup.sh).
	Python string
	// SkipTorch measures Go only.
	SkipTorch bool
	// Gorgonia also times the gorgonia graph engine (graph.go).
	Gorgonia bool
	// TorchFloat64 also times PyTorch in float64, the Go model's precision.
	TorchFloat64 bool
}

// BenchResult is what the benchmark measured. Ratios are Go / PyTorch.
type BenchResult struct {
	Params               int     `json:"params"`
	Layers               int     `json:"layers"`
	Width                int     `json:"width"`
	Threads              int     `json:"threads"`
	Batch                int     `json:"batch"`
	SeqLen               int     `json:"seq_len"`
	GoFloat              int     `json:"go_float_bits"`
	TrainTokensPerS      float64 `json:"train_tokens_per_s"`
	TorchTrainTokensPerS float64 `json:"torch_train_tokens_per_s"`
	TrainRatio           float64 `json:"train_ratio"`
	// TorchF64TrainTokensPerS is PyTorch in float64, the Go model's
	// precision.
	TorchF64TrainTokensPerS float64 `json:"torch_f64_train_tokens_per_s"`
	TrainRatioF64           float64 `json:"train_ratio_f64"`
	// GorgoniaTrainTokensPerS is forward and backward (no optimizer step)
	// of the same batches through the gorgonia graph engine (graph.go);
	// GorgoniaRatio is it over the plain-Go engine's forward and backward.
	GorgoniaTrainTokensPerS float64 `json:"gorgonia_train_tokens_per_s"`
	GoFwdBwdTokensPerS      float64 `json:"go_fwd_bwd_tokens_per_s"`
	GorgoniaRatio           float64 `json:"gorgonia_ratio"`
	SampleTokensPerS        float64 `json:"sample_tokens_per_s"`
	PrefillTokensPerS       float64 `json:"prefill_tokens_per_s"`
	// TorchLogprobMaxAbsDiff compares the Go model's log-probabilities with
	// PyTorch's on the same weights loaded from the safetensors checkpoint.
	TorchLogprobMaxAbsDiff float64 `json:"torch_logprob_max_abs_diff"`
	TorchVersion           string  `json:"torch_version"`
}

func (b *BenchConfig) defaults() {
	if b.Batch <= 0 {
		b.Batch = 8
	}
	if b.SeqLen <= 0 {
		b.SeqLen = 256
	}
	if b.Steps <= 0 {
		b.Steps = 5
	}
	if b.Threads <= 0 {
		b.Threads = runtime.GOMAXPROCS(0)
	}
	if b.SamplePrompt <= 0 {
		b.SamplePrompt = 256
	}
	if b.SampleTokens <= 0 {
		b.SampleTokens = 128
	}
	if b.SampleN <= 0 {
		b.SampleN = 4
	}
	if b.Python == "" {
		b.Python = os.Getenv("TABLER1_PYTHON")
	}
	if b.Python == "" {
		b.Python = "/usr/bin/python3"
	}
}

// Bench measures training and sampling throughput of the Go model and
// training throughput of the same architecture in PyTorch on the CPU, in
// this process's run, writing progress to log.
func Bench(ctx context.Context, bc BenchConfig, log io.Writer) (BenchResult, error) {
	bc.defaults()
	m, err := New(bc.Model, 1)
	if err != nil {
		return BenchResult{}, err
	}
	c := m.Config()
	if bc.SeqLen > c.Context || bc.SamplePrompt+bc.SampleTokens > c.Context {
		return BenchResult{}, fmt.Errorf("bench: seq_len %d or sample prompt+tokens %d exceed the context %d", bc.SeqLen, bc.SamplePrompt+bc.SampleTokens, c.Context)
	}
	res := BenchResult{Params: m.NumParams(), Layers: c.Layers, Width: c.Width, Threads: bc.Threads, Batch: bc.Batch, SeqLen: bc.SeqLen, GoFloat: 64}
	prev := runtime.GOMAXPROCS(bc.Threads)
	defer runtime.GOMAXPROCS(prev)

	// Training: next-token loss on every position, as the PyTorch side.
	tr := NewTrainer(m)
	r := rand.New(rand.NewPCG(1, 1))
	batch := func() []Sequence {
		b := make([]Sequence, bc.Batch)
		for i := range b {
			ids := make([]int, bc.SeqLen)
			for j := range ids {
				ids[j] = r.IntN(256)
			}
			b[i] = Sequence{Prompt: ids[:1], Completion: ids[1:]}
		}
		return b
	}
	opt := DefaultOptimConfig()
	step := func() error {
		if _, err := tr.ForwardBackward(ctx, batch(), Loss{Kind: LossSFT}); err != nil {
			return err
		}
		_, err := tr.OptimStep(ctx, opt)
		return err
	}
	if err := step(); err != nil {
		return res, err
	}
	best, err := bestOf(bc.Steps, step)
	if err != nil {
		return res, err
	}
	res.TrainTokensPerS = float64(bc.Batch*(bc.SeqLen-1)) / best.Seconds()
	fmt.Fprintf(log, "go train: %.0f tokens/s (%d params, batch %d x %d tokens, %d threads, float64)\n", res.TrainTokensPerS, res.Params, bc.Batch, bc.SeqLen, bc.Threads)

	if bc.Gorgonia {
		if err := benchGorgonia(ctx, m, bc, batch, &res, log); err != nil {
			fmt.Fprintf(log, "gorgonia engine: %v\n", err)
		}
	}

	// Sampling: prefill a prompt, then decode n completions; the rate counts
	// the prefill's time too.
	prompt := make([]int, bc.SamplePrompt)
	for i := range prompt {
		prompt[i] = 'a' + i%26
	}
	pre, err := bestOf(3, func() error {
		_, err := m.Generate(ctx, prompt, 1, SampleOptions{MaxTokens: 0})
		return err
	})
	if err != nil {
		return res, err
	}
	res.PrefillTokensPerS = float64(bc.SamplePrompt) / pre.Seconds()
	n := 0
	sample, err := bestOf(3, func() error {
		gens, err := m.Generate(ctx, prompt, bc.SampleN, SampleOptions{Temperature: 1, MaxTokens: bc.SampleTokens, Seed: 1})
		n = 0
		for _, g := range gens {
			n += len(g.Tokens)
		}
		return err
	})
	if err != nil {
		return res, err
	}
	res.SampleTokensPerS = float64(n) / sample.Seconds()
	fmt.Fprintf(log, "go sample: %.0f tokens/s end to end, prefill included (%d tokens, n=%d after a %d-token prompt); prefill alone %.0f tokens/s\n", res.SampleTokensPerS, n, bc.SampleN, bc.SamplePrompt, res.PrefillTokensPerS)

	if bc.SkipTorch {
		return res, nil
	}
	dir, err := os.MkdirTemp("", "tabler1-bench-model-")
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(dir)
	if err := m.Save(dir); err != nil {
		return res, err
	}
	script := filepath.Join(dir, "bench_torch.py")
	if err := os.WriteFile(script, torchBenchScript, 0o644); err != nil {
		return res, err
	}
	check := prompt[:min(64, len(prompt))]
	rows := make([]int, len(check)-1)
	for i := range rows {
		rows[i] = i
	}
	goLP, err := m.Score(check[:1], check[1:])
	if err != nil {
		return res, err
	}
	dtypes := []string{"float32"}
	if bc.TorchFloat64 {
		dtypes = append(dtypes, "float64")
	}
	for _, dtype := range dtypes {
		job := map[string]any{"config": c, "batch": bc.Batch, "seq_len": bc.SeqLen, "steps": bc.Steps, "threads": bc.Threads, "dtype": dtype}
		if dtype == "float32" {
			job["checkpoint"], job["check_ids"], job["check_rows"] = dir, check, rows
		}
		out, err := runTorch(ctx, bc.Python, script, job)
		if err != nil {
			return res, err
		}
		if dtype == "float32" {
			res.TorchTrainTokensPerS = out.TrainTokensPerS
			res.TorchVersion = out.TorchVersion
			if len(out.CheckLogprobs) != len(goLP) {
				return res, fmt.Errorf("bench: PyTorch returned %d check log-probabilities, want %d", len(out.CheckLogprobs), len(goLP))
			}
			for i, lp := range out.CheckLogprobs {
				res.TorchLogprobMaxAbsDiff = math.Max(res.TorchLogprobMaxAbsDiff, math.Abs(lp-goLP[i]))
			}
		} else {
			res.TorchF64TrainTokensPerS = out.TrainTokensPerS
		}
		fmt.Fprintf(log, "torch %s train: %.0f tokens/s (torch %s)\n", dtype, out.TrainTokensPerS, out.TorchVersion)
	}
	res.TrainRatio = res.TrainTokensPerS / res.TorchTrainTokensPerS
	if res.TorchF64TrainTokensPerS > 0 {
		res.TrainRatioF64 = res.TrainTokensPerS / res.TorchF64TrainTokensPerS
	}
	fmt.Fprintf(log, "train ratio go/torch: %.3f (vs torch float32), %.3f (vs torch float64); logprob max |go - torch| on the saved checkpoint: %.2e\n", res.TrainRatio, res.TrainRatioF64, res.TorchLogprobMaxAbsDiff)
	return res, nil
}

// TorchLogprobs runs the PyTorch version of the architecture on the
// checkpoint in dir (model.safetensors read with the documented names) and
// returns its log-probabilities of ids[t+1] at each position t.
func TorchLogprobs(ctx context.Context, python, dir string, ids []int) ([]float64, error) {
	m, err := Load(dir)
	if err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "tabler1-torch-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	script := filepath.Join(tmp, "bench_torch.py")
	if err := os.WriteFile(script, torchBenchScript, 0o644); err != nil {
		return nil, err
	}
	rows := make([]int, len(ids)-1)
	for i := range rows {
		rows[i] = i
	}
	out, err := runTorch(ctx, python, script, map[string]any{"config": m.Config(), "threads": 1, "steps": 0, "batch": 1, "seq_len": 2,
		"checkpoint": dir, "check_ids": ids, "check_rows": rows})
	if err != nil {
		return nil, err
	}
	return out.CheckLogprobs, nil
}

type torchOut struct {
	TrainTokensPerS float64   `json:"train_tokens_per_s"`
	TorchVersion    string    `json:"torch_version"`
	CheckLogprobs   []float64 `json:"check_logprobs"`
}

func runTorch(ctx context.Context, python, script string, job map[string]any) (torchOut, error) {
	in, err := json.Marshal(job)
	if err != nil {
		return torchOut{}, err
	}
	cmd := exec.CommandContext(ctx, python, script)
	cmd.Stdin = bytes.NewReader(in)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) && bytes.Contains(stderr.Bytes(), []byte("No module named 'torch'")) {
			return torchOut{}, fmt.Errorf("bench: %s has no torch; run scripts/bench-model-setup.sh (installs Debian's python3-torch) or set TABLER1_PYTHON", python)
		}
		return torchOut{}, fmt.Errorf("bench: PyTorch baseline (%s): %v\n%s", python, err, stderr.String())
	}
	var out torchOut
	lines := bytes.Split(bytes.TrimSpace(stdout.Bytes()), []byte("\n"))
	if err := json.Unmarshal(lines[len(lines)-1], &out); err != nil {
		return torchOut{}, fmt.Errorf("bench: PyTorch baseline printed no JSON result: %v\n%s", err, stdout.String())
	}
	return out, nil
}

// benchGorgonia times forward and backward of the same batches through the
// plain-Go engine and through the gorgonia graph engine.
func benchGorgonia(ctx context.Context, m *Model, bc BenchConfig, batch func() []Sequence, res *BenchResult, log io.Writer) error {
	tokens := float64(bc.Batch * (bc.SeqLen - 1))
	tr := NewTrainer(m.Clone())
	best, err := bestOf(bc.Steps, func() error {
		_, err := tr.ForwardBackward(ctx, batch(), Loss{Kind: LossSFT})
		return err
	})
	if err != nil {
		return err
	}
	res.GoFwdBwdTokensPerS = tokens / best.Seconds()
	best, err = bestOf(bc.Steps, func() error {
		b := batch()
		ids := make([][]int, len(b))
		rows := make([][]int, len(b))
		dlogp := make([][]float64, len(b))
		for j, s := range b {
			ids[j] = append(append([]int(nil), s.Prompt...), s.Completion...)
			for t := range s.Completion {
				rows[j] = append(rows[j], len(s.Prompt)-1+t)
				dlogp[j] = append(dlogp[j], -1/tokens)
			}
		}
		_, err := m.graphLogprobs(ids, rows, dlogp)
		return err
	})
	if err != nil {
		return err
	}
	res.GorgoniaTrainTokensPerS = tokens / best.Seconds()
	res.GorgoniaRatio = res.GorgoniaTrainTokensPerS / res.GoFwdBwdTokensPerS
	fmt.Fprintf(log, "forward+backward: plain Go %.0f tokens/s, gorgonia graph %.0f tokens/s (gorgonia/plain %.3f)\n", res.GoFwdBwdTokensPerS, res.GorgoniaTrainTokensPerS, res.GorgoniaRatio)
	return nil
}

// bestOf runs f n times and returns the fastest run's duration.
func bestOf(n int, f func() error) (time.Duration, error) {
	best := time.Duration(math.MaxInt64)
	for i := 0; i < n; i++ {
		start := time.Now()
		if err := f(); err != nil {
			return 0, err
		}
		best = min(best, time.Since(start))
	}
	return best, nil
}
