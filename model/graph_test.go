package model

import (
	"math"
	"math/rand/v2"
	"testing"

	"tabler1/grpo"
)

// The gorgonia engine and the plain-Go engine compute the same
// log-probabilities and the same weight gradients on a padded batch.
func TestGraphEngineMatchesPlainGo(t *testing.T) {
	cfg := Config{Layers: 2, Width: 16, Heads: 2, MLP: 24, Context: 32, Vocab: VocabSize}
	m, err := New(cfg, 3)
	if err != nil {
		t.Fatal(err)
	}
	c := m.cfg
	r := rand.New(rand.NewPCG(1, 2))
	lens := []int{9, 5, 12}
	ids := make([][]int, len(lens))
	rows := make([][]int, len(lens))
	dlogp := make([][]float64, len(lens))
	for b, n := range lens {
		for i := 0; i < n; i++ {
			ids[b] = append(ids[b], r.IntN(c.Vocab))
		}
		for t := 2; t < n-1; t++ {
			rows[b] = append(rows[b], t)
			dlogp[b] = append(dlogp[b], r.NormFloat64())
		}
	}
	got, err := m.graphLogprobs(ids, rows, dlogp)
	if err != nil {
		t.Fatal(err)
	}
	want := newParams(c)
	for b := range ids {
		p, err := m.forward(ids[b], rows[b])
		if err != nil {
			t.Fatal(err)
		}
		V := c.Vocab
		dl := make([]float64, len(rows[b])*V)
		for i, pos := range rows[b] {
			tok := ids[b][pos+1]
			lp := math.Log(p.probs[i*V+tok])
			if d := math.Abs(lp - got.logprobs[b][i]); d > 1e-9 {
				t.Fatalf("sequence %d token %d: gorgonia logprob %v, plain Go %v", b, i, got.logprobs[b][i], lp)
			}
			// d(w*logp)/dlogits = w*(onehot - probs)
			for v := 0; v < V; v++ {
				dl[i*V+v] = -dlogp[b][i] * p.probs[i*V+v]
			}
			dl[i*V+tok] += dlogp[b][i]
		}
		m.backward(p, dl, want)
	}
	for i := range want.flat {
		if d := math.Abs(want.flat[i] - got.grads.flat[i]); d > 1e-9*(1+math.Abs(want.flat[i])) {
			t.Fatalf("gradient %d: gorgonia %v, plain Go %v", i, got.grads.flat[i], want.flat[i])
		}
	}
}

// benchBatch is a smoke-sized training batch: 8 sequences of 400 tokens, the
// last 100 scored.
func benchBatch(c Config) (ids, rows [][]int, dlogp [][]float64) {
	r := rand.New(rand.NewPCG(5, 6))
	for b := 0; b < 8; b++ {
		var s, rw []int
		var d []float64
		for i := 0; i < 400; i++ {
			s = append(s, r.IntN(256))
		}
		for t := 299; t < 399; t++ {
			rw = append(rw, t)
			d = append(d, 0.01)
		}
		ids, rows, dlogp = append(ids, s), append(rows, rw), append(dlogp, d)
	}
	return ids, rows, dlogp
}

// BenchmarkTrainEngines compares one forward-backward of the gorgonia graph
// with the plain-Go engine on the same batch (run with -bench TrainEngines).
func BenchmarkTrainEngines(b *testing.B) {
	m, err := New(SmokeConfig(), 1)
	if err != nil {
		b.Fatal(err)
	}
	ids, rows, dlogp := benchBatch(m.cfg)
	b.Run("gorgonia", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, err := m.graphLogprobs(ids, rows, dlogp); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N*8*400)/b.Elapsed().Seconds(), "tokens/s")
	})
	b.Run("plain-go", func(b *testing.B) {
		g := newParams(m.cfg)
		V := m.cfg.Vocab
		for i := 0; i < b.N; i++ {
			for s := range ids {
				p, err := m.forward(ids[s], rows[s])
				if err != nil {
					b.Fatal(err)
				}
				m.backward(p, make([]float64, len(rows[s])*V), g)
			}
		}
		b.ReportMetric(float64(b.N*8*400)/b.Elapsed().Seconds(), "tokens/s")
	})
}

// A Trainer on the gorgonia engine takes the same step as one on the
// plain-Go engine: equal loss and statistics, equal weights after AdamW.
func TestTrainerEnginesAgree(t *testing.T) {
	cfg := Config{Layers: 1, Width: 16, Heads: 2, MLP: 32, Context: 48, Vocab: VocabSize}
	batch := []Sequence{
		{Prompt: []int{BOS, 'a', 'b'}, Completion: []int{'c', 'd', EOS}, SamplerLogprobs: []float64{-5, -5.5, -6}, Advantage: 1},
		{Prompt: []int{BOS, 'x'}, Completion: []int{'y', EOS}, SamplerLogprobs: []float64{-5.2, -5.9}, Advantage: -0.5, Mask: []float64{1, 0.5}},
	}
	for _, loss := range []Loss{{Kind: LossSFT}, {Kind: LossGRPO, GRPO: grpo.DefaultLossConfig()}} {
		var weights [][]float64
		var losses []float64
		for _, e := range []Engine{EnginePlain, EngineGorgonia} {
			m, err := New(cfg, 9)
			if err != nil {
				t.Fatal(err)
			}
			tr := NewTrainer(m)
			tr.Engine = e
			st, err := tr.ForwardBackward(t.Context(), batch, loss)
			if err != nil {
				t.Fatalf("%s engine: %v", e, err)
			}
			if _, err := tr.OptimStep(t.Context(), DefaultOptimConfig()); err != nil {
				t.Fatal(err)
			}
			losses = append(losses, st.Loss)
			weights = append(weights, tr.Model().w.flat)
		}
		if math.Abs(losses[0]-losses[1]) > 1e-9*(1+math.Abs(losses[0])) {
			t.Fatalf("%s loss: plain %v, gorgonia %v", loss.Kind, losses[0], losses[1])
		}
		for i := range weights[0] {
			if math.Abs(weights[0][i]-weights[1][i]) > 1e-9 {
				t.Fatalf("%s: weight %d after one step: plain %v, gorgonia %v", loss.Kind, i, weights[0][i], weights[1][i])
			}
		}
	}
}
