package trainer

import (
	"context"
	"time"

	"tabler1/sandbox/execution"
)

// Generator samples completions from the served policy. The rollout
// package's endpoint pool is the production implementation (through an
// adapter in cmd or here); tests use fakes.
type Generator interface {
	Generate(ctx context.Context, req GenRequest) ([]Completion, error)
}

// GenRequest asks for N completions of one prompt.
type GenRequest struct {
	Prompt      string
	N           int
	Temperature float64
	TopP        float64
	MaxTokens   int
	Stop        []string
	// Seed makes sampling reproducible where the server honours it.
	Seed uint64
}

// Completion is one sampled completion with the sampler's token data.
type Completion struct {
	Text             string        `json:"text"`
	PromptTokens     []int         `json:"prompt_tokens,omitempty"`
	Tokens           []int         `json:"tokens,omitempty"`
	Logprobs         []float64     `json:"logprobs,omitempty"`
	FinishReason     string        `json:"finish_reason"`
	Endpoint         string        `json:"endpoint,omitempty"`
	Latency          time.Duration `json:"latency_ns"`
	PublishedVersion int           `json:"version,omitempty"`
}

// Paradigms of a completion.
const (
	ParadigmProgram = "program"
	ParadigmText    = "text"
	ParadigmInvalid = "invalid"
)

// Parsed is what a completion says: a program to run, a text answer, or
// neither.
type Parsed struct {
	Paradigm string `json:"paradigm"`
	Code     string `json:"code,omitempty"`
	Answer   string `json:"answer,omitempty"`
	// FormatOK: the completion follows the template completely.
	FormatOK bool `json:"format_ok"`
}

// Format turns items into prompts and SFT targets and reads completions:
// the prompt template and completion grammar of a run.
type Format interface {
	Prompt(it Item) string
	// Target is the SFT completion teaching the gold program of it ("" when
	// the item has none).
	Target(it Item) string
	Parse(completion string) Parsed
	// Stop lists the stop sequences sampling should use.
	Stop() []string
}

// Scored is a completion's reward, by component.
type Scored struct {
	Reward     float64            `json:"reward"`
	Components map[string]float64 `json:"components"`
	// Correct is the binary outcome dynamic sampling filters on.
	Correct bool `json:"correct"`
	// Masked leaves the sample out of the loss (it still counts in its
	// group's baseline).
	Masked bool `json:"masked,omitempty"`
	// SandboxError: the sandbox, not the program, failed; the sample is
	// not trained on (set by the trainer from the run's status, and by
	// GRPOScorer from grpo.Reward.SandboxError).
	SandboxError bool `json:"sandbox_error,omitempty"`
	// Detail is the scorer's full record (grpo.Reward for GRPOScorer).
	Detail any `json:"detail,omitempty"`
}

// Scorer rates one executed completion of an item. s carries the
// completion, its parse and, for programs, the sandbox result of its run on
// the full table (for an LTI item, with the resulting table).
type Scorer interface {
	Score(it Item, s *Sample) Scored
}

// Sample is one scored completion: the record written to
// rollouts/step-N.jsonl and, as a Sequence, fed to the backend.
type Sample struct {
	ID         string            `json:"id"`
	Step       int               `json:"step"`
	ItemID     string            `json:"item_id"`
	Group      int               `json:"group"`
	Prompt     string            `json:"prompt"`
	Gold       []string          `json:"gold,omitempty"`
	Completion                   // sampler output
	Parsed                       // paradigm, code, answer
	Exec       *execution.Result `json:"exec,omitempty"`
	// Perturbed is the same program's run on grpo.PerturbTable of the
	// item's table (rewards.computes_nothing.perturb; programs that ran ok).
	Perturbed *execution.Result `json:"perturbed,omitempty"`
	Extracted string            `json:"extracted"`
	// PolicyStep is the training step whose weights were served when the
	// completion was requested (0: the initial weights); Staleness is how
	// many steps older they are than on-policy (step-1-policy_step), 0 in
	// synchronous runs.
	PolicyStep int `json:"policy_step"`
	Staleness  int `json:"staleness"`
	Scored
	Advantage float64 `json:"advantage"`
}
