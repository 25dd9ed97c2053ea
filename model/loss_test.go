package model

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"tabler1/grpo"
)

func relClose(a, b, rel float64) bool {
	return math.Abs(a-b) <= rel*math.Max(1e-12, math.Max(math.Abs(a), math.Abs(b)))
}

func lossConfigs() []grpo.LossConfig {
	var out []grpo.LossConfig
	for _, agg := range []string{grpo.AggTokenMean, grpo.AggSeqMeanTokenMean, grpo.AggSeqMeanTokenSum, grpo.AggSeqMeanTokenSumNorm} {
		for _, kl := range []string{"k1", "k2", "k3", "k3+"} {
			out = append(out,
				grpo.LossConfig{LossAggMode: agg, KLType: kl, KLCoef: 0.2},
				grpo.LossConfig{ClipRatioLow: 0.1, ClipRatioHigh: 0.28, ClipRatioC: 3, LossAggMode: agg, KLType: kl, KLCoef: 0.05, TISCap: 2},
			)
		}
		for _, mode := range []string{grpo.ISTokenMask, grpo.ISSequenceTruncate, grpo.ISSequenceMask} {
			out = append(out, grpo.LossConfig{LossAggMode: agg, KLType: "k2", KLCoef: 0.1, TISCap: 1.5, ISMode: mode})
		}
		out = append(out, grpo.LossConfig{LossAggMode: agg, LossScaleFactor: 7, ClipRatioC: 1.5})
	}
	return out
}

// randomSeqInputs is a batch of n sequences of 1..8 tokens with every
// per-token input set and masks of 0, 0.5 and 1.
func randomSeqInputs(r *rand.Rand, n int) []grpo.SeqInput {
	var batch []grpo.SeqInput
	for i := 0; i < n; i++ {
		tokens := 1 + r.IntN(8)
		s := grpo.SeqInput{Advantage: r.NormFloat64()}
		for k := 0; k < tokens; k++ {
			l := -3 + r.NormFloat64()
			s.Logprobs = append(s.Logprobs, l)
			s.OldLogprobs = append(s.OldLogprobs, l+0.4*r.NormFloat64())
			s.SamplerLogprobs = append(s.SamplerLogprobs, l+0.4*r.NormFloat64())
			s.RefLogprobs = append(s.RefLogprobs, l+r.NormFloat64())
			s.Mask = append(s.Mask, float64(r.IntN(3))/2)
		}
		batch = append(batch, s)
	}
	return batch
}

// TestTokenLossMatchesGRPO checks the per-token terms and aggregation
// weights the trainer uses against grpo.Loss: loss and dLoss/dlogprob of
// every token within 1e-6 relative.
func TestTokenLossMatchesGRPO(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for ci, cfg := range lossConfigs() {
		t.Run(fmt.Sprintf("%d-%s-%s-%s", ci, cfg.LossAggMode, cfg.KLType, cfg.ISMode), func(t *testing.T) {
			batch := randomSeqInputs(r, 5)
			want, err := grpo.Loss(cfg, batch)
			if err != nil {
				t.Fatal(err)
			}
			counts := make([]float64, len(batch))
			maxLen := 0
			for i, s := range batch {
				counts[i] = maskSum(s.Mask, len(s.Logprobs))
				maxLen = max(maxLen, len(s.Logprobs))
			}
			f := aggWeights(cfg.LossAggMode, cfg.LossScaleFactor, counts, maxLen)
			loss := 0.0
			for i, s := range batch {
				isw, _ := grpo.ISWeights(cfg, s.OldLogprobs, s.SamplerLogprobs, s.Mask)
				for k, l := range s.Logprobs {
					tt := grpoToken(cfg, s.Advantage, l, s.OldLogprobs[k], isw[k], s.RefLogprobs[k], cfg.KLCoef > 0)
					loss += f[i] * s.Mask[k] * tt.loss
					g := f[i] * s.Mask[k] * tt.dlogp
					if !relClose(g, want.Grad[i][k], 1e-6) {
						t.Fatalf("seq %d token %d: dloss/dlogp %v, grpo %v", i, k, g, want.Grad[i][k])
					}
				}
			}
			if !relClose(loss, want.Loss, 1e-6) {
				t.Fatalf("loss %v, grpo %v", loss, want.Loss)
			}
		})
	}
}

// TestTrainerLossMatchesGRPO runs whole batches through the trainer and
// compares its loss with grpo.Loss fed the model's own log-probabilities.
func TestTrainerLossMatchesGRPO(t *testing.T) {
	m, err := New(tinyConfig(), 2)
	if err != nil {
		t.Fatal(err)
	}
	tr := NewTrainer(m)
	r := rand.New(rand.NewPCG(9, 9))
	for i := range m.w.flat {
		m.w.flat[i] += 0.05 * r.NormFloat64() // policy != reference
	}
	for ci, cfg := range lossConfigs() {
		batch := randomBatch(r, 4)
		var in []grpo.SeqInput
		for i := range batch {
			s := &batch[i]
			lp, err := m.Score(s.Prompt, s.Completion)
			if err != nil {
				t.Fatal(err)
			}
			ref, _ := tr.ref.Score(s.Prompt, s.Completion)
			if ci%2 == 1 {
				s.OldLogprobs = make([]float64, len(lp))
				for k := range lp {
					s.OldLogprobs[k] = lp[k] + 0.3*r.NormFloat64()
					s.SamplerLogprobs[k] = lp[k] + 0.3*r.NormFloat64()
				}
			}
			old := s.OldLogprobs
			if old == nil {
				old = s.SamplerLogprobs
			}
			in = append(in, grpo.SeqInput{Logprobs: lp, OldLogprobs: old, SamplerLogprobs: s.SamplerLogprobs, RefLogprobs: ref, Mask: s.Mask, Advantage: s.Advantage})
		}
		want, err := grpo.Loss(cfg, in)
		if err != nil {
			t.Fatal(err)
		}
		st, err := tr.ForwardBackward(context.Background(), batch, Loss{Kind: LossGRPO, GRPO: cfg})
		if err != nil {
			t.Fatal(err)
		}
		tr.ZeroGrad()
		if !relClose(st.Loss, want.Loss, 1e-6) {
			t.Errorf("config %d %+v: trainer loss %v, grpo %v", ci, cfg, st.Loss, want.Loss)
		}
	}
}
