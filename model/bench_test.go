package model

import (
	"context"
	"math"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestBenchSmall runs the benchmark's Go side (plain-Go and gorgonia
// engines) at a tiny size.
func TestBenchSmall(t *testing.T) {
	cfg := Config{Layers: 2, Width: 32, Heads: 2, MLP: 64, Context: 128}
	var log strings.Builder
	res, err := Bench(context.Background(), BenchConfig{Model: cfg, Batch: 2, SeqLen: 64, Steps: 1, SamplePrompt: 32, SampleTokens: 16, SampleN: 2, SkipTorch: true, Gorgonia: true}, &log)
	if err != nil {
		t.Fatal(err)
	}
	t.Log(log.String())
	if !(res.TrainTokensPerS > 0 && res.SampleTokensPerS > 0 && res.GorgoniaTrainTokensPerS > 0 && res.TorchTrainTokensPerS == 0) {
		t.Fatalf("throughput not measured: %+v", res)
	}
}

// TestCheckpointLoadsInPyTorch saves a model, loads model.safetensors in
// PyTorch with the documented tensor names (scripts' bench_torch.py) and
// compares the log-probabilities. Without torch it skips, unless
// TABLER1_REQUIRE_TORCH=1.
func TestCheckpointLoadsInPyTorch(t *testing.T) {
	py := os.Getenv("TABLER1_PYTHON")
	if py == "" {
		py = "/usr/bin/python3"
	}
	if exec.Command(py, "-c", "import torch, numpy").Run() != nil {
		if os.Getenv("TABLER1_REQUIRE_TORCH") == "1" {
			t.Fatalf("%s cannot import torch; run scripts/bench-model-setup.sh", py)
		}
		t.Skipf("%s cannot import torch (scripts/bench-model-setup.sh installs it)", py)
	}
	m, err := New(Config{Layers: 2, Width: 16, Heads: 4, MLP: 24, Context: 96}, 3)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := m.Save(dir); err != nil {
		t.Fatal(err)
	}
	ids := append([]int{BOS}, Tokenizer{}.Encode("The layout of a table: <|im_end|> and more bytes beyond the first attention block.")...)
	got, err := TorchLogprobs(context.Background(), py, dir, ids)
	if err != nil {
		t.Fatal(err)
	}
	want, err := m.Score(ids[:1], ids[1:])
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("torch gave %d log-probabilities, want %d", len(got), len(want))
	}
	for i := range want {
		if math.Abs(got[i]-want[i]) > 1e-9 {
			t.Fatalf("position %d: torch %v, go %v", i, got[i], want[i])
		}
	}
}
