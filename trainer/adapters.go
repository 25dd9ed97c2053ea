package trainer

import (
	"context"
	"fmt"

	"tabler1/episode"
	"tabler1/grpo"
	"tabler1/rollout"
)

// PoolGenerator is the production Generator: completions from the rollout
// package's endpoint pool over /v1/completions, with the sampler's token
// ids and logprobs.
type PoolGenerator struct {
	Pool *rollout.Pool
}

// Generate implements Generator.
func (g PoolGenerator) Generate(ctx context.Context, req GenRequest) ([]episode.Completion, error) {
	seed := int(req.Seed & 0x7fffffff)
	return g.Pool.Complete(ctx, rollout.CompletionRequest{
		Prompt: req.Prompt,
		Sampling: rollout.Sampling{N: req.N, Temperature: req.Temperature, TopP: req.TopP,
			MaxTokens: req.MaxTokens, Stop: req.Stop, Seed: &seed},
		TokenData: true,
	})
}

// GRPOScorer is the production Scorer: the reward of package grpo.
type GRPOScorer struct {
	Config      grpo.RewardConfig
	PreviewRows int
	MaxTokens   int
}

// Score implements Scorer.
func (s GRPOScorer) Score(it Item, ep *episode.Episode) episode.Reward {
	return grpo.ComputeReward(s.Config, grpo.RewardInput{
		Episode:             *ep,
		Question:            it.Question,
		Table:               it.Table,
		PreviewRows:         s.PreviewRows,
		Target:              it.Target,
		MaxCompletionTokens: s.MaxTokens,
	})
}

// RolloutFormat is the Format of real runs: the rollout package's prompt
// templates (mixed paradigm) and completion parser. SFT targets are the
// gold program in a python code block.
type RolloutFormat struct {
	// Templates render prompts; their preview_rows sets the table preview.
	Templates *rollout.Templates
}

// Prompt implements Format.
func (f RolloutFormat) Prompt(it Item, asked episode.Paradigm) string {
	q := rollout.Question{ID: it.ID, Task: it.Task, Question: it.Question, Table: it.Table, Target: it.Target}
	p, _, err := f.Templates.Prompt(q, asked)
	if err != nil {
		// A template error is a configuration error met on the first
		// prompt; the rollout of an empty prompt then fails loudly.
		return fmt.Sprintf("(template error: %v)", err)
	}
	return p
}

// Target implements Format.
func (RolloutFormat) Target(it Item) string {
	if it.GoldProgram == "" {
		return ""
	}
	return fenceOpen + it.GoldProgram + fenceClose
}

// Stop implements Format.
func (RolloutFormat) Stop() []string { return nil }

// Parse implements Format.
func (RolloutFormat) Parse(c string, asked episode.Paradigm) episode.Parse {
	return rollout.Parse(c, "", rollout.ParseOptions{Expect: asked})
}
