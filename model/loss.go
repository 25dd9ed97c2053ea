package model

import (
	"math"

	"tabler1/grpo"
)

// LossKind selects the objective of a ForwardBackward call.
type LossKind string

const (
	// LossSFT is the cross-entropy of the completion tokens (prompt tokens
	// are context only), averaged over the batch's (mask-weighted)
	// completion tokens.
	LossSFT LossKind = "sft"
	// LossGRPO is grpo's reference policy loss (see grpo.Loss for the
	// formula): the clipped ratio of the policy to the old policy with dual
	// clip, token-level truncated importance sampling against the sampler,
	// and a k1/k2/k3 KL to the frozen reference, aggregated by
	// loss_agg_mode.
	LossGRPO LossKind = "grpo"
)

// tokenTerm is one token's loss before aggregation, its derivative by the
// token's log-probability, and what the stats need.
type tokenTerm struct {
	loss, dlogp   float64
	clipped       bool
	kl, ratio, is float64
}

// grpoToken is the per-token term of grpo.Loss: policy gradient weighted by
// the importance weight is (grpo.ISWeights) plus the KL term (both later
// multiplied by the token's aggregation weight and mask).
func grpoToken(cfg grpo.LossConfig, adv, logp, old, is, ref float64, withRef bool) tokenTerm {
	lo, hi := cfg.ClipRatioLow, cfg.ClipRatioHigh
	if lo == 0 {
		lo = 0.2
	}
	if hi == 0 {
		hi = 0.2
	}
	rho := math.Exp(logp - old)
	pg1 := -adv * rho
	pg2 := -adv * math.Min(math.Max(rho, 1-lo), 1+hi)
	tt := tokenTerm{loss: pg1, dlogp: -adv * rho, ratio: rho, is: 1}
	if pg2 > pg1 {
		tt.loss, tt.dlogp, tt.clipped = pg2, 0, true
	}
	if cfg.ClipRatioC > 0 && adv < 0 && -adv*cfg.ClipRatioC < tt.loss {
		tt.loss, tt.dlogp, tt.clipped = -adv*cfg.ClipRatioC, 0, true
	}
	tt.is = is
	tt.loss *= is
	tt.dlogp *= is
	if withRef {
		// The error was ruled out by LossConfig.Validate.
		kl, dkl, _ := grpo.KL(cfg.KLType, logp, ref)
		tt.kl = kl
		tt.loss += cfg.KLCoef * kl
		tt.dlogp += cfg.KLCoef * dkl
	}
	return tt
}

// aggWeights returns, per sequence, the factor a_i by which its tokens'
// mask-weighted losses enter the aggregate (grpo.Loss's Agg): loss =
// sum_i a_i sum_t m_it x_it.
func aggWeights(mode string, scale float64, tokenCounts []float64, maxLen int) []float64 {
	f := make([]float64, len(tokenCounts))
	total, nonEmpty := 0.0, 0.0
	for _, c := range tokenCounts {
		total += c
		if c > 0 {
			nonEmpty++
		}
	}
	for i, c := range tokenCounts {
		switch mode {
		case grpo.AggSeqMeanTokenSum:
			f[i] = 1 / float64(len(tokenCounts))
		case grpo.AggSeqMeanTokenMean:
			if c > 0 {
				f[i] = 1 / (c * nonEmpty)
			}
		case grpo.AggSeqMeanTokenSumNorm:
			if scale == 0 {
				scale = float64(maxLen)
			}
			f[i] = 1 / scale
		default: // token-mean
			if total > 0 {
				f[i] = 1 / total
			}
		}
	}
	return f
}
