package grpo

import (
	"errors"
	"fmt"
	"math"
	"strings"
)

// Loss aggregation modes (verl's actor.loss_agg_mode).
const (
	AggTokenMean           = "token-mean"
	AggSeqMeanTokenSum     = "seq-mean-token-sum"
	AggSeqMeanTokenMean    = "seq-mean-token-mean"
	AggSeqMeanTokenSumNorm = "seq-mean-token-sum-norm"
)

// KL estimators (verl's actor.kl_loss_type; verl's aliases kl, mse and
// low_var_kl are accepted).
const (
	KLK1 = "k1"
	KLK2 = "k2"
	KLK3 = "k3"
)

// Importance-sampling correction modes against the sampler (TRL's
// vllm_importance_sampling_mode values): the ratio is taken per token or
// per sequence (the product of the sequence's token ratios) and, above the
// cap, truncated to it or masked to 0.
const (
	ISTokenTruncate    = "token_truncate"
	ISTokenMask        = "token_mask"
	ISSequenceTruncate = "sequence_truncate"
	ISSequenceMask     = "sequence_mask"
)

// k3Clamp is verl's clamp on the k3 (low_var_kl) value, logRatioClamp
// its clamp on log(pi/pi_old) before the exponential.
const (
	k3Clamp       = 10
	logRatioClamp = 20
)

// LossConfig configures the policy loss. Field names follow verl. The zero
// value is PPO clip 0.2 both ways, no dual clip, token-mean, no KL term, no
// importance-sampling correction.
type LossConfig struct {
	// ClipRatioLow and ClipRatioHigh bound the ratio to
	// [1-ClipRatioLow, 1+ClipRatioHigh]; 0 takes 0.2. DAPO's clip-higher
	// is ClipRatioHigh 0.28.
	ClipRatioLow  float64 `yaml:"clip_ratio_low" json:"clip_ratio_low"`
	ClipRatioHigh float64 `yaml:"clip_ratio_high" json:"clip_ratio_high"`
	// ClipRatioC is the dual-clip bound (> 1; verl's default 3): for a
	// negative advantage the per-token loss is at most -A*ClipRatioC.
	// 0 disables dual clip.
	ClipRatioC float64 `yaml:"clip_ratio_c" json:"clip_ratio_c"`
	// LossAggMode is token-mean (""), seq-mean-token-sum,
	// seq-mean-token-mean or seq-mean-token-sum-norm.
	LossAggMode string `yaml:"loss_agg_mode" json:"loss_agg_mode"`
	// LossScaleFactor is seq-mean-token-sum-norm's constant divisor (Dr.
	// GRPO's generation budget; verl's loss_scale_factor). 0 takes the
	// longest sequence in the batch, len(Logprobs), which is verl's padded
	// response width when the batch is padded to the maximum length. Set it
	// to the maximum response length for a divisor that is truly constant.
	LossScaleFactor float64 `yaml:"loss_scale_factor" json:"loss_scale_factor"`
	// KLType is k1, k2 or k3 ("" = k3) and KLCoef its coefficient
	// (verl's kl_loss_coef; 0 = no KL term, the TRL and DAPO default).
	KLType string  `yaml:"kl_loss_type" json:"kl_loss_type"`
	KLCoef float64 `yaml:"kl_loss_coef" json:"kl_loss_coef"`
	// TISCap turns on token-level truncated importance sampling against the
	// sampler: each token's policy-gradient term is weighted by
	// min(exp(OldLogprob - SamplerLogprob), TISCap), a constant. 0 = off.
	// verl's rollout_is_threshold (2 there), TRL's
	// vllm_importance_sampling_cap (3 there, token_truncate mode).
	TISCap float64 `yaml:"rollout_is_threshold" json:"rollout_is_threshold"`
	// ISMode says how TISCap applies (see ISWeights): token_truncate (""),
	// token_mask, sequence_truncate or sequence_mask, as TRL's
	// vllm_importance_sampling_mode (whose default is sequence_mask).
	ISMode string `yaml:"rollout_is_mode" json:"rollout_is_mode"`
}

// DefaultLossConfig is verl's actor defaults: clip 0.2/0.2, dual clip 3,
// token-mean, k3 KL with coefficient 0 (off), no TIS.
func DefaultLossConfig() LossConfig {
	return LossConfig{ClipRatioLow: 0.2, ClipRatioHigh: 0.2, ClipRatioC: 3, LossAggMode: AggTokenMean, KLType: KLK3}
}

// Validate reports what is wrong with c.
func (c LossConfig) Validate() error {
	var errs []error
	finite := func(name string, v float64) bool {
		if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
			errs = append(errs, fmt.Errorf("grpo: loss %s = %v: must be a finite number >= 0", name, v))
			return false
		}
		return true
	}
	if finite("clip_ratio_low", c.ClipRatioLow) && c.ClipRatioLow >= 1 {
		errs = append(errs, fmt.Errorf("grpo: loss clip_ratio_low = %v: must be < 1", c.ClipRatioLow))
	}
	finite("clip_ratio_high", c.ClipRatioHigh)
	if finite("clip_ratio_c", c.ClipRatioC) && c.ClipRatioC != 0 && c.ClipRatioC <= 1 {
		errs = append(errs, fmt.Errorf("grpo: loss clip_ratio_c = %v: must be > 1 (or 0 to disable dual clip)", c.ClipRatioC))
	}
	finite("loss_scale_factor", c.LossScaleFactor)
	finite("kl_loss_coef", c.KLCoef)
	finite("rollout_is_threshold", c.TISCap)
	switch c.LossAggMode {
	case "", AggTokenMean, AggSeqMeanTokenSum, AggSeqMeanTokenMean, AggSeqMeanTokenSumNorm:
	default:
		errs = append(errs, fmt.Errorf("grpo: unknown loss_agg_mode %q: use token-mean, seq-mean-token-sum, seq-mean-token-mean or seq-mean-token-sum-norm", c.LossAggMode))
	}
	if _, _, err := klKind(c.KLType); err != nil {
		errs = append(errs, err)
	}
	switch c.ISMode {
	case "", ISTokenTruncate, ISTokenMask, ISSequenceTruncate, ISSequenceMask:
	default:
		errs = append(errs, fmt.Errorf("grpo: unknown rollout_is_mode %q: use token_truncate, token_mask, sequence_truncate or sequence_mask", c.ISMode))
	}
	return errors.Join(errs...)
}

// klKind returns the estimator of a kl_loss_type and whether its gradient
// is the straight-through one: verl's "+" suffix (k3+ and so on) keeps the
// estimator's value but takes k2's gradient, l - l_ref, which is unbiased
// for the KL's gradient where k3's is not.
func klKind(s string) (kind string, straight bool, err error) {
	base, straight := strings.CutSuffix(s, "+")
	switch base {
	case "", KLK3, "low_var_kl":
		kind = KLK3
	case KLK1, "kl":
		kind = KLK1
	case KLK2, "mse":
		kind = KLK2
	default:
		return "", false, fmt.Errorf("grpo: unknown kl_loss_type %q: use k1 (kl), k2 (mse) or k3 (low_var_kl), each with an optional + for the straight-through gradient (k3+)", s)
	}
	if straight && base == "" {
		return "", false, fmt.Errorf("grpo: kl_loss_type %q: a + needs an estimator before it (k3+)", s)
	}
	return kind, straight, nil
}

// ISWeights returns each token's importance weight against the sampler for
// a sequence whose behaviour-policy (pi_old) log-probabilities are old and
// whose sampler log-probabilities are sampler, and whether the cap was in
// force at that token (truncated or masked). The weights are constants of
// the loss, all 1 when cfg.TISCap is 0; mask may be nil (all 1). With cap
// C and d_t = old_t - sampler_t:
//
//	token_truncate     w_t = min(exp(d_t), C)
//	token_mask         w_t = exp(d_t), or 0 where exp(d_t) > C
//	sequence_truncate  w_t = min(exp(D), C),       D = sum_t mask_t*d_t
//	sequence_mask      w_t = exp(D), or 0 where exp(D) > C
func ISWeights(cfg LossConfig, old, sampler, mask []float64) (w []float64, capped []bool) {
	w = make([]float64, len(old))
	capped = make([]bool, len(old))
	if cfg.TISCap <= 0 {
		for t := range w {
			w[t] = 1
		}
		return w, capped
	}
	logCap := math.Log(cfg.TISCap)
	maskOut := cfg.ISMode == ISTokenMask || cfg.ISMode == ISSequenceMask
	weigh := func(d float64) (float64, bool) {
		switch {
		case d <= logCap:
			return math.Exp(d), false
		case maskOut:
			return 0, true
		}
		return cfg.TISCap, true
	}
	if cfg.ISMode == ISSequenceTruncate || cfg.ISMode == ISSequenceMask {
		D := 0.0
		for t := range old {
			m := 1.0
			if mask != nil {
				m = mask[t]
			}
			D += m * (old[t] - sampler[t])
		}
		sw, sc := weigh(D)
		for t := range w {
			w[t], capped[t] = sw, sc
		}
		return w, capped
	}
	for t := range old {
		w[t], capped[t] = weigh(old[t] - sampler[t])
	}
	return w, capped
}

// SeqInput is one sequence's response tokens. Every per-token slice has the
// length of Logprobs; nil optional slices are described field by field.
type SeqInput struct {
	// Logprobs are the current policy's log-probabilities of the sampled
	// tokens: the variables the gradient is taken with respect to.
	Logprobs []float64
	// OldLogprobs are the behaviour policy's (pi_old, computed by the
	// trainer before the update). nil means on-policy: pi_old is the
	// current policy with its gradient stopped (ratio 1, gradient -A).
	OldLogprobs []float64
	// SamplerLogprobs are the inference engine's, needed when TISCap > 0.
	SamplerLogprobs []float64
	// RefLogprobs are the reference policy's, needed when KLCoef > 0.
	RefLogprobs []float64
	// Mask weights each token's loss, 1 for response tokens and 0 for
	// padding or excluded tokens (any weight >= 0 is taken linearly,
	// including in the token counts). nil means all 1.
	Mask []float64
	// Advantage is the sequence's advantage, the same for all its tokens.
	Advantage float64
}

// LossStats describe a loss evaluation; fractions and means are over
// tokens, weighted by the mask.
type LossStats struct {
	// Tokens is the sum of the mask.
	Tokens float64 `json:"tokens"`
	// ClipFracHigh: tokens with A > 0 and ratio > 1+clip_ratio_high (their
	// gradient is clipped to 0). ClipFracLow: A < 0 and ratio <
	// 1-clip_ratio_low. DualClipFrac: A < 0 and the dual-clip bound active.
	ClipFracHigh float64 `json:"clip_frac_high"`
	ClipFracLow  float64 `json:"clip_frac_low"`
	DualClipFrac float64 `json:"dual_clip_frac"`
	// RatioMean and RatioMax describe pi/pi_old.
	RatioMean float64 `json:"ratio_mean"`
	RatioMax  float64 `json:"ratio_max"`
	// PPOKL is the mean of OldLogprob - Logprob (verl's ppo_kl).
	PPOKL float64 `json:"ppo_kl"`
	// KLMean is the mean per-token KL estimate against the reference (0
	// without reference logprobs).
	KLMean float64 `json:"kl_mean"`
	// TISWeightMean is the mean importance weight after the cap and
	// TISCappedFrac the share of tokens whose weight was capped.
	TISWeightMean float64 `json:"tis_weight_mean"`
	TISCappedFrac float64 `json:"tis_capped_frac"`
	// Entropy is the mean negative log-probability of the sampled tokens,
	// an estimate of the policy's entropy.
	Entropy float64 `json:"entropy"`
}

// LossResult is the loss, its parts, and its gradient.
type LossResult struct {
	// Loss = PGLoss + KLCoef*KLLoss.
	Loss   float64 `json:"loss"`
	PGLoss float64 `json:"pg_loss"`
	KLLoss float64 `json:"kl_loss"`
	// Grad[i][t] is dLoss/dLogprobs[i][t].
	Grad  [][]float64 `json:"-"`
	Stats LossStats   `json:"stats"`
}

// Loss is the reference policy loss and its gradient with respect to each
// token's log-probability, in float64. For sequence i and token t, with
// l = Logprobs, l_old = OldLogprobs (l with its gradient stopped when nil),
// l_s = SamplerLogprobs, l_ref = RefLogprobs, m = Mask, A = Advantage,
// lo = ClipRatioLow, hi = ClipRatioHigh, c = ClipRatioC:
//
//	rho  = exp(clamp(l - l_old, -20, 20))      (verl's clamp)
//	pg1  = -A*rho
//	pg2  = -A*clip(rho, 1-lo, 1+hi)
//	pg   = max(pg1, pg2)
//	pg   = min(pg, -A*c)                if c > 0 and A < 0   (dual clip)
//	w    = min(exp(l_old - l_s), cap)   if TISCap > 0, else 1 (a constant;
//	                                    other rollout_is_mode: ISWeights)
//	kl   = l - l_ref                    (k1)
//	     = (l - l_ref)^2 / 2            (k2)
//	     = min(exp(d) - d - 1, 10), d = l_ref - l   (k3, verl's clamp)
//	Loss = Agg(w*pg) + KLCoef*Agg(kl)
//
// The TIS weight multiplies the policy-gradient term only (as verl). Agg
// over the batch, N sequences, K = LossScaleFactor or the longest
// sequence:
//
//	token-mean               sum_i sum_t m*x / sum_i sum_t m
//	seq-mean-token-sum       (1/N) sum_i sum_t m*x
//	seq-mean-token-mean      (1/N') sum_i (sum_t m*x / sum_t m), N' the
//	                         sequences with sum_t m > 0 (verl: NaN on empty)
//	seq-mean-token-sum-norm  sum_i sum_t m*x / K
//
// so dLoss/dl = a*(w*dpg/dl + KLCoef*dkl/dl) with a the token's weight in
// Agg, and
//
//	dpg/dl = -A*rho  where pg1 is the term in force (pg1 >= pg2, and not
//	                 the dual-clip bound); 0 where the clip, the dual-clip
//	                 bound or the log-ratio clamp is in force
//	dkl/dl = 1 (k1), l - l_ref (k2), 1 - exp(d) (k3; 0 where clamped);
//	         l - l_ref for every "+" type (k3+: k3's value, k2's gradient)
//
// An empty batch, or one whose masks sum to 0, has loss 0 and zero
// gradients. Inputs must be finite and consistent in length; an error says
// which sequence and slice is wrong.
func Loss(cfg LossConfig, batch []SeqInput) (LossResult, error) {
	if err := cfg.Validate(); err != nil {
		return LossResult{}, err
	}
	if err := checkBatch(cfg, batch); err != nil {
		return LossResult{}, err
	}
	lo, hi := cfg.clipRange()
	useKL := cfg.KLCoef > 0

	// Aggregation weights a[i][t] (without the mask) and the token total.
	var res LossResult
	res.Grad = make([][]float64, len(batch))
	seqWeight := make([]float64, len(batch))
	var tokens float64
	maxLen := 0
	for i, s := range batch {
		res.Grad[i] = make([]float64, len(s.Logprobs))
		st := 0.0
		for t := range s.Logprobs {
			st += mask(s, t)
		}
		seqWeight[i] = st
		tokens += st
		maxLen = max(maxLen, len(s.Logprobs))
	}
	res.Stats.Tokens = tokens
	if tokens == 0 {
		return res, nil
	}
	agg := AggWeights(cfg.LossAggMode, cfg.LossScaleFactor, seqWeight, maxLen)

	st := &res.Stats
	st.RatioMax = math.Inf(-1)
	for i, s := range batch {
		a := agg[i]
		A := s.Advantage
		olds := s.OldLogprobs
		if olds == nil {
			olds = s.Logprobs
		}
		w, capped := ISWeights(cfg, olds, s.SamplerLogprobs, s.Mask)
		for t, l := range s.Logprobs {
			m := mask(s, t)
			if m == 0 {
				continue
			}
			lOld := olds[t]
			ref, withRef := 0.0, s.RefLogprobs != nil
			if withRef {
				ref = s.RefLogprobs[t]
			}
			tok := TokenTerm(cfg, A, l, lOld, ref, withRef)
			rho, pg, dpg := tok.Ratio, tok.PG, tok.DPG
			if tok.DualClip {
				st.DualClipFrac += m
			}
			switch {
			case A > 0 && rho > 1+hi:
				st.ClipFracHigh += m
			case A < 0 && rho < 1-lo:
				st.ClipFracLow += m
			}
			if capped[t] {
				st.TISCappedFrac += m
			}
			st.TISWeightMean += m * w[t]
			res.PGLoss += a * m * w[t] * pg
			g := w[t] * dpg
			if withRef {
				st.KLMean += m * tok.KL
				if useKL {
					res.KLLoss += a * m * tok.KL
					g += cfg.KLCoef * tok.DKL
				}
			}
			res.Grad[i][t] = a * m * g
			st.RatioMean += m * rho
			st.RatioMax = math.Max(st.RatioMax, rho)
			st.PPOKL += m * (lOld - l)
			st.Entropy += m * -l
		}
	}
	res.Loss = res.PGLoss + cfg.KLCoef*res.KLLoss
	for _, p := range []*float64{&st.ClipFracHigh, &st.ClipFracLow, &st.DualClipFrac, &st.RatioMean, &st.PPOKL,
		&st.KLMean, &st.TISWeightMean, &st.TISCappedFrac, &st.Entropy} {
		*p /= tokens
	}
	return res, nil
}

// Token is one completion token's term of the loss, before the
// importance weight, the mask and the aggregation weight.
type Token struct {
	// PG is the clipped policy-gradient term max(-A*rho, -A*clip(rho)),
	// bounded by the dual clip for A < 0, and DPG its derivative by the
	// token's log-probability.
	PG, DPG float64
	// Ratio is rho = exp(logp - old), the log-ratio clamped to
	// [-20, 20] as verl does (beyond it rho is constant).
	Ratio float64
	// Clipped: the clip or the dual-clip bound is in force (DPG is 0);
	// DualClip: the dual-clip bound is.
	Clipped, DualClip bool
	// KL and DKL are the KL estimate to the reference (LossConfig.KLType)
	// and its derivative, when a reference log-prob was given.
	KL, DKL float64
}

// TokenTerm is the per-token rule of Loss, for a trainer that computes its
// log-probabilities itself (the embedded model): the token's loss is
// is*PG + kl_coef*KL, its gradient is*DPG + kl_coef*DKL.
func TokenTerm(cfg LossConfig, adv, logp, old, ref float64, withRef bool) Token {
	lo, hi := cfg.clipRange()
	logRatio := logp - old
	drho := 1.0
	if logRatio > logRatioClamp || logRatio < -logRatioClamp {
		logRatio, drho = math.Max(-logRatioClamp, math.Min(logRatioClamp, logRatio)), 0
	}
	rho := math.Exp(logRatio)
	pg1 := -adv * rho
	pg2 := -adv * math.Min(math.Max(rho, 1-lo), 1+hi)
	tok := Token{PG: pg1, DPG: -adv * rho * drho, Ratio: rho}
	if pg2 > pg1 {
		tok.PG, tok.DPG, tok.Clipped = pg2, 0, true
	}
	if cfg.ClipRatioC > 0 && adv < 0 && -adv*cfg.ClipRatioC < tok.PG {
		tok.PG, tok.DPG, tok.Clipped, tok.DualClip = -adv*cfg.ClipRatioC, 0, true, true
	}
	if withRef {
		kind, straight, _ := klKind(cfg.KLType) // ruled out by Validate
		tok.KL, tok.DKL = klEstimate(kind, straight, logp, ref)
	}
	return tok
}

// clipRange is (clip_ratio_low, clip_ratio_high), 0.2 where unset.
func (c LossConfig) clipRange() (lo, hi float64) {
	lo, hi = c.ClipRatioLow, c.ClipRatioHigh
	if lo == 0 {
		lo = 0.2
	}
	if hi == 0 {
		hi = 0.2
	}
	return lo, hi
}

// AggWeights returns, per sequence, the factor a_i by which its tokens'
// mask-weighted losses enter the aggregate of loss_agg_mode mode: loss =
// sum_i a_i sum_t m_it x_it. tokenCounts are the sequences' mask sums,
// maxLen the longest sequence, scale loss_scale_factor (0: maxLen).
func AggWeights(mode string, scale float64, tokenCounts []float64, maxLen int) []float64 {
	f := make([]float64, len(tokenCounts))
	total, nonEmpty := 0.0, 0.0
	for _, c := range tokenCounts {
		total += c
		if c > 0 {
			nonEmpty++
		}
	}
	if scale == 0 {
		scale = float64(maxLen)
	}
	for i, c := range tokenCounts {
		switch mode {
		case AggSeqMeanTokenSum:
			f[i] = 1 / float64(len(tokenCounts))
		case AggSeqMeanTokenMean:
			if c > 0 {
				f[i] = 1 / (c * nonEmpty)
			}
		case AggSeqMeanTokenSumNorm:
			f[i] = 1 / scale
		default: // token-mean
			if total > 0 {
				f[i] = 1 / total
			}
		}
	}
	return f
}

func mask(s SeqInput, t int) float64 {
	if s.Mask == nil {
		return 1
	}
	return s.Mask[t]
}

// klEstimate returns the per-token KL estimate of the policy against the
// reference and its derivative with respect to the policy's logprob l.
func klEstimate(kind string, straight bool, l, ref float64) (kl, dkl float64) {
	kl, dkl = klValue(kind, l, ref)
	if straight {
		dkl = l - ref
	}
	return kl, dkl
}

func klValue(kind string, l, ref float64) (kl, dkl float64) {
	switch kind {
	case KLK1:
		return l - ref, 1
	case KLK2:
		return 0.5 * (l - ref) * (l - ref), l - ref
	}
	// exp(d) - d - 1, computed as expm1(d) - d to keep its precision near
	// d = 0, and floored at 0 against rounding (it is >= 0 exactly).
	d := ref - l
	kl = math.Max(math.Expm1(d)-d, 0)
	if kl > k3Clamp {
		return k3Clamp, 0
	}
	return kl, -math.Expm1(d)
}

// KL returns the per-token KL estimate of kind ("k1", "k2", "k3" or
// verl's aliases) of a policy logprob against a reference logprob, and its
// derivative with respect to the policy logprob. k2 and k3 are never
// negative.
func KL(kind string, logprob, refLogprob float64) (kl, dkl float64, err error) {
	k, straight, err := klKind(kind)
	if err != nil {
		return 0, 0, err
	}
	kl, dkl = klEstimate(k, straight, logprob, refLogprob)
	return kl, dkl, nil
}

func checkBatch(cfg LossConfig, batch []SeqInput) error {
	for i, s := range batch {
		n := len(s.Logprobs)
		if math.IsNaN(s.Advantage) || math.IsInf(s.Advantage, 0) {
			return fmt.Errorf("grpo: loss sequence %d: advantage is %v, must be finite", i, s.Advantage)
		}
		for _, f := range []struct {
			name     string
			v        []float64
			required bool
		}{
			{"Logprobs", s.Logprobs, true},
			{"OldLogprobs", s.OldLogprobs, false},
			{"SamplerLogprobs", s.SamplerLogprobs, cfg.TISCap > 0},
			{"RefLogprobs", s.RefLogprobs, cfg.KLCoef > 0},
			{"Mask", s.Mask, false},
		} {
			if f.v == nil {
				if f.required && n > 0 {
					return fmt.Errorf("grpo: loss sequence %d: %s missing (needed by the configuration: TISCap needs SamplerLogprobs, KLCoef needs RefLogprobs)", i, f.name)
				}
				continue
			}
			if len(f.v) != n {
				return fmt.Errorf("grpo: loss sequence %d: %s has %d values for %d tokens", i, f.name, len(f.v), n)
			}
			for t, x := range f.v {
				if math.IsNaN(x) || math.IsInf(x, 0) || (f.name == "Mask" && x < 0) {
					return fmt.Errorf("grpo: loss sequence %d: %s[%d] = %v: must be finite (and >= 0 for Mask)", i, f.name, t, x)
				}
			}
		}
	}
	return nil
}
