package model

import (
	"context"
	"math"
	"math/rand/v2"
	"strings"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// kvCache holds one sequence's keys and values per layer ([Context, D]).
type kvCache struct {
	k, v  [][]float64
	n     int // positions filled
	width int
}

func (c *kvCache) clone() *kvCache {
	d := &kvCache{k: make([][]float64, len(c.k)), v: make([][]float64, len(c.v)), n: c.n, width: c.width}
	for l := range c.k {
		// Only the filled rows matter; the rest is written before it is read.
		d.k[l] = make([]float64, len(c.k[l]))
		d.v[l] = make([]float64, len(c.v[l]))
		used := c.n * c.width
		copy(d.k[l][:used], c.k[l][:used])
		copy(d.v[l][:used], c.v[l][:used])
	}
	return d
}

// prefill runs the prompt through the model, returning its KV cache and
// the output distribution at the last position.
func (m *Model) prefill(prompt []int) (*kvCache, []float64, error) {
	c := m.cfg
	T, D := len(prompt), c.Width
	p, err := m.forward(prompt, []int{T - 1})
	if err != nil {
		return nil, nil, err
	}
	kv := &kvCache{k: make([][]float64, c.Layers), v: make([][]float64, c.Layers), n: T, width: D}
	for l := range kv.k {
		kv.k[l] = make([]float64, c.Context*D)
		kv.v[l] = make([]float64, c.Context*D)
		qkv := p.layers[l].qkv
		for t := 0; t < T; t++ {
			copy(kv.k[l][t*D:(t+1)*D], qkv[t*3*D+D:t*3*D+2*D])
			copy(kv.v[l][t*D:(t+1)*D], qkv[t*3*D+2*D:t*3*D+3*D])
		}
	}
	return kv, p.probs, nil
}

// stepWork is the scratch space of stepBatch for up to rows sequences.
type stepWork struct {
	h, a, qkv, o, u, s, probs []float64
}

func (m *Model) newStepWork(rows int) *stepWork {
	c := m.cfg
	return &stepWork{
		h: make([]float64, rows*c.Width), a: make([]float64, rows*c.Width), qkv: make([]float64, rows*3*c.Width),
		o: make([]float64, rows*c.Width), u: make([]float64, rows*c.MLP), s: make([]float64, c.Context),
		probs: make([]float64, rows*c.Vocab),
	}
}

// stepBatch feeds toks[j] to sequence kvs[j] (at its next position) and
// returns the next-token distributions, one row of ws.probs per sequence.
func (m *Model) stepBatch(kvs []*kvCache, toks []int, ws *stepWork) []float64 {
	c := m.cfg
	n, D, F, H, V := len(toks), c.Width, c.MLP, c.Heads, c.Vocab
	w := m.w
	h, a, qkv, o, u := ws.h[:n*D], ws.a[:n*D], ws.qkv[:n*3*D], ws.o[:n*D], ws.u[:n*F]
	for j, id := range toks {
		t := kvs[j].n
		hj := h[j*D : (j+1)*D]
		for i := range hj {
			hj[i] = w.tokEmb[id*D+i] + w.posEmb[t*D+i]
		}
	}
	hd := D / H
	scale := 1 / math.Sqrt(float64(hd))
	impl := gonum.Implementation{}
	for l := range w.layers {
		lw := &w.layers[l]
		rmsNormRows(h, lw.attnNorm, a, n, D, c.NormEps)
		gemm(false, true, n, 3*D, D, 1, a, D, lw.qkv, D, 0, qkv, 3*D)
		for j, kv := range kvs {
			t := kv.n
			K, Vv, q := kv.k[l], kv.v[l], qkv[j*3*D:]
			copy(K[t*D:(t+1)*D], q[D:2*D])
			copy(Vv[t*D:(t+1)*D], q[2*D:3*D])
			s := ws.s[:t+1]
			for hh := 0; hh < H; hh++ {
				// scores = K_h q_h * scale; o_h = V_h^T softmax(scores)
				impl.Dgemv(blas.NoTrans, t+1, hd, scale, K[hh*hd:], D, q[hh*hd:], 1, 0, s, 1)
				softmaxInPlace(s)
				impl.Dgemv(blas.Trans, t+1, hd, 1, Vv[hh*hd:], D, s, 1, 0, o[j*D+hh*hd:], 1)
			}
		}
		gemm(false, true, n, D, D, 1, o, D, lw.out, D, 1, h, D)
		rmsNormRows(h, lw.mlpNorm, a, n, D, c.NormEps)
		gemm(false, true, n, F, D, 1, a, D, lw.up, D, 0, u, F)
		for i, x := range u {
			u[i] = gelu(x)
		}
		gemm(false, true, n, D, F, 1, u, F, lw.down, F, 1, h, D)
	}
	rmsNormRows(h, w.norm, a, n, D, c.NormEps)
	probs := ws.probs[:n*V]
	gemm(false, true, n, V, D, 1, a, D, w.tokEmb, D, 0, probs, V)
	for j, kv := range kvs {
		softmaxInPlace(probs[j*V : (j+1)*V])
		kv.n++
	}
	return probs
}

func rmsNormRows(x, g, y []float64, n, D int, eps float64) {
	for j := 0; j < n; j++ {
		xr, yr := x[j*D:(j+1)*D], y[j*D:(j+1)*D]
		ss := 0.0
		for _, v := range xr {
			ss += v * v
		}
		r := 1 / math.Sqrt(ss/float64(D)+eps)
		for i, v := range xr {
			yr[i] = v * r * g[i]
		}
	}
}

// decoding is one completion in progress.
type decoding struct {
	i     int // completion number
	kv    *kvCache
	rng   *rand.Rand
	probs []float64
	text  strings.Builder
}

// decodeGroup samples completions idx (writing out[i]) from the prefilled
// cache kv0 and first distribution probs0, in lockstep.
func (m *Model) decodeGroup(ctx context.Context, kv0 *kvCache, probs0 []float64, idx []int, opts SampleOptions, out []Generation) error {
	c := m.cfg
	V := c.Vocab
	active := make([]*decoding, len(idx))
	for j, i := range idx {
		active[j] = &decoding{i: i, kv: kv0.clone(), rng: rand.New(rand.NewPCG(opts.Seed, uint64(i))), probs: append([]float64(nil), probs0...)}
	}
	ws := m.newStepWork(len(idx))
	scratch := make([]float64, V)
	sortIdx := make([]int, V)
	topK := min(opts.TopLogprobs, 20)
	kvs := make([]*kvCache, 0, len(idx))
	toks := make([]int, 0, len(idx))
	for len(active) > 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		next := active[:0]
		kvs, toks = kvs[:0], toks[:0]
		for _, d := range active {
			g := &out[d.i]
			if topK > 0 {
				g.TopLogprobs = append(g.TopLogprobs, topLogprobs(d.probs, topK, sortIdx))
			}
			tok := sampleToken(d.probs, opts.Temperature, opts.TopP, d.rng, scratch, sortIdx)
			g.Tokens = append(g.Tokens, tok)
			g.Logprobs = append(g.Logprobs, math.Log(math.Max(d.probs[tok], math.SmallestNonzeroFloat64)))
			if m.finished(d, g, tok, opts) {
				continue
			}
			next = append(next, d)
			kvs = append(kvs, d.kv)
			toks = append(toks, tok)
		}
		active = next
		if len(active) == 0 {
			break
		}
		probs := m.stepBatch(kvs, toks, ws)
		for j, d := range active {
			copy(d.probs, probs[j*V:(j+1)*V])
		}
	}
	return nil
}

// finished records why completion d stops after token tok, if it does.
func (m *Model) finished(d *decoding, g *Generation, tok int, opts SampleOptions) bool {
	if tok == EOS || tok == IMEnd {
		g.Finish, g.Text = FinishStop, d.text.String()
		return true
	}
	if tok < numBytes {
		d.text.WriteByte(byte(tok))
		if s, cut := matchStop(d.text.String(), opts.Stop); cut >= 0 {
			g.Finish, g.StopString, g.Text = FinishStop, s, d.text.String()[:cut]
			return true
		}
	}
	// The sampled token must fit in the context to be fed.
	if len(g.Tokens) >= opts.MaxTokens || d.kv.n+1 >= m.cfg.Context {
		g.Finish, g.Text = FinishLength, d.text.String()
		return true
	}
	return false
}
