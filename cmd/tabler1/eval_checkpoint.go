package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"go.yaml.in/yaml/v3"

	"tabler1/episode"
	"tabler1/eval"
	"tabler1/model"
	"tabler1/rollout"
	"tabler1/trainer"
)

// trainedPrompts reads the prompt settings a checkpoint was trained with
// from its run's config.yaml (RUN/checkpoints/step-N/../../config.yaml, the
// configuration as run); ok is false when the checkpoint is not inside a run
// directory. A model sees the prompts it learned from, and its completions
// were as long as rollout.max_tokens.
func trainedPrompts(checkpoint string) (r trainer.RolloutConfig, ok bool, err error) {
	path := filepath.Join(checkpoint, "..", "..", "config.yaml")
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return r, false, nil
	}
	if err != nil {
		return r, false, fmt.Errorf("reading the checkpoint's run configuration: %w", err)
	}
	var c struct {
		Rollout trainer.RolloutConfig `yaml:"rollout"`
	}
	if err := yaml.Unmarshal(b, &c); err != nil {
		return r, false, fmt.Errorf("the checkpoint's run configuration %s: %w", path, err)
	}
	return c.Rollout, true, nil
}

// compactPrompter renders eval questions with the compact template the
// embedded model is trained on, showing as many of the first rows rows as
// keep the prompt within budget tokens (0: no bound), so that a wide table
// still leaves the model room to answer.
type compactPrompter struct {
	rows   int
	budget int
}

// Prompt implements eval.Prompter, asking for paradigm p as training does.
func (c compactPrompter) Prompt(q rollout.Question, p episode.Paradigm) (string, rollout.Kind, error) {
	it := trainer.Item{ID: q.ID, Task: q.Task, Question: q.Question, Table: q.Table, Target: q.Target}
	rows := max(c.rows, 1)
	var prompt string
	for ; rows >= 1; rows-- {
		prompt = trainer.CompactFormat{PreviewRows: rows}.Prompt(it, p)
		if c.budget <= 0 || promptTokens(prompt) <= c.budget {
			break
		}
	}
	kind := rollout.KindMixed
	if q.Task == episode.TaskTabFact {
		kind = rollout.KindTabFactMixed
	}
	return prompt, kind, nil
}

// promptTokens is the length of a text prompt for the embedded model: its
// bytes and the BOS the server prepends.
func promptTokens(s string) int { return 1 + len(model.Tokenizer{}.Encode(s)) }

// checkpointPrompts fills the eval settings that depend on the model: the
// template and preview rows it was trained with (unless given), and
// max_tokens, by default what the model's context leaves after the prompt
// (the server stops a completion when the context is full).
func checkpointPrompts(rc *eval.RunConfig, set map[string]bool, context int) (eval.Prompter, error) {
	trained, ok, err := trainedPrompts(rc.Checkpoint)
	if err != nil {
		return nil, err
	}
	if ok {
		if !set["template"] && rc.Template == "" {
			rc.Template = trained.Template
			if rc.Template != eval.TemplateCompact {
				rc.Template = ""
			}
		}
		if !set["preview-rows"] && rc.PreviewRows == 0 {
			rc.PreviewRows = trained.PreviewRows
		}
	}
	if !set["max-tokens"] && rc.MaxTokens == 0 {
		rc.MaxTokens = context
	}
	if rc.Template != eval.TemplateCompact {
		return nil, nil
	}
	// Keep room for a completion as long as the training ones.
	answer := trained.MaxTokens
	if answer <= 0 {
		answer = 64
	}
	return compactPrompter{rows: rc.PreviewRows, budget: context - answer}, nil
}
