package trainer

import (
	"context"
	"encoding/json"
	"fmt"

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
func (g PoolGenerator) Generate(ctx context.Context, req GenRequest) ([]Completion, error) {
	seed := int(req.Seed & 0x7fffffff)
	comps, err := g.Pool.Complete(ctx, rollout.CompletionRequest{
		Prompt: req.Prompt,
		Sampling: rollout.Sampling{N: req.N, Temperature: req.Temperature, TopP: req.TopP,
			MaxTokens: req.MaxTokens, Stop: req.Stop, Seed: &seed},
		TokenData: true,
	})
	if err != nil {
		return nil, err
	}
	out := make([]Completion, len(comps))
	for i, c := range comps {
		out[i] = Completion{Text: c.Text, PromptTokens: c.PromptTokenIDs, Tokens: c.TokenIDs, Logprobs: c.Logprobs,
			FinishReason: c.FinishReason, Endpoint: c.Endpoint, Latency: c.Latency}
	}
	return out, nil
}

// GRPOScorer is the production Scorer: the reward of package grpo.
type GRPOScorer struct {
	Config      grpo.RewardConfig
	PreviewRows int
	MaxTokens   int
}

// Score implements Scorer.
func (s GRPOScorer) Score(it Item, smp *Sample) Scored {
	task := grpo.TaskQA
	if it.Task == TaskLTI {
		task = grpo.TaskLTI
	}
	in := grpo.RewardInput{
		Task:                task,
		Paradigm:            grpo.Paradigm(smp.Paradigm),
		FormatOK:            smp.FormatOK,
		Code:                smp.Code,
		Exec:                smp.Exec,
		Perturbed:           smp.Perturbed,
		Text:                smp.Answer,
		Gold:                it.Answers,
		Question:            it.Question,
		Table:               it.Table,
		PreviewRows:         s.PreviewRows,
		Target:              it.Target,
		CompletionTokens:    len(smp.Tokens),
		MaxCompletionTokens: s.MaxTokens,
		Truncated:           smp.FinishReason == "length",
	}
	r := grpo.ComputeReward(s.Config, in)
	comps := map[string]float64{}
	b, _ := json.Marshal(r.Components)
	_ = json.Unmarshal(b, &comps)
	return Scored{Reward: r.Total, Components: comps, Correct: r.Correct, Masked: r.Masked, SandboxError: r.SandboxError, Detail: r}
}

// RolloutFormat is the Format of real runs: the rollout package's prompt
// templates (mixed paradigm) and completion parser. SFT targets are the
// gold program in a python code block.
type RolloutFormat struct {
	// Templates render prompts; their preview_rows sets the table preview.
	Templates *rollout.Templates
}

// Prompt implements Format.
func (f RolloutFormat) Prompt(it Item) string {
	task := rollout.TaskQA
	switch it.Task {
	case TaskLTI:
		task = rollout.TaskLTI
	case rollout.TaskTabFact:
		task = rollout.TaskTabFact
	}
	q := rollout.Question{ID: it.ID, Task: task, Question: it.Question, Table: it.Table, Target: it.Target}
	p, _, err := f.Templates.Prompt(q, "")
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
func (RolloutFormat) Parse(c string) Parsed {
	p := rollout.Parse(c, "", rollout.ParseOptions{})
	return Parsed{Paradigm: string(p.Paradigm), Code: p.Program, Answer: p.Answer, FormatOK: p.FormatValid}
}
