package trainer

import (
	"context"

	"tabler1/episode"
)

// Generator samples completions from the served policy. The rollout
// package's endpoint pool is the production implementation (through an
// adapter in cmd or here); tests use fakes.
type Generator interface {
	Generate(ctx context.Context, req GenRequest) ([]episode.Completion, error)
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

// Format turns items into prompts and SFT targets and reads completions:
// the prompt template and completion grammar of a run.
type Format interface {
	// Prompt is the prompt of it asking for a paradigm ("" for the mixed
	// prompt, where the model chooses).
	Prompt(it Item, asked episode.Paradigm) string
	// Target is the SFT completion teaching the gold program of it ("" when
	// the item has none).
	Target(it Item) string
	// Parse reads a completion of a prompt that asked for a paradigm ("":
	// mixed); an answer in the other paradigm is not format-valid.
	Parse(completion string, asked episode.Paradigm) episode.Parse
	// Stop lists the stop sequences sampling should use.
	Stop() []string
}

// Scorer rates one executed completion of an item. s carries the
// completion, its parse and, for programs, the sandbox result of its run on
// the full table (for an LTI item, with the resulting table).
type Scorer interface {
	Score(it Item, s *episode.Episode) episode.Reward
}
