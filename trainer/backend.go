package trainer

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
	Entropy      float64 `json:"entropy,omitempty"`
	Tokens       int     `json:"tokens"`
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
