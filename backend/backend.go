// Package backend is the contract of a training backend: what the trainer
// asks of the thing that owns the weights (forward-backward, optimizer
// step, publish, save, load) and what it gets back. The embedded model and
// the remote JSON-over-HTTP protocol (docs/backend-protocol.md) implement
// it; depending on the contract links neither.
package backend

import (
	"context"

	"tabler1/episode"
	"tabler1/grpo"
)

// Backend computes gradients and owns the weights being trained. The trainer
// calls, per step: ForwardBackward (or SFTForwardBackward) once per
// micro-batch, then OptimStep, then Publish so that the next rollouts sample
// from the new weights. Every method returns when the work is done, ctx is
// done, or it failed; none may hang past ctx.
type Backend interface {
	// ForwardBackward accumulates the gradient of the policy loss (clipped
	// ratio to the sampler's log-probabilities, KL to the reference) over
	// the batch's completion tokens, weighted by each sequence's advantage.
	ForwardBackward(ctx context.Context, batch Batch, loss grpo.LossConfig) (ForwardResult, error)
	// SFTForwardBackward accumulates the gradient of the cross-entropy of
	// the completion tokens given the prompt.
	SFTForwardBackward(ctx context.Context, batch Batch) (ForwardResult, error)
	// OptimStep applies the accumulated gradient and zeroes it.
	OptimStep(ctx context.Context, optim OptimConfig) (OptimResult, error)
	// Publish makes the current weights the ones that serve rollouts.
	Publish(ctx context.Context) (PublishResult, error)
	// Save writes weights and optimizer state under dir; Load reads them
	// back (and publishes them).
	Save(ctx context.Context, dir string) error
	Load(ctx context.Context, dir string) error
}

// Batch is the sequences of one forward-backward call.
type Batch struct {
	// Step is the global training step (for the backend's logs and to tell
	// retries apart).
	Step      int                `json:"step"`
	Sequences []episode.Sequence `json:"sequences"`
}

// ForwardResult reports one forward-backward.
type ForwardResult struct {
	Loss float64 `json:"loss"`
	// KL is the mean per-token KL to the reference; ClipFraction the share
	// of completion tokens whose ratio was clipped. Zero for SFT.
	KL           float64 `json:"kl"`
	ClipFraction float64 `json:"clip_fraction"`
	// Entropy estimates the policy's entropy over the completion tokens
	// (their mean negative log-probability); logged as actor/entropy.
	Entropy float64 `json:"entropy,omitempty"`
	Tokens  int     `json:"tokens"`
}

// OptimResult reports one optimizer step.
type OptimResult struct {
	GradNorm float64 `json:"grad_norm"`
	LR       float64 `json:"lr"`
}

// PublishResult reports one publish.
type PublishResult struct {
	// Version counts publishes; rollouts record which version they sampled.
	Version int `json:"version"`
}

// OptimConfig is the optimizer step sent to the backend.
type OptimConfig struct {
	LR          float64 `yaml:"lr" json:"lr"`
	Beta1       float64 `yaml:"beta1" json:"beta1"`
	Beta2       float64 `yaml:"beta2" json:"beta2"`
	Eps         float64 `yaml:"eps" json:"eps"`
	WeightDecay float64 `yaml:"weight_decay" json:"weight_decay"`
	GradClip    float64 `yaml:"grad_clip" json:"grad_clip"`
	// WarmupSteps ramps the learning rate linearly from 0.
	WarmupSteps int `yaml:"warmup_steps" json:"warmup_steps"`
}
