package main

import (
	"context"
	"fmt"

	"tabler1/model"
)

// benchModel measures the embedded model's training and sampling speed and
// the same architecture's training speed in PyTorch on the CPU.
func benchModel(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "bench model", "[--json] [--config smoke|default]", "Training and sampling tokens/s of the embedded model, and PyTorch's training\ntokens/s on the same architecture in the same run (needs python3-torch:\nscripts/bench-model-setup.sh). With --json the last line is a JSON object.")
	asJSON := fs.Bool("json", false, "print the result as JSON on the last line")
	which := fs.String("config", "default", "model size: smoke or default")
	batch := fs.Int("batch", 8, "sequences per training step")
	seqLen := fs.Int("seq-len", 256, "tokens per training sequence")
	steps := fs.Int("steps", 5, "timed training steps (the fastest counts)")
	threads := fs.Int("threads", 0, "cores for Go and PyTorch (0: all)")
	python := fs.String("python", "", "Python with torch (default $TABLER1_PYTHON or /usr/bin/python3)")
	noGorgonia := fs.Bool("no-gorgonia", false, "skip timing the gorgonia graph engine")
	noTorch := fs.Bool("no-torch", false, "skip the PyTorch baseline (no torch fields, no ratio)")
	if err := parseFlags(e, fs, args, false); err != nil {
		return err
	}
	var cfg model.Config
	switch *which {
	case "smoke":
		cfg = model.SmokeConfig()
	case "default":
		cfg = model.DefaultConfig()
	default:
		return usageError{fmt.Sprintf("--config %q: want smoke or default", *which)}
	}
	py := *python
	if py == "" {
		py = e.getenv("TABLER1_PYTHON")
	}
	res, err := model.Bench(ctx, model.BenchConfig{Model: cfg, Batch: *batch, SeqLen: *seqLen, Steps: *steps, Threads: *threads, Python: py, Gorgonia: !*noGorgonia, TorchFloat64: true, SkipTorch: *noTorch}, e.stdout)
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(e.stdout, res)
	}
	return nil
}
