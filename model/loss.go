package model

import "tabler1/grpo"

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

// grpoToken is the per-token term of grpo.Loss (grpo.TokenTerm): policy
// gradient weighted by the importance weight is (grpo.ISWeights) plus the
// KL term (both later multiplied by the token's aggregation weight,
// grpo.AggWeights, and mask).
func grpoToken(cfg grpo.LossConfig, adv, logp, old, is, ref float64, withRef bool) tokenTerm {
	tok := grpo.TokenTerm(cfg, adv, logp, old, ref, withRef)
	tt := tokenTerm{loss: is * tok.PG, dlogp: is * tok.DPG, clipped: tok.Clipped, ratio: tok.Ratio, is: is}
	if withRef {
		tt.kl = tok.KL
		tt.loss += cfg.KLCoef * tok.KL
		tt.dlogp += cfg.KLCoef * tok.DKL
	}
	return tt
}
