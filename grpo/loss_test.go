package grpo

import (
	"math"
	"math/rand/v2"
	"testing"

	"pgregory.net/rapid"
)

// seq builds a sequence whose ratios to pi_old are rho (Logprobs -1 plus
// log rho over OldLogprobs -1).
func seqRatios(adv float64, rho ...float64) SeqInput {
	s := SeqInput{Advantage: adv}
	for _, r := range rho {
		s.Logprobs = append(s.Logprobs, -1+math.Log(r))
		s.OldLogprobs = append(s.OldLogprobs, -1)
	}
	return s
}

func checkLoss(t *testing.T, name string, cfg LossConfig, batch []SeqInput, wantLoss float64, wantGrad [][]float64) LossResult {
	t.Helper()
	res, err := Loss(cfg, batch)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if math.Abs(res.Loss-wantLoss) > 1e-12 {
		t.Errorf("%s: loss %v, want %v", name, res.Loss, wantLoss)
	}
	if !nearAll(res.Grad, wantGrad) {
		t.Errorf("%s: grad %v, want %v", name, res.Grad, wantGrad)
	}
	return res
}

func TestLossClipGolden(t *testing.T) {
	cfg := LossConfig{ClipRatioLow: 0.2, ClipRatioHigh: 0.2}
	// A = 1. rho 1.1 is inside [0.8, 1.2]: pg = -1.1, dpg = -A*rho = -1.1.
	// rho 1.5 is clipped: max(-1.5, -1.2) = -1.2, dpg = 0.
	// rho 0.5 with A > 0 is not clipped: max(-0.5, -0.8) = -0.5, dpg = -0.5.
	// token-mean over 3 tokens: loss (-1.1-1.2-0.5)/3 = -2.8/3,
	// grad (-1.1/3, 0, -0.5/3).
	res := checkLoss(t, "A=1", cfg, []SeqInput{seqRatios(1, 1.1, 1.5, 0.5)}, -2.8/3, [][]float64{{-1.1 / 3, 0, -0.5 / 3}})
	if !near(res.Stats.ClipFracHigh, 1.0/3) || res.Stats.ClipFracLow != 0 {
		t.Errorf("clip fractions %+v", res.Stats)
	}
	if !near(res.Stats.RatioMax, 1.5) || !near(res.Stats.RatioMean, (1.1+1.5+0.5)/3) {
		t.Errorf("ratio stats %+v", res.Stats)
	}

	// A = -1. rho 1.1: pg = max(1.1, 1.1) = 1.1, dpg = 1.1.
	// rho 1.5: max(1.5, 1.2) = 1.5 unclipped, dpg = 1.5.
	// rho 0.5: max(0.5, 0.8) = 0.8 clipped, dpg 0.
	// loss (1.1+1.5+0.8)/3 = 3.4/3; grad (1.1/3, 1.5/3, 0).
	res = checkLoss(t, "A=-1", cfg, []SeqInput{seqRatios(-1, 1.1, 1.5, 0.5)}, 3.4/3, [][]float64{{1.1 / 3, 1.5 / 3, 0}})
	if !near(res.Stats.ClipFracLow, 1.0/3) || res.Stats.ClipFracHigh != 0 {
		t.Errorf("clip fractions %+v", res.Stats)
	}

	// Dual clip c = 1.3, A = -1: rho 1.5 gives min(1.5, 1.3) = 1.3, dpg 0.
	// loss (1.1+1.3+0.8)/3 = 3.2/3; grad (1.1/3, 0, 0).
	cfg.ClipRatioC = 1.3
	res = checkLoss(t, "dual", cfg, []SeqInput{seqRatios(-1, 1.1, 1.5, 0.5)}, 3.2/3, [][]float64{{1.1 / 3, 0, 0}})
	if !near(res.Stats.DualClipFrac, 1.0/3) {
		t.Errorf("dual clip fraction %+v", res.Stats)
	}

	// Clip-higher: high 0.6 lets rho 1.5 through for A = 1:
	// loss (-1.1-1.5-0.5)/3, grad (-1.1/3, -1.5/3, -0.5/3).
	checkLoss(t, "clip-higher", LossConfig{ClipRatioHigh: 0.6}, []SeqInput{seqRatios(1, 1.1, 1.5, 0.5)},
		-3.1/3, [][]float64{{-1.1 / 3, -1.5 / 3, -0.5 / 3}})
}

func TestLossAggregationGolden(t *testing.T) {
	// On-policy (no OldLogprobs): rho = 1, pg = -A, dpg = -A per token.
	// seq0: A = 1, 2 tokens -> pg (-1, -1). seq1: A = -2, 3 tokens ->
	// pg (2, 2, 2). seq2: A = 5, mask all 0 -> contributes nothing.
	batch := []SeqInput{
		{Logprobs: []float64{-1, -2}, Advantage: 1},
		{Logprobs: []float64{-0.5, -1, -3}, Advantage: -2},
		{Logprobs: []float64{-1}, Mask: []float64{0}, Advantage: 5},
	}
	for _, c := range []struct {
		mode  string
		scale float64
		loss  float64
		g0    float64 // gradient of each seq0 token
		g1    float64 // of each seq1 token
	}{
		// (-2 + 6) / 5 tokens; dL/dl = -A/5.
		{AggTokenMean, 0, 0.8, -1.0 / 5, 2.0 / 5},
		// sequence sums -2, 6, 0 over 3 sequences; dL/dl = -A/3.
		{AggSeqMeanTokenSum, 0, 4.0 / 3, -1.0 / 3, 2.0 / 3},
		// sequence means -1, 2 over the 2 non-empty; seq0 -1/(2*2), seq1 2/(3*2).
		{AggSeqMeanTokenMean, 0, 0.5, -0.25, 1.0 / 3},
		// sum 4 over K = longest sequence = 3.
		{AggSeqMeanTokenSumNorm, 0, 4.0 / 3, -1.0 / 3, 2.0 / 3},
		// sum 4 over K = 10.
		{AggSeqMeanTokenSumNorm, 10, 0.4, -0.1, 0.2},
	} {
		cfg := LossConfig{LossAggMode: c.mode, LossScaleFactor: c.scale}
		checkLoss(t, c.mode, cfg, batch, c.loss, [][]float64{{c.g0, c.g0}, {c.g1, c.g1, c.g1}, {0}})
	}
}

func TestLossKLGolden(t *testing.T) {
	// One token, A = 0 (no policy-gradient term), l = -1, ref = -2, coef 0.5.
	// k1: kl = l - ref = 1, dkl = 1 -> loss 0.5, grad 0.5.
	// k2: kl = 1/2, dkl = l - ref = 1 -> loss 0.25, grad 0.5.
	// k3: d = ref - l = -1, kl = e^-1 + 1 - 1 = e^-1, dkl = 1 - e^-1
	//     -> loss 0.5/e, grad 0.5(1 - 1/e).
	// k3 clamped: ref = 5, d = 6, e^6 - 7 > 10 -> kl 10, grad 0.
	batch := func(ref float64) []SeqInput {
		return []SeqInput{{Logprobs: []float64{-1}, RefLogprobs: []float64{ref}}}
	}
	for _, c := range []struct {
		kind       string
		ref        float64
		loss, grad float64
	}{
		{"k1", -2, 0.5, 0.5},
		{"kl", -2, 0.5, 0.5},
		{"k2", -2, 0.25, 0.5},
		{"mse", -2, 0.25, 0.5},
		{"k3", -2, 0.5 / math.E, 0.5 * (1 - 1/math.E)},
		{"low_var_kl", -2, 0.5 / math.E, 0.5 * (1 - 1/math.E)},
		{"", -2, 0.5 / math.E, 0.5 * (1 - 1/math.E)},
		{"k3", 5, 5, 0},
		// Straight-through: k3's value, k2's gradient l - ref = 1 (so 0.5
		// with the coefficient), even where k3 is clamped.
		{"k3+", -2, 0.5 / math.E, 0.5},
		{"low_var_kl+", -2, 0.5 / math.E, 0.5},
		{"k3+", 5, 5, 0.5 * (-1 - 5)},
		{"k1+", -2, 0.5, 0.5},
	} {
		res := checkLoss(t, c.kind, LossConfig{KLType: c.kind, KLCoef: 0.5}, batch(c.ref), c.loss, [][]float64{{c.grad}})
		if !near(res.KLLoss*0.5, c.loss) {
			t.Errorf("%s: KLLoss %v", c.kind, res.KLLoss)
		}
	}
	for _, bad := range []string{"k4", "+", "k4+", "k3++"} {
		if _, err := Loss(LossConfig{KLType: bad}, nil); err == nil {
			t.Errorf("KL type %q accepted", bad)
		}
	}
}

func TestLossTISGolden(t *testing.T) {
	// On-policy, A = 1, cap 2. Token 0: sampler -2, l_old = l = -1,
	// w = e^1 = 2.718 capped to 2: pg term -2, grad -2/2.
	// Token 1: sampler -1.5, w = e^0.5: pg term -e^0.5, grad -e^0.5/2.
	// token-mean: loss (-2 - e^0.5)/2.
	w1 := math.Exp(0.5)
	batch := []SeqInput{{Logprobs: []float64{-1, -1}, SamplerLogprobs: []float64{-2, -1.5}, Advantage: 1}}
	res := checkLoss(t, "tis", LossConfig{TISCap: 2}, batch, (-2-w1)/2, [][]float64{{-1, -w1 / 2}})
	if !near(res.Stats.TISCappedFrac, 0.5) || !near(res.Stats.TISWeightMean, (2+w1)/2) {
		t.Errorf("TIS stats %+v", res.Stats)
	}
	if _, err := Loss(LossConfig{TISCap: 2}, []SeqInput{{Logprobs: []float64{-1}}}); err == nil {
		t.Error("TIS without sampler logprobs accepted")
	}
}

func TestISWeightsGolden(t *testing.T) {
	// d = old - sampler per token: 0.5, 1.2, -0.3 (sum 1.4); cap 2 (log 0.693).
	old := []float64{-1, -0.8, -2.3}
	sampler := []float64{-1.5, -2, -2}
	e := math.Exp
	for _, c := range []struct {
		mode   string
		cap    float64
		mask   []float64
		w      []float64
		capped []bool
	}{
		{"", 0, nil, []float64{1, 1, 1}, []bool{false, false, false}},
		{"", 2, nil, []float64{e(0.5), 2, e(-0.3)}, []bool{false, true, false}},
		{ISTokenTruncate, 2, nil, []float64{e(0.5), 2, e(-0.3)}, []bool{false, true, false}},
		{ISTokenMask, 2, nil, []float64{e(0.5), 0, e(-0.3)}, []bool{false, true, false}},
		{ISSequenceTruncate, 2, nil, []float64{2, 2, 2}, []bool{true, true, true}},
		{ISSequenceMask, 2, nil, []float64{0, 0, 0}, []bool{true, true, true}},
		{ISSequenceTruncate, 5, nil, []float64{e(1.4), e(1.4), e(1.4)}, []bool{false, false, false}},
		// The mask weighs the sequence's log-ratio: D = 0.5 - 0.3 = 0.2.
		{ISSequenceMask, 2, []float64{1, 0, 1}, []float64{e(0.2), e(0.2), e(0.2)}, []bool{false, false, false}},
	} {
		w, capped := ISWeights(LossConfig{TISCap: c.cap, ISMode: c.mode}, old, sampler, c.mask)
		for t2 := range w {
			if !near(w[t2], c.w[t2]) || capped[t2] != c.capped[t2] {
				t.Errorf("%q cap %v mask %v: weights %v capped %v, want %v %v", c.mode, c.cap, c.mask, w, capped, c.w, c.capped)
				break
			}
		}
	}
	// A sequence masked out contributes no policy gradient.
	batch := []SeqInput{{Logprobs: old, OldLogprobs: old, SamplerLogprobs: sampler, Advantage: 1}}
	res := checkLoss(t, "sequence_mask", LossConfig{TISCap: 2, ISMode: ISSequenceMask}, batch, 0, [][]float64{{0, 0, 0}})
	if !near(res.Stats.TISCappedFrac, 1) || res.Stats.TISWeightMean != 0 {
		t.Errorf("sequence_mask stats %+v", res.Stats)
	}
}

func TestLossEdgeCases(t *testing.T) {
	res, err := Loss(LossConfig{}, nil)
	if err != nil || res.Loss != 0 {
		t.Errorf("empty batch: %v %v", res.Loss, err)
	}
	res, err = Loss(LossConfig{}, []SeqInput{{Logprobs: []float64{-1, -2}, Mask: []float64{0, 0}, Advantage: 1}})
	if err != nil || res.Loss != 0 || res.Grad[0][0] != 0 || res.Grad[0][1] != 0 {
		t.Errorf("all masked: %+v %v", res, err)
	}
	for _, bad := range []SeqInput{
		{Logprobs: []float64{-1}, Mask: []float64{1, 1}},
		{Logprobs: []float64{math.NaN()}},
		{Logprobs: []float64{-1}, OldLogprobs: []float64{}},
		{Logprobs: []float64{-1}, Mask: []float64{-1}},
		{Logprobs: []float64{-1}, Advantage: math.Inf(1)},
	} {
		if _, err := Loss(LossConfig{}, []SeqInput{bad}); err == nil {
			t.Errorf("bad input %+v accepted", bad)
		}
	}
	for _, cfg := range []LossConfig{{ClipRatioLow: 1}, {ClipRatioC: 1}, {LossAggMode: "sum"}, {KLCoef: -1}, {TISCap: math.NaN()}, {ISMode: "sequence"}} {
		if cfg.Validate() == nil {
			t.Errorf("config %+v accepted", cfg)
		}
	}
	if err := DefaultLossConfig().Validate(); err != nil {
		t.Error(err)
	}
	if _, err := Loss(LossConfig{KLCoef: 0.1}, []SeqInput{{Logprobs: []float64{-1}}}); err == nil {
		t.Error("KL without reference logprobs accepted")
	}
}

// randomBatch draws a batch whose ratios keep clear of the clip bounds, the
// dual-clip bound and the k3 clamp, where the loss has kinks.
func randomBatch(r *rand.Rand, cfg LossConfig) []SeqInput {
	lo, hi := 0.2, 0.2
	if cfg.ClipRatioLow > 0 {
		lo = cfg.ClipRatioLow
	}
	if cfg.ClipRatioHigh > 0 {
		hi = cfg.ClipRatioHigh
	}
	kinks := []float64{1 - lo, 1 + hi, cfg.ClipRatioC}
	batch := make([]SeqInput, 1+r.IntN(4))
	for i := range batch {
		n := 1 + r.IntN(6)
		s := SeqInput{Advantage: r.Float64()*4 - 2}
		for range n {
			l := -0.1 - 3*r.Float64()
			var rho float64
			for {
				rho = 0.5 + 3*r.Float64()
				ok := true
				for _, k := range kinks {
					if math.Abs(rho-k) < 1e-3 {
						ok = false
					}
				}
				if ok {
					break
				}
			}
			s.Logprobs = append(s.Logprobs, l)
			s.OldLogprobs = append(s.OldLogprobs, l-math.Log(rho))
			s.SamplerLogprobs = append(s.SamplerLogprobs, l-math.Log(rho)+r.Float64()*2-1)
			s.RefLogprobs = append(s.RefLogprobs, l+r.Float64()*2-1) // |d| < 1: k3 never clamps
			m := 1.0
			if r.IntN(4) == 0 {
				m = 0 // some tokens masked out
			}
			s.Mask = append(s.Mask, m)
		}
		batch[i] = s
	}
	return batch
}

// TestLossGradientFiniteDifference checks every analytic gradient against
// central differences, for every aggregation mode and KL estimator, with
// clip-higher, dual clip and TIS on.
func TestLossGradientFiniteDifference(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	const h = 1e-6
	for _, mode := range []string{AggTokenMean, AggSeqMeanTokenSum, AggSeqMeanTokenMean, AggSeqMeanTokenSumNorm} {
		for _, v := range []struct{ kl, is string }{{KLK1, ""}, {KLK2, ""}, {KLK3, ""},
			{KLK3, ISTokenMask}, {KLK3, ISSequenceTruncate}, {KLK2, ISSequenceMask}} {
			kl := v.kl
			cfg := LossConfig{ClipRatioLow: 0.2, ClipRatioHigh: 0.28, ClipRatioC: 3, LossAggMode: mode, KLType: kl, KLCoef: 0.1, TISCap: 2, ISMode: v.is}
			for trial := 0; trial < 20; trial++ {
				batch := randomBatch(r, cfg)
				res, err := Loss(cfg, batch)
				if err != nil {
					t.Fatal(err)
				}
				for i := range batch {
					for j := range batch[i].Logprobs {
						orig := batch[i].Logprobs[j]
						batch[i].Logprobs[j] = orig + h
						up, _ := Loss(cfg, batch)
						batch[i].Logprobs[j] = orig - h
						down, _ := Loss(cfg, batch)
						batch[i].Logprobs[j] = orig
						fd := (up.Loss - down.Loss) / (2 * h)
						if math.Abs(fd-res.Grad[i][j]) > 1e-6*math.Max(1, math.Abs(fd)) {
							t.Fatalf("%s %s: d/dl[%d][%d] analytic %v, finite difference %v", mode, kl, i, j, res.Grad[i][j], fd)
						}
					}
				}
			}
		}
	}
}

func TestLossProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		lo := rapid.Float64Range(0.01, 0.5).Draw(t, "lo")
		hi := rapid.Float64Range(0.01, 0.5).Draw(t, "hi")
		c := rapid.Float64Range(1.01, 5).Draw(t, "c")
		A := rapid.Float64Range(-3, 3).Draw(t, "A")
		rho := rapid.Float64Range(0.01, 10).Draw(t, "rho")
		cfg := LossConfig{ClipRatioLow: lo, ClipRatioHigh: hi, ClipRatioC: c}
		res, err := Loss(cfg, []SeqInput{seqRatios(A, rho)})
		if err != nil {
			t.Fatal(err)
		}
		pg, g := res.Loss, res.Grad[0][0]
		// The surrogate objective -pg never exceeds A*(1+hi) for A > 0: the
		// gain from raising a good token's probability is capped.
		if A > 0 && -pg > A*(1+hi)+1e-12 {
			t.Fatalf("A=%v rho=%v: objective %v above the clip bound", A, rho, -pg)
		}
		// For A < 0 the loss never exceeds -A*c (dual clip) nor falls below
		// -A*(1-lo) (no gain from pushing a bad token's probability to zero
		// beyond the clip).
		if A < 0 && (pg > -A*c+1e-12 || pg < -A*(1-lo)-1e-12) {
			t.Fatalf("A=%v rho=%v: loss %v outside [%v, %v]", A, rho, pg, -A*(1-lo), -A*c)
		}
		// Where the clip is in force the gradient is 0.
		if (A > 0 && rho > 1+hi) || (A < 0 && (rho < 1-lo || rho > c)) {
			if g != 0 {
				t.Fatalf("A=%v rho=%v: gradient %v through the clip", A, rho, g)
			}
		}
		// k2 and k3 are never negative.
		l := rapid.Float64Range(-20, 0).Draw(t, "l")
		ref := rapid.Float64Range(-20, 0).Draw(t, "ref")
		for _, k := range []string{KLK2, KLK3} {
			kl, _, err := KL(k, l, ref)
			if err != nil || kl < 0 {
				t.Fatalf("%s(%v, %v) = %v, %v", k, l, ref, kl, err)
			}
		}
	})
}

func TestLossLogRatioClamp(t *testing.T) {
	// log-ratio 25 is clamped to 20: rho = e^20, and no gradient flows.
	// A = -1 without dual clip: pg = max(e^20, 1.2) = e^20.
	batch := []SeqInput{{Logprobs: []float64{-1}, OldLogprobs: []float64{-26}, Advantage: -1}}
	checkLoss(t, "clamp", LossConfig{}, batch, math.Exp(20), [][]float64{{0}})
}
