package model

import (
	"tabler1/grpo"

	"context"
	"math"
	"math/rand/v2"
	"testing"
)

func tinyConfig() Config {
	return Config{Layers: 2, Width: 8, Heads: 2, MLP: 12, Context: 16, Vocab: VocabSize}
}

// batchLoss evaluates the aggregated loss of batch without touching grads.
func batchLoss(t *testing.T, tr *Trainer, batch []Sequence, loss Loss) float64 {
	t.Helper()
	saved := append([]float64(nil), tr.grads.flat...)
	st, err := tr.ForwardBackward(context.Background(), batch, loss)
	if err != nil {
		t.Fatal(err)
	}
	copy(tr.grads.flat, saved)
	tr.pending--
	return st.Loss
}

func randomBatch(r *rand.Rand, n int) []Sequence {
	var b []Sequence
	for i := 0; i < n; i++ {
		p := make([]int, 1+r.IntN(5))
		c := make([]int, 1+r.IntN(6))
		for j := range p {
			p[j] = r.IntN(VocabSize)
		}
		lp := make([]float64, len(c))
		mask := make([]float64, len(c))
		for j := range c {
			c[j] = r.IntN(VocabSize)
			lp[j] = -5.6 + 0.3*r.NormFloat64()
			mask[j] = float64(r.IntN(3)) / 2
		}
		b = append(b, Sequence{Prompt: p, Completion: c, SamplerLogprobs: lp, Advantage: r.NormFloat64(), Mask: mask})
	}
	return b
}

func TestGradientFiniteDifference(t *testing.T) {
	losses := []struct {
		name string
		loss Loss
	}{
		{"sft", Loss{Kind: LossSFT}},
		{"grpo-token-mean-k3", Loss{Kind: LossGRPO, GRPO: grpo.LossConfig{ClipRatioLow: 0.2, ClipRatioHigh: 0.28, ClipRatioC: 3, KLCoef: 0.1, KLType: "k3"}}},
		{"grpo-seq-mean-k2", Loss{Kind: LossGRPO, GRPO: grpo.LossConfig{ClipRatioLow: 0.2, ClipRatioHigh: 0.2, LossAggMode: grpo.AggSeqMeanTokenMean, KLCoef: 0.5, KLType: "k2"}}},
		{"grpo-sum-norm-k1", Loss{Kind: LossGRPO, GRPO: grpo.LossConfig{ClipRatioLow: 0.2, ClipRatioHigh: 0.2, LossAggMode: grpo.AggSeqMeanTokenSumNorm, KLCoef: 0.3, KLType: "k1"}}},
	}
	for _, tc := range losses {
		t.Run(tc.name, func(t *testing.T) {
			m, err := New(tinyConfig(), 7)
			if err != nil {
				t.Fatal(err)
			}
			tr := NewTrainer(m)
			// Move the policy away from the reference so the KL has a gradient.
			r := rand.New(rand.NewPCG(3, 4))
			for i := range m.w.flat {
				m.w.flat[i] += 0.05 * r.NormFloat64()
			}
			batch := randomBatch(r, 3)
			if _, err := tr.ForwardBackward(context.Background(), batch, tc.loss); err != nil {
				t.Fatal(err)
			}
			analytic := append([]float64(nil), tr.grads.flat...)
			clear(tr.grads.flat)
			const h = 1e-5
			var nonzero []int
			for i, g := range analytic {
				if g != 0 {
					nonzero = append(nonzero, i)
				}
			}
			if len(nonzero) < len(analytic)/10 {
				t.Fatalf("only %d of %d gradient entries are non-zero", len(nonzero), len(analytic))
			}
			checked := 0
			for k := 0; k < 80; k++ {
				i := r.IntN(len(m.w.flat))
				if k%2 == 0 {
					i = nonzero[r.IntN(len(nonzero))]
				}
				old := m.w.flat[i]
				m.w.flat[i] = old + h
				lp := batchLoss(t, tr, batch, tc.loss)
				m.w.flat[i] = old - h
				lm := batchLoss(t, tr, batch, tc.loss)
				m.w.flat[i] = old
				num := (lp - lm) / (2 * h)
				if d := math.Abs(num - analytic[i]); d > 1e-6+1e-4*math.Abs(num) {
					t.Errorf("param %d: numeric %.9g, analytic %.9g", i, num, analytic[i])
				}
				checked++
			}
			if checked == 0 {
				t.Fatal("nothing checked")
			}
		})
	}
}

// TestGradientLongSequence spans several causal attention blocks.
func TestGradientLongSequence(t *testing.T) {
	cfg := Config{Layers: 1, Width: 8, Heads: 2, MLP: 8, Context: 2*attnBlock + 40}
	m, err := New(cfg, 5)
	if err != nil {
		t.Fatal(err)
	}
	tr := NewTrainer(m)
	r := rand.New(rand.NewPCG(8, 9))
	seq := Sequence{Prompt: make([]int, attnBlock+7), Completion: make([]int, attnBlock+20)}
	for i := range seq.Prompt {
		seq.Prompt[i] = r.IntN(VocabSize)
	}
	for i := range seq.Completion {
		seq.Completion[i] = r.IntN(VocabSize)
	}
	batch := []Sequence{seq}
	loss := Loss{Kind: LossSFT}
	if _, err := tr.ForwardBackward(context.Background(), batch, loss); err != nil {
		t.Fatal(err)
	}
	analytic := append([]float64(nil), tr.grads.flat...)
	clear(tr.grads.flat)
	// Check every attention weight (queries, keys, values, output).
	l := m.w.layers[0]
	start := len(m.w.tokEmb) + len(m.w.posEmb) + len(l.attnNorm)
	const h = 1e-5
	for k := 0; k < 40; k++ {
		i := start + r.IntN(len(l.qkv)+len(l.out))
		old := m.w.flat[i]
		m.w.flat[i] = old + h
		lp := batchLoss(t, tr, batch, loss)
		m.w.flat[i] = old - h
		lm := batchLoss(t, tr, batch, loss)
		m.w.flat[i] = old
		num := (lp - lm) / (2 * h)
		if math.Abs(num-analytic[i]) > 1e-7+1e-4*math.Abs(num) {
			t.Errorf("param %d: numeric %.9g, analytic %.9g", i, num, analytic[i])
		}
	}
	// Prefill (blocked forward) and decoding (one query at a time) agree.
	g, err := m.Generate(context.Background(), seq.Prompt, 1, SampleOptions{Temperature: 1, MaxTokens: attnBlock, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	want, _ := m.Score(seq.Prompt, g[0].Tokens)
	for i := range want {
		if math.Abs(want[i]-g[0].Logprobs[i]) > 1e-9 {
			t.Fatalf("token %d: decode %v, score %v", i, g[0].Logprobs[i], want[i])
		}
	}
}
