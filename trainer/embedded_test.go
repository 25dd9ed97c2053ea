package trainer

import (
	"context"
	"testing"

	"tabler1/backend"
	"tabler1/episode"
	"tabler1/grpo"
	"tabler1/model"
	"tabler1/rollout"
)

// The embedded backend trains, publishes to its HTTP server, samples
// through the rollout pool with token data, takes a GRPO step on those
// samples, and saves and loads.
func TestEmbeddedBackend(t *testing.T) {
	ctx := context.Background()
	cfg := EmbeddedModelConfig{Config: model.Config{Layers: 1, Width: 16, Heads: 2, MLP: 32, Context: 128, Vocab: model.VocabSize}}
	b, err := StartEmbedded(ctx, cfg, 1, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	batch := backend.Batch{Step: 1, Sequences: []episode.Sequence{{ID: "a", Prompt: "Q: 1+1\n", Completion: "Answer: 2"}}}
	fr, err := b.SFTForwardBackward(ctx, batch)
	if err != nil || fr.Loss <= 0 {
		t.Fatalf("SFT = %+v, %v", fr, err)
	}
	if _, err := b.OptimStep(ctx, backend.OptimConfig{LR: 1e-2, Beta1: 0.9, Beta2: 0.95, GradClip: 1}); err != nil {
		t.Fatal(err)
	}
	v, err := b.Publish(ctx)
	if err != nil || v.Version < 2 {
		t.Fatalf("Publish = %+v, %v", v, err)
	}
	pool, err := rollout.NewPool(rollout.PoolConfig{Endpoints: []rollout.EndpointConfig{{URL: b.BaseURL, Server: rollout.ServerEmbedded}}, Model: b.ModelName}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	comps, err := PoolGenerator{Pool: pool}.Generate(ctx, GenRequest{Prompt: "Q: 1+1\n", N: 3, Temperature: 1, TopP: 1, MaxTokens: 8, Seed: 4})
	if err != nil || len(comps) != 3 {
		t.Fatalf("Generate = %d, %v", len(comps), err)
	}
	var seqs []episode.Sequence
	for i, c := range comps {
		if len(c.TokenIDs) == 0 || len(c.Logprobs) != len(c.TokenIDs) || len(c.PromptTokenIDs) == 0 {
			t.Fatalf("completion %d lacks token data: %+v", i, c)
		}
		seqs = append(seqs, episode.Sequence{PromptTokens: c.PromptTokenIDs, CompletionTokens: c.TokenIDs, SamplerLogprobs: c.Logprobs, Advantage: float64(i) - 1})
	}
	if _, err := b.ForwardBackward(ctx, backend.Batch{Step: 2, Sequences: seqs}, grpo.DefaultLossConfig()); err != nil {
		t.Fatal(err)
	}
	if _, err := b.ForwardBackward(ctx, backend.Batch{Sequences: []episode.Sequence{{Prompt: "x", Completion: "y"}}}, grpo.DefaultLossConfig()); err == nil {
		t.Error("GRPO on a sequence without sampler tokens accepted")
	}
	if _, err := b.OptimStep(ctx, backend.OptimConfig{LR: 1e-3, Beta1: 0.9, Beta2: 0.95}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := b.Save(ctx, dir); err != nil {
		t.Fatal(err)
	}
	if err := b.Load(ctx, dir); err != nil {
		t.Fatal(err)
	}
	if _, err := b.SFTForwardBackward(ctx, backend.Batch{Sequences: []episode.Sequence{{Prompt: string(make([]byte, 200)), Completion: "z"}}}); err == nil {
		t.Error("a sequence longer than the context was accepted")
	}
}
