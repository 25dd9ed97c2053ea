package model

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"sync"
	"time"

	"tabler1/grpo"
)

// Sequence is one training example: a prompt (context only) and a
// completion (the scored tokens).
type Sequence struct {
	Prompt     []int `json:"prompt"`
	Completion []int `json:"completion"`
	// SamplerLogprobs are the sampler's log-probabilities of the
	// completion tokens; required by LossGRPO.
	SamplerLogprobs []float64 `json:"sampler_logprobs,omitempty"`
	// OldLogprobs are the old policy's (the training weights that sampled,
	// recomputed by the trainer). The ratio is taken to them, and the
	// importance weight of grpo.ISWeights (min(exp(Old - Sampler), TISCap)
	// per token by default) corrects the sampler/trainer mismatch. nil: the
	// ratio is taken to SamplerLogprobs (the importance weight is then 1).
	OldLogprobs []float64 `json:"old_logprobs,omitempty"`
	// RefLogprobs are the reference policy's log-probabilities; when nil and
	// the KL coefficient is positive, the trainer's frozen reference model
	// computes them.
	RefLogprobs []float64 `json:"ref_logprobs,omitempty"`
	// Advantage is the sequence's GRPO advantage.
	Advantage float64 `json:"advantage"`
	// Mask weighs each completion token's loss (nil: all 1); 0 drops a
	// token.
	Mask []float64 `json:"mask,omitempty"`
}

// Loss selects and parameterises the objective of ForwardBackward.
type Loss struct {
	Kind LossKind `json:"kind" yaml:"kind"`
	// GRPO configures LossGRPO (grpo's reference loss, verl's names).
	GRPO grpo.LossConfig `json:"grpo" yaml:"grpo"`
}

// Stats describes one ForwardBackward call.
type Stats struct {
	Loss         float64 `json:"loss"`          // the aggregated loss
	Sequences    int     `json:"sequences"`     // sequences in the batch
	Tokens       int     `json:"tokens"`        // completion tokens with a non-zero mask
	PromptTokens int     `json:"prompt_tokens"` // context tokens processed
	MeanLogprob  float64 `json:"mean_logprob"`  // mean policy log-probability of the scored tokens
	KL           float64 `json:"kl"`            // mean KL estimate to the reference (GRPO with kl_coef > 0)
	ClipFraction float64 `json:"clip_fraction"` // fraction of tokens whose ratio was clipped (GRPO)
	RatioMean    float64 `json:"ratio_mean"`    // mean policy/sampler ratio (GRPO)
	// SamplerLogprobDiff is the mean |logp - sampler logp|: the
	// sampler/trainer mismatch on the first step after a Publish.
	SamplerLogprobDiff float64       `json:"sampler_logprob_diff"`
	Duration           time.Duration `json:"duration_ns"`
}

// OptimConfig is AdamW with gradient clipping and a learning-rate schedule.
type OptimConfig struct {
	LR          float64 `json:"lr" yaml:"lr"`
	Beta1       float64 `json:"beta1" yaml:"beta1"`
	Beta2       float64 `json:"beta2" yaml:"beta2"`
	Eps         float64 `json:"eps" yaml:"eps"`
	WeightDecay float64 `json:"weight_decay" yaml:"weight_decay"`
	// GradClip is the maximum global gradient L2 norm; 0 disables clipping.
	GradClip float64 `json:"grad_clip" yaml:"grad_clip"`
	// WarmupSteps ramps the rate linearly from LR/WarmupSteps to LR.
	WarmupSteps int `json:"warmup_steps" yaml:"warmup_steps"`
	// Schedule after warmup: "constant" (default), "linear" or "cosine"
	// decay to MinLRRatio*LR at TotalSteps.
	Schedule   string  `json:"schedule" yaml:"schedule"`
	TotalSteps int     `json:"total_steps" yaml:"total_steps"`
	MinLRRatio float64 `json:"min_lr_ratio" yaml:"min_lr_ratio"`
}

// DefaultOptimConfig is AdamW at 3e-3 (a rate for a tiny model), betas
// (0.9, 0.95), weight decay 0.01, gradient clipping at 1, constant rate.
func DefaultOptimConfig() OptimConfig {
	return OptimConfig{LR: 3e-3, Beta1: 0.9, Beta2: 0.95, Eps: 1e-8, WeightDecay: 0.01, GradClip: 1, Schedule: "constant"}
}

func (o OptimConfig) validate() error {
	switch {
	case !(o.LR > 0) || math.IsInf(o.LR, 0):
		return fmt.Errorf("optimizer: lr = %v, want a positive number", o.LR)
	case o.Beta1 < 0 || o.Beta1 >= 1 || o.Beta2 < 0 || o.Beta2 >= 1:
		return fmt.Errorf("optimizer: beta1 = %v, beta2 = %v, want each in [0, 1)", o.Beta1, o.Beta2)
	case o.Eps < 0 || o.WeightDecay < 0 || o.GradClip < 0 || o.WarmupSteps < 0 || o.MinLRRatio < 0:
		return fmt.Errorf("optimizer: eps, weight_decay, grad_clip, warmup_steps and min_lr_ratio must not be negative")
	}
	switch o.Schedule {
	case "", "constant", "linear", "cosine":
	default:
		return fmt.Errorf("optimizer: schedule %q: want constant, linear or cosine", o.Schedule)
	}
	return nil
}

// LRAt is the learning rate of optimizer step number step (0-based).
func (o OptimConfig) LRAt(step int) float64 {
	lr := o.LR
	if o.WarmupSteps > 0 && step < o.WarmupSteps {
		return lr * float64(step+1) / float64(o.WarmupSteps)
	}
	if o.TotalSteps <= o.WarmupSteps || o.Schedule == "" || o.Schedule == "constant" {
		return lr
	}
	frac := math.Min(1, float64(step-o.WarmupSteps)/float64(o.TotalSteps-o.WarmupSteps))
	lo := o.MinLRRatio * lr
	if o.Schedule == "cosine" {
		return lo + (lr-lo)*0.5*(1+math.Cos(math.Pi*frac))
	}
	return lr - (lr-lo)*frac
}

// OptimStats describes one optimizer step.
type OptimStats struct {
	Step     int     `json:"step"`      // steps taken, this one included
	LR       float64 `json:"lr"`        // rate used
	GradNorm float64 `json:"grad_norm"` // global L2 norm before clipping
	Clipped  bool    `json:"clipped"`
}

// Trainer owns a model being trained, a frozen reference copy of its
// initial weights (for the KL term), accumulated gradients and AdamW state.
// Its methods are safe for concurrent use (they serialise).
type Trainer struct {
	mu      sync.Mutex
	model   *Model
	ref     *Model
	grads   *params
	m1, m2  *params
	step    int
	pending int // ForwardBackward calls since the last OptimStep
	// Engine computes the forward and backward passes: EnginePlain (the
	// zero value) or EngineGorgonia. Both give the same numbers.
	Engine Engine
	// Workers is the number of sequences processed in parallel (0:
	// GOMAXPROCS).
	Workers int
}

// NewTrainer takes ownership of m and freezes a copy of it as the reference
// policy.
func NewTrainer(m *Model) *Trainer {
	c := m.cfg
	return &Trainer{model: m, ref: m.Clone(), grads: newParams(c), m1: newParams(c), m2: newParams(c)}
}

// Model returns the model being trained. It must not be used while another
// goroutine calls ForwardBackward or OptimStep; serve Snapshot instead.
func (t *Trainer) Model() *Model { return t.model }

// Snapshot returns a copy of the current weights, safe to serve while
// training goes on (what the embedded backend's Publish hands the server).
func (t *Trainer) Snapshot() *Model {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.model.Clone()
}

// Step is the number of optimizer steps taken.
func (t *Trainer) Step() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.step
}

// ForwardBackward computes loss over batch and adds its gradient to the
// accumulated gradients (several calls before one OptimStep sum their
// gradients, as gradient accumulation; each call's loss is aggregated over
// its own batch).
func (t *Trainer) ForwardBackward(ctx context.Context, batch []Sequence, loss Loss) (Stats, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	start := time.Now()
	if len(batch) == 0 {
		return Stats{}, errors.New("forward-backward: empty batch")
	}
	if err := t.validateBatch(batch, loss); err != nil {
		return Stats{}, err
	}
	counts := make([]float64, len(batch))
	maxLen := 0
	for i, s := range batch {
		counts[i] = maskSum(s.Mask, len(s.Completion))
		maxLen = max(maxLen, len(s.Completion))
	}
	mode := loss.GRPO.LossAggMode
	if loss.Kind == LossSFT {
		mode = grpo.AggTokenMean
	}
	f := grpo.AggWeights(mode, loss.GRPO.LossScaleFactor, counts, maxLen)
	if t.Engine == EngineGorgonia {
		st, err := t.graphForwardBackward(batch, loss, f)
		if err != nil {
			return Stats{}, fmt.Errorf("forward-backward: %w (accumulated gradients are unchanged)", err)
		}
		t.pending++
		st.Duration = time.Since(start)
		return st, nil
	}

	workers := t.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = min(workers, len(batch))
	type result struct {
		st  Stats
		err error
	}
	results := make([]result, workers)
	wgrads := make([]*params, workers)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		if w == 0 {
			wgrads[w] = t.grads
		} else {
			wgrads[w] = newParams(t.model.cfg)
		}
		wg.Add(1)
		// A fixed assignment of sequences to workers keeps the gradient sums
		// in the same order run after run: resumed training is bit-exact.
		go func(w int) {
			defer wg.Done()
			r := &results[w]
			for i := w; i < len(batch); i += workers {
				if ctx.Err() != nil {
					return
				}
				if r.err = t.sequenceGrad(batch[i], loss, f[i], wgrads[w], &r.st); r.err != nil {
					return
				}
			}
		}(w)
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return Stats{}, fmt.Errorf("forward-backward: %w (accumulated gradients are now partial; call ZeroGrad)", err)
	}
	var st Stats
	for w := range results {
		if results[w].err != nil {
			return Stats{}, fmt.Errorf("forward-backward: %w (accumulated gradients are now partial; call ZeroGrad)", results[w].err)
		}
		r := results[w].st
		st.Loss += r.Loss
		st.MeanLogprob += r.MeanLogprob
		st.KL += r.KL
		st.ClipFraction += r.ClipFraction
		st.RatioMean += r.RatioMean
		st.SamplerLogprobDiff += r.SamplerLogprobDiff
		st.Tokens += r.Tokens
		st.PromptTokens += r.PromptTokens
		if w > 0 {
			for i, g := range wgrads[w].flat {
				t.grads.flat[i] += g
			}
		}
	}
	st.finish(len(batch))
	t.pending++
	st.Duration = time.Since(start)
	return st, nil
}

// finish turns the per-token sums of st into means over its tokens and
// records the batch size.
func (st *Stats) finish(sequences int) {
	st.Sequences = sequences
	if st.Tokens > 0 {
		n := float64(st.Tokens)
		st.MeanLogprob /= n
		st.KL /= n
		st.ClipFraction /= n
		st.RatioMean /= n
		st.SamplerLogprobDiff /= n
	}
}

func maskSum(mask []float64, n int) float64 {
	if mask == nil {
		return float64(n)
	}
	s := 0.0
	for _, m := range mask {
		s += m
	}
	return s
}

func (t *Trainer) validateBatch(batch []Sequence, loss Loss) error {
	switch loss.Kind {
	case LossSFT:
	case LossGRPO:
		if err := loss.GRPO.Validate(); err != nil {
			return fmt.Errorf("forward-backward: %w", err)
		}
	default:
		return fmt.Errorf("forward-backward: loss kind %q: want sft or grpo", loss.Kind)
	}
	ctxLen := t.model.cfg.Context
	for i, s := range batch {
		n := len(s.Completion)
		switch {
		case len(s.Prompt) == 0:
			return fmt.Errorf("forward-backward: sequence %d has an empty prompt; start prompts with BOS", i)
		case n == 0:
			return fmt.Errorf("forward-backward: sequence %d has an empty completion", i)
		case len(s.Prompt)+n > ctxLen:
			return fmt.Errorf("forward-backward: sequence %d has %d+%d tokens, more than the context of %d; truncate it", i, len(s.Prompt), n, ctxLen)
		case s.Mask != nil && len(s.Mask) != n:
			return fmt.Errorf("forward-backward: sequence %d: mask has %d entries for %d completion tokens", i, len(s.Mask), n)
		case s.RefLogprobs != nil && len(s.RefLogprobs) != n:
			return fmt.Errorf("forward-backward: sequence %d: %d reference logprobs for %d completion tokens", i, len(s.RefLogprobs), n)
		case s.OldLogprobs != nil && len(s.OldLogprobs) != n:
			return fmt.Errorf("forward-backward: sequence %d: %d old logprobs for %d completion tokens", i, len(s.OldLogprobs), n)
		}
		if loss.Kind == LossGRPO && len(s.SamplerLogprobs) != n {
			return fmt.Errorf("forward-backward: sequence %d: %d sampler logprobs for %d completion tokens (GRPO needs one per token)", i, len(s.SamplerLogprobs), n)
		}
		if math.IsNaN(s.Advantage) || math.IsInf(s.Advantage, 0) {
			return fmt.Errorf("forward-backward: sequence %d: advantage %v is not finite", i, s.Advantage)
		}
	}
	return nil
}

// sequenceGrad runs one sequence forward and backward with the plain-Go
// engine, scaling its loss by f, adding gradients to g and sums (not means)
// to st.
func (t *Trainer) sequenceGrad(s Sequence, loss Loss, f float64, g *params, st *Stats) error {
	ids, rows := sequenceRows(s)
	p, err := t.model.forward(ids, rows)
	if err != nil {
		return err
	}
	V := t.model.cfg.Vocab
	logp := targetLogprobs(p.probs, s.Completion, V)
	ref, err := t.refLogprobs(s, loss, ids, rows)
	if err != nil {
		return err
	}
	dlogp := tokenGrads(s, loss, f, logp, ref, st)
	dlogits := make([]float64, len(rows)*V)
	for r, tok := range s.Completion {
		c := dlogp[r]
		if c == 0 {
			continue
		}
		// d logp(tok) / d logits = onehot(tok) - softmax
		pr, dr := p.probs[r*V:(r+1)*V], dlogits[r*V:(r+1)*V]
		for j, q := range pr {
			dr[j] = -c * q
		}
		dr[tok] += c
	}
	t.model.backward(p, dlogits, g)
	return nil
}

// sequenceRows is a sequence's token ids and the positions that score its
// completion (position t predicts ids[t+1]).
func sequenceRows(s Sequence) (ids, rows []int) {
	ids = make([]int, 0, len(s.Prompt)+len(s.Completion))
	ids = append(append(ids, s.Prompt...), s.Completion...)
	rows = make([]int, len(s.Completion))
	for i := range rows {
		rows[i] = len(s.Prompt) - 1 + i
	}
	return ids, rows
}

// refLogprobs are the reference policy's log-probabilities of s's
// completion when the loss has a KL term: the sequence's own, or the frozen
// reference model's.
func (t *Trainer) refLogprobs(s Sequence, loss Loss, ids, rows []int) ([]float64, error) {
	if loss.Kind != LossGRPO || loss.GRPO.KLCoef <= 0 || s.RefLogprobs != nil {
		return s.RefLogprobs, nil
	}
	rp, err := t.ref.forward(ids, rows)
	if err != nil {
		return nil, err
	}
	return targetLogprobs(rp.probs, s.Completion, t.model.cfg.Vocab), nil
}

// tokenGrads is the engine-independent part of the loss: given the policy's
// log-probabilities of s's completion, it adds the sequence's loss (scaled
// by f) and statistics to st and returns dLoss/dlogp for each token.
func tokenGrads(s Sequence, loss Loss, f float64, logp, ref []float64, st *Stats) []float64 {
	withRef := loss.Kind == LossGRPO && loss.GRPO.KLCoef > 0
	dlogp := make([]float64, len(s.Completion))
	// The ratio is taken to the old policy, or to the sampler without one.
	olds, isw := s.OldLogprobs, []float64(nil)
	if loss.Kind == LossGRPO {
		if olds == nil {
			olds = s.SamplerLogprobs
		}
		isw, _ = grpo.ISWeights(loss.GRPO, olds, s.SamplerLogprobs, s.Mask)
	}
	for r := range s.Completion {
		mask := 1.0
		if s.Mask != nil {
			mask = s.Mask[r]
		}
		if mask == 0 {
			continue
		}
		var tt tokenTerm
		if loss.Kind == LossSFT {
			tt = tokenTerm{loss: -logp[r], dlogp: -1}
		} else {
			var rl float64
			if withRef {
				rl = ref[r]
			}
			tt = grpoToken(loss.GRPO, s.Advantage, logp[r], olds[r], isw[r], rl, withRef)
			st.SamplerLogprobDiff += math.Abs(logp[r] - s.SamplerLogprobs[r])
			st.RatioMean += tt.ratio
			st.KL += tt.kl
			if tt.clipped {
				st.ClipFraction++
			}
		}
		st.Loss += f * mask * tt.loss
		st.MeanLogprob += logp[r]
		st.Tokens++
		dlogp[r] = f * mask * tt.dlogp
	}
	st.PromptTokens += len(s.Prompt)
	return dlogp
}

func targetLogprobs(probs []float64, targets []int, V int) []float64 {
	out := make([]float64, len(targets))
	for r, tok := range targets {
		out[r] = math.Log(math.Max(probs[r*V+tok], math.SmallestNonzeroFloat64))
	}
	return out
}

// ZeroGrad drops the accumulated gradients.
func (t *Trainer) ZeroGrad() {
	t.mu.Lock()
	defer t.mu.Unlock()
	clear(t.grads.flat)
	t.pending = 0
}

// OptimStep applies one AdamW step with the accumulated gradients (clipped
// to o.GradClip in global norm, at the rate o.LRAt(step)) and zeroes them.
// Weight decay applies to matrices and embeddings, not to norm gains.
func (t *Trainer) OptimStep(ctx context.Context, o OptimConfig) (OptimStats, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := o.validate(); err != nil {
		return OptimStats{}, err
	}
	if err := ctx.Err(); err != nil {
		return OptimStats{}, err
	}
	if t.pending == 0 {
		return OptimStats{}, errors.New("optimizer step: no gradients accumulated; call ForwardBackward first")
	}
	g := t.grads.flat
	norm := 0.0
	for _, x := range g {
		norm += x * x
	}
	norm = math.Sqrt(norm)
	if math.IsNaN(norm) || math.IsInf(norm, 0) {
		clear(g)
		t.pending = 0
		return OptimStats{}, fmt.Errorf("optimizer step %d: gradient norm is %v; step skipped, gradients dropped", t.step, norm)
	}
	scale := 1.0
	clipped := false
	if o.GradClip > 0 && norm > o.GradClip {
		scale = o.GradClip / norm
		clipped = true
	}
	lr := o.LRAt(t.step)
	t.step++
	b1, b2 := o.Beta1, o.Beta2
	bc1 := 1 - math.Pow(b1, float64(t.step))
	bc2 := 1 - math.Pow(b2, float64(t.step))
	c := t.model.cfg
	w, m1, m2 := t.model.w.named(c), t.m1.named(c), t.m2.named(c)
	gs := t.grads.named(c)
	for k, spec := range tensorSpecs(c) {
		decay := 0.0
		if len(spec.shape) == 2 {
			decay = o.WeightDecay
		}
		wk, gk, mk, vk := w[k], gs[k], m1[k], m2[k]
		for i := range wk {
			gi := gk[i] * scale
			mk[i] = b1*mk[i] + (1-b1)*gi
			vk[i] = b2*vk[i] + (1-b2)*gi*gi
			mh := mk[i] / bc1
			vh := vk[i] / bc2
			wk[i] -= lr * (mh/(math.Sqrt(vh)+o.Eps) + decay*wk[i])
		}
	}
	clear(g)
	t.pending = 0
	return OptimStats{Step: t.step, LR: lr, GradNorm: norm, Clipped: clipped}, nil
}
