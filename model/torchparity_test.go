package model

// Fixtures for the PyTorch reference trainer (backends/torch): the loss of
// grpo.Loss for every configuration the embedded trainer's loss test covers
// (lossConfigs), and one tiny checkpoint with a batch and the Go trainer's
// loss, gradients and next weights. backends/torch/tests compare their
// PyTorch twins against these within 1e-6 in float64.
//
// Regenerate with: go test ./model -run TestTorchParityFixtures -update

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"tabler1/grpo"
)

var update = flag.Bool("update", false, "rewrite the fixtures under backends/torch/testdata")

// torchTestdata is where the Python tests read the fixtures.
var torchTestdata = filepath.Join("..", "backends", "torch", "testdata")

type lossCase struct {
	Config     grpo.LossConfig `json:"config"`
	Logprobs   [][]float64     `json:"logprobs"`
	Old        [][]float64     `json:"old_logprobs"`
	Sampler    [][]float64     `json:"sampler_logprobs"`
	Ref        [][]float64     `json:"ref_logprobs"`
	Mask       [][]float64     `json:"mask"`
	Advantages []float64       `json:"advantages"`
	Loss       float64         `json:"loss"`
	PGLoss     float64         `json:"pg_loss"`
	KLLoss     float64         `json:"kl_loss"`
	Grad       [][]float64     `json:"grad"`
	Stats      grpo.LossStats  `json:"stats"`
}

func lossFixture(t *testing.T) []byte {
	r := rand.New(rand.NewPCG(12, 34))
	var cases []lossCase
	for _, cfg := range lossConfigs() {
		c := lossCase{Config: cfg}
		batch := randomSeqInputs(r, 5)
		for _, s := range batch {
			c.Logprobs = append(c.Logprobs, s.Logprobs)
			c.Old = append(c.Old, s.OldLogprobs)
			c.Sampler = append(c.Sampler, s.SamplerLogprobs)
			c.Ref = append(c.Ref, s.RefLogprobs)
			c.Mask = append(c.Mask, s.Mask)
			c.Advantages = append(c.Advantages, s.Advantage)
		}
		res, err := grpo.Loss(cfg, batch)
		if err != nil {
			t.Fatal(err)
		}
		c.Loss, c.PGLoss, c.KLLoss, c.Grad, c.Stats = res.Loss, res.PGLoss, res.KLLoss, res.Grad, res.Stats
		cases = append(cases, c)
	}
	b, err := json.MarshalIndent(cases, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

// protoSeq is one sequence of the remote protocol's forward_backward batch.
type protoSeq struct {
	PromptTokens     []int     `json:"prompt_tokens"`
	CompletionTokens []int     `json:"completion_tokens"`
	SamplerLogprobs  []float64 `json:"sampler_logprobs"`
	Advantage        float64   `json:"advantage"`
}

type embeddedCase struct {
	Loss      grpo.LossConfig `json:"loss"`
	Optim     OptimConfig     `json:"optim"`
	Sequences []protoSeq      `json:"sequences"`
	// Want: the Go trainer's loss, gradient norm, and (in grads.safetensors
	// and next.safetensors) the gradients and the weights after one step.
	WantLoss     float64 `json:"want_loss"`
	WantGradNorm float64 `json:"want_grad_norm"`
}

// embeddedFixture trains nothing: it builds a tiny model whose policy
// differs from its reference, runs one GRPO forward-backward (KL term on)
// and one AdamW step, and returns the files of the fixture directory.
func embeddedFixture(t *testing.T) map[string][]byte {
	cfg := Config{Layers: 2, Width: 16, Heads: 2, MLP: 24, Context: 32, Vocab: VocabSize}
	m, err := New(cfg, 7)
	if err != nil {
		t.Fatal(err)
	}
	tr := NewTrainer(m)
	r := rand.New(rand.NewPCG(3, 4))
	for i := range m.w.flat {
		m.w.flat[i] += 0.05 * r.NormFloat64()
	}
	c := embeddedCase{
		Loss:  grpo.LossConfig{ClipRatioLow: 0.2, ClipRatioHigh: 0.28, ClipRatioC: 3, LossAggMode: grpo.AggTokenMean, KLType: "k3", KLCoef: 0.1, TISCap: 2},
		Optim: OptimConfig{LR: 1e-2, Beta1: 0.9, Beta2: 0.95, Eps: 1e-8, WeightDecay: 0.01, GradClip: 0.5},
	}
	var batch []Sequence
	for i := 0; i < 4; i++ {
		p := []int{BOS}
		for j := 0; j < 2+r.IntN(6); j++ {
			p = append(p, r.IntN(256))
		}
		comp := make([]int, 1+r.IntN(8))
		for j := range comp {
			comp[j] = r.IntN(VocabSize)
		}
		lp, err := m.Score(p, comp)
		if err != nil {
			t.Fatal(err)
		}
		for j := range lp {
			lp[j] += 0.3 * r.NormFloat64()
		}
		s := Sequence{Prompt: p, Completion: comp, SamplerLogprobs: lp, Advantage: r.NormFloat64()}
		batch = append(batch, s)
		c.Sequences = append(c.Sequences, protoSeq{p, comp, lp, s.Advantage})
	}
	files := map[string][]byte{}
	dir := t.TempDir()
	if err := tr.Save(dir); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{ConfigFile, WeightsFile, ReferenceFile} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		files[f] = b
	}
	st, err := tr.ForwardBackward(context.Background(), batch, Loss{Kind: LossGRPO, GRPO: c.Loss})
	if err != nil {
		t.Fatal(err)
	}
	c.WantLoss = st.Loss
	grads := map[string]Tensor{}
	tr.grads.tensors(cfg, "", grads)
	if files["grads.safetensors"], err = EncodeSafetensors(grads, nil); err != nil {
		t.Fatal(err)
	}
	ost, err := tr.OptimStep(context.Background(), c.Optim)
	if err != nil {
		t.Fatal(err)
	}
	c.WantGradNorm = ost.GradNorm
	next := map[string]Tensor{}
	m.w.tensors(cfg, "", next)
	if files["next.safetensors"], err = EncodeSafetensors(next, nil); err != nil {
		t.Fatal(err)
	}
	cj, err := json.MarshalIndent(c, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	files["case.json"] = append(cj, '\n')
	return files
}

// TestTorchParityFixtures regenerates the fixtures in memory and fails when
// the committed ones differ (a change to grpo.Loss or the model must be
// carried to the PyTorch twin: run with -update and the Python tests).
func TestTorchParityFixtures(t *testing.T) {
	want := map[string][]byte{"loss_parity.json": lossFixture(t)}
	for name, b := range embeddedFixture(t) {
		want[filepath.Join("embedded", name)] = b
	}
	total := 0
	for name, b := range want {
		total += len(b)
		path := filepath.Join(torchTestdata, name)
		if *update {
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v: run go test ./model -run TestTorchParityFixtures -update", err)
		}
		if !bytes.Equal(got, b) {
			t.Errorf("%s is stale: run go test ./model -run TestTorchParityFixtures -update, then the Python tests (backends/torch)", path)
		}
	}
	if total > 1<<20 {
		t.Errorf("the torch fixtures take %d bytes; keep them under 1 MB", total)
	}
}
