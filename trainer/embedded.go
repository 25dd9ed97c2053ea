package trainer

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"

	"go.uber.org/zap"

	"tabler1/backend"
	"tabler1/grpo"
	"tabler1/model"
	"tabler1/model/server"
)

// EmbeddedBackend trains the model/ transformer in-process and serves it
// over the OpenAI API on a loopback port, so that rollouts go through the
// same HTTP client as in a real run. Publish hot-swaps a snapshot of the
// trained weights into the server.
type EmbeddedBackend struct {
	// BaseURL is the OpenAI base URL of the served model
	// (http://127.0.0.1:PORT/v1) and ModelName its model id.
	BaseURL   string
	ModelName string

	mu   sync.Mutex
	tr   *model.Trainer
	srv  *server.Server
	tok  model.Tokenizer
	stop context.CancelFunc
	done chan error
}

// StartEmbedded builds a fresh model from cfg and seed and starts serving
// it on cfg.Addr. Close stops the server.
func StartEmbedded(ctx context.Context, cfg EmbeddedModelConfig, seed uint64, name string, log *zap.Logger) (*EmbeddedBackend, error) {
	m, err := model.New(cfg.Config, seed)
	if err != nil {
		return nil, fmt.Errorf("embedded backend: %w", err)
	}
	if name == "" {
		name = "tabler1-tiny"
	}
	tr := model.NewTrainer(m)
	tr.Workers = cfg.Workers
	tr.Engine, _ = model.ParseEngine(string(cfg.Engine)) // validated with the config
	srv, err := server.New(server.Config{ModelName: name, Seed: seed, Logger: log}, tr.Snapshot())
	if err != nil {
		return nil, fmt.Errorf("embedded backend: %w", err)
	}
	addr := cfg.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("embedded backend: listening on %s: %w", addr, err)
	}
	sctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	b := &EmbeddedBackend{BaseURL: "http://" + ln.Addr().String() + "/v1", ModelName: name, tr: tr, srv: srv, stop: stop, done: make(chan error, 1)}
	go func() { b.done <- srv.Serve(sctx, ln) }()
	return b, nil
}

// Close stops the model server.
func (b *EmbeddedBackend) Close() error {
	b.stop()
	err := <-b.done
	if errors.Is(err, http.ErrServerClosed) || errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// Trainer returns the underlying model trainer.
func (b *EmbeddedBackend) Trainer() *model.Trainer { return b.tr }

// sequences turns a batch into the model's token sequences. Sequences
// without sampler token ids (SFT) are tokenized as the server tokenizes a
// text prompt: BOS, the prompt's bytes; the completion's bytes and EOS, so
// that the model learns to stop.
func (b *EmbeddedBackend) sequences(batch backend.Batch, grpoLoss bool) ([]model.Sequence, error) {
	out := make([]model.Sequence, 0, len(batch.Sequences))
	for i, s := range batch.Sequences {
		var ms model.Sequence
		if len(s.CompletionTokens) > 0 && len(s.PromptTokens) > 0 {
			ms.Prompt, ms.Completion = s.PromptTokens, s.CompletionTokens
		} else {
			if grpoLoss {
				return nil, fmt.Errorf("embedded backend: sequence %d (%s) has no sampler token ids; GRPO needs them", i, s.ID)
			}
			ms.Prompt = append([]int{model.BOS}, b.tok.Encode(s.Prompt)...)
			ms.Completion = append(b.tok.Encode(s.Completion), model.EOS)
		}
		if grpoLoss {
			if len(s.SamplerLogprobs) != len(ms.Completion) {
				return nil, fmt.Errorf("embedded backend: sequence %d (%s) has %d sampler logprobs for %d completion tokens", i, s.ID, len(s.SamplerLogprobs), len(ms.Completion))
			}
			ms.SamplerLogprobs = s.SamplerLogprobs
		}
		ms.Advantage = s.Advantage
		if n := len(ms.Prompt) + len(ms.Completion); n > b.tr.Model().Config().Context {
			return nil, fmt.Errorf("embedded backend: sequence %d (%s) has %d tokens, more than the model's context %d; shorten prompts (rollout.preview_rows, smaller tables) or raise model.embedded.context", i, s.ID, n, b.tr.Model().Config().Context)
		}
		out = append(out, ms)
	}
	return out, nil
}

// ForwardBackward implements Backend.
func (b *EmbeddedBackend) ForwardBackward(ctx context.Context, batch backend.Batch, loss grpo.LossConfig) (backend.ForwardResult, error) {
	seqs, err := b.sequences(batch, true)
	if err != nil {
		return backend.ForwardResult{}, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	st, err := b.tr.ForwardBackward(ctx, seqs, model.Loss{Kind: model.LossGRPO, GRPO: loss})
	if err != nil {
		return backend.ForwardResult{}, fmt.Errorf("embedded backend: %w", err)
	}
	// The mean negative log-probability of the sampled tokens estimates
	// the policy's entropy, as grpo.LossStats.Entropy.
	return backend.ForwardResult{Loss: st.Loss, KL: st.KL, ClipFraction: st.ClipFraction, Entropy: -st.MeanLogprob, Tokens: st.Tokens + st.PromptTokens}, nil
}

// SFTForwardBackward implements Backend.
func (b *EmbeddedBackend) SFTForwardBackward(ctx context.Context, batch backend.Batch) (backend.ForwardResult, error) {
	seqs, err := b.sequences(batch, false)
	if err != nil {
		return backend.ForwardResult{}, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	st, err := b.tr.ForwardBackward(ctx, seqs, model.Loss{Kind: model.LossSFT})
	if err != nil {
		return backend.ForwardResult{}, fmt.Errorf("embedded backend: %w", err)
	}
	return backend.ForwardResult{Loss: st.Loss, Tokens: st.Tokens + st.PromptTokens}, nil
}

// OptimStep implements Backend. The trainer's schedule already set the
// learning rate, so the model's own warm-up is off.
func (b *EmbeddedBackend) OptimStep(ctx context.Context, o backend.OptimConfig) (backend.OptimResult, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	mo := model.DefaultOptimConfig()
	mo.LR, mo.Beta1, mo.Beta2, mo.WeightDecay, mo.GradClip = o.LR, o.Beta1, o.Beta2, o.WeightDecay, o.GradClip
	if o.Eps > 0 {
		mo.Eps = o.Eps
	}
	mo.WarmupSteps = 0
	st, err := b.tr.OptimStep(ctx, mo)
	if err != nil {
		return backend.OptimResult{}, fmt.Errorf("embedded backend: %w", err)
	}
	return backend.OptimResult{GradNorm: st.GradNorm, LR: st.LR}, nil
}

// Publish implements Backend: the server samples from a snapshot of the
// current weights from now on.
func (b *EmbeddedBackend) Publish(ctx context.Context) (backend.PublishResult, error) {
	b.mu.Lock()
	snap := b.tr.Snapshot()
	b.mu.Unlock()
	v, err := b.srv.Publish(snap)
	if err != nil {
		return backend.PublishResult{}, fmt.Errorf("embedded backend: publish: %w", err)
	}
	return backend.PublishResult{Version: int(v)}, nil
}

// Save implements Backend (safetensors weights and optimizer state).
func (b *EmbeddedBackend) Save(ctx context.Context, dir string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.tr.Save(dir); err != nil {
		return fmt.Errorf("embedded backend: save: %w", err)
	}
	return nil
}

// Load implements Backend and publishes the loaded weights.
func (b *EmbeddedBackend) Load(ctx context.Context, dir string) error {
	tr, err := model.LoadTrainer(dir)
	if err != nil {
		return fmt.Errorf("embedded backend: load: %w", err)
	}
	b.mu.Lock()
	tr.Workers = b.tr.Workers
	tr.Engine = b.tr.Engine
	b.tr = tr
	b.mu.Unlock()
	_, err = b.Publish(ctx)
	return err
}
