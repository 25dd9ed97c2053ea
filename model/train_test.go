package model

import (
	"tabler1/grpo"

	"context"
	"math"
	"strings"
	"testing"
)

// TestSFTLearns checks the whole training path: SFT on a fixed completion
// must cut the loss by far more than half and make greedy decoding produce it.
func TestSFTLearns(t *testing.T) {
	m, err := New(Config{Layers: 2, Width: 32, Heads: 4, MLP: 64, Context: 64}, 1)
	if err != nil {
		t.Fatal(err)
	}
	tr := NewTrainer(m)
	tok := Tokenizer{}
	var batch []Sequence
	for _, q := range []string{"1+1=", "2+2=", "3+3="} {
		ans := map[string]string{"1+1=": "2", "2+2=": "4", "3+3=": "6"}[q]
		batch = append(batch, Sequence{Prompt: append([]int{BOS}, tok.Encode(q)...), Completion: append(tok.Encode(ans), EOS)})
	}
	opt := DefaultOptimConfig()
	opt.LR = 1e-2
	ctx := context.Background()
	var first, last float64
	for i := 0; i < 60; i++ {
		st, err := tr.ForwardBackward(ctx, batch, Loss{Kind: LossSFT})
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = st.Loss
		}
		last = st.Loss
		if _, err := tr.OptimStep(ctx, opt); err != nil {
			t.Fatal(err)
		}
	}
	if !(last < first/4) {
		t.Fatalf("SFT loss went from %.3f to %.3f; want below a quarter", first, last)
	}
	g, err := m.Generate(ctx, batch[1].Prompt, 1, SampleOptions{MaxTokens: 4})
	if err != nil {
		t.Fatal(err)
	}
	if g[0].Text != "4" || g[0].Finish != FinishStop {
		t.Fatalf("greedy answer %q (%s), want \"4\" then EOS", g[0].Text, g[0].Finish)
	}
}

func TestForwardBackwardValidation(t *testing.T) {
	m, _ := New(tinyConfig(), 1)
	tr := NewTrainer(m)
	ctx := context.Background()
	ok := Sequence{Prompt: []int{BOS}, Completion: []int{'a'}, SamplerLogprobs: []float64{-1}}
	tests := []struct {
		name  string
		batch []Sequence
		loss  Loss
		want  string
	}{
		{"empty batch", nil, Loss{Kind: LossSFT}, "empty batch"},
		{"bad kind", []Sequence{ok}, Loss{Kind: "dpo"}, "loss kind"},
		{"empty prompt", []Sequence{{Completion: []int{1}}}, Loss{Kind: LossSFT}, "empty prompt"},
		{"empty completion", []Sequence{{Prompt: []int{1}}}, Loss{Kind: LossSFT}, "empty completion"},
		{"too long", []Sequence{{Prompt: make([]int, 10), Completion: make([]int, 10)}}, Loss{Kind: LossSFT}, "context"},
		{"mask length", []Sequence{{Prompt: []int{1}, Completion: []int{1}, Mask: []float64{1, 1}}}, Loss{Kind: LossSFT}, "mask"},
		{"no sampler logprobs", []Sequence{{Prompt: []int{1}, Completion: []int{1}}}, Loss{Kind: LossGRPO}, "sampler logprobs"},
		{"bad agg", []Sequence{ok}, Loss{Kind: LossGRPO, GRPO: grpo.LossConfig{LossAggMode: "mean"}}, "loss_agg_mode"},
		{"bad kl", []Sequence{ok}, Loss{Kind: LossGRPO, GRPO: grpo.LossConfig{KLType: "k9"}}, "kl_loss_type"},
		{"bad token", []Sequence{{Prompt: []int{1}, Completion: []int{VocabSize}}}, Loss{Kind: LossSFT}, "vocabulary"},
		{"nan advantage", []Sequence{{Prompt: []int{1}, Completion: []int{1}, SamplerLogprobs: []float64{-1}, Advantage: math.NaN()}}, Loss{Kind: LossGRPO}, "advantage"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tr.ForwardBackward(ctx, tc.batch, tc.loss)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one mentioning %q", err, tc.want)
			}
			tr.ZeroGrad()
		})
	}
	if _, err := tr.OptimStep(ctx, DefaultOptimConfig()); err == nil {
		t.Fatal("optimizer step without gradients")
	}
}

func TestLRSchedule(t *testing.T) {
	o := OptimConfig{LR: 1, WarmupSteps: 2, Schedule: "cosine", TotalSteps: 12, MinLRRatio: 0.1}
	tests := []struct {
		step int
		want float64
	}{{0, 0.5}, {1, 1}, {2, 1}, {7, 0.55}, {12, 0.1}, {100, 0.1}}
	for _, tc := range tests {
		if got := o.LRAt(tc.step); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("cosine step %d: %v, want %v", tc.step, got, tc.want)
		}
	}
	o.Schedule = "linear"
	if got := o.LRAt(7); math.Abs(got-0.55) > 1e-12 {
		t.Errorf("linear step 7: %v", got)
	}
	o.Schedule = "constant"
	if got := o.LRAt(50); got != 1 {
		t.Errorf("constant: %v", got)
	}
}

func TestConfigValidate(t *testing.T) {
	for _, c := range []Config{DefaultConfig(), SmokeConfig(), tinyConfig()} {
		if err := c.Validate(); err != nil {
			t.Errorf("%+v: %v", c, err)
		}
	}
	bad := []Config{
		{Layers: 0, Width: 8, Heads: 2, Context: 8},
		{Layers: 1, Width: 9, Heads: 2, Context: 8},
		{Layers: 1, Width: 8, Heads: 2, Context: 1},
		{Layers: 1, Width: 8, Heads: 2, Context: 8, Vocab: 300},
	}
	for _, c := range bad {
		if err := c.Validate(); err == nil {
			t.Errorf("%+v accepted", c)
		}
		if _, err := New(c, 1); err == nil {
			t.Errorf("New(%+v) accepted", c)
		}
	}
	if n := DefaultConfig().NumParams(); n < 800_000 || n > 1_200_000 {
		t.Errorf("default config has %d parameters, want about 1M", n)
	}
}
