package model

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// Model is a transformer's configuration and weights. A Model is safe for
// concurrent reads (Score, Generate); Trainer is the only writer, and it
// hands out copies (Trainer.Snapshot) for serving.
type Model struct {
	cfg Config
	w   *params
}

// New returns a model with freshly initialised weights drawn from seed.
func New(cfg Config, seed uint64) (*Model, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Model{cfg: cfg, w: initParams(cfg, seed)}, nil
}

// Config returns the model's architecture (optional fields filled in).
func (m *Model) Config() Config { return m.cfg }

// NumParams is the number of trainable parameters.
func (m *Model) NumParams() int { return len(m.w.flat) }

// Clone returns a deep copy of m.
func (m *Model) Clone() *Model { return &Model{cfg: m.cfg, w: m.w.clone(m.cfg)} }

// attnBlock is the row block of causal attention: a block of queries is
// multiplied only with the keys it may see, halving the work for long
// sequences.
const attnBlock = 64

// gemm computes C = alpha*op(A)*op(B) + beta*C over row-major slices, where
// op(A) is m x k and op(B) is k x n.
func gemm(tA, tB bool, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	ta, tb := blas.NoTrans, blas.NoTrans
	if tA {
		ta = blas.Trans
	}
	if tB {
		tb = blas.Trans
	}
	gonum.Implementation{}.Dgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// layerActs are one block's activations kept for the backward pass.
type layerActs struct {
	hIn   []float64 // [T,D] residual stream entering the block
	rs1   []float64 // [T] inverse RMS of hIn
	a1    []float64 // [T,D] normalised hIn
	qkv   []float64 // [T,3D]
	probs []float64 // [H,T,T] attention probabilities (causal, rows sum to 1)
	o     []float64 // [T,D] concatenated head outputs
	hMid  []float64 // [T,D] after the attention residual
	rs2   []float64 // [T]
	a2    []float64 // [T,D]
	u     []float64 // [T,F] MLP pre-activation
	g     []float64 // [T,F] GELU(u)
}

// pass is one sequence's forward pass: activations, and for the rows whose
// next token is scored, the output distribution.
type pass struct {
	ids    []int
	layers []layerActs
	hOut   []float64 // [T,D] final residual stream
	rsF    []float64 // [T]
	af     []float64 // [T,D] final normalised states
	rows   []int     // positions scored
	probs  []float64 // [len(rows),V] softmax of the logits at rows
}

// forward runs ids through the model. rows are the positions whose output
// distribution is needed (position t predicts ids[t+1]).
func (m *Model) forward(ids []int, rows []int) (*pass, error) {
	c := m.cfg
	T, D, F, H := len(ids), c.Width, c.MLP, c.Heads
	if T == 0 || T > c.Context {
		return nil, fmt.Errorf("sequence of %d tokens: want 1..%d (the model's context)", T, c.Context)
	}
	for i, id := range ids {
		if id < 0 || id >= c.Vocab {
			return nil, fmt.Errorf("token %d at position %d is outside the vocabulary 0..%d", id, i, c.Vocab-1)
		}
	}
	w := m.w
	p := &pass{ids: ids, layers: make([]layerActs, c.Layers), rows: rows}
	h := make([]float64, T*D)
	for t, id := range ids {
		e, pe, ht := w.tokEmb[id*D:(id+1)*D], w.posEmb[t*D:(t+1)*D], h[t*D:(t+1)*D]
		for i := range ht {
			ht[i] = e[i] + pe[i]
		}
	}
	dh := D / H
	scale := 1 / math.Sqrt(float64(dh))
	for l := range p.layers {
		lw := &w.layers[l]
		a := &p.layers[l]
		a.hIn = h
		a.rs1, a.a1 = rmsNorm(h, lw.attnNorm, T, D, c.NormEps)
		a.qkv = make([]float64, T*3*D)
		gemm(false, true, T, 3*D, D, 1, a.a1, D, lw.qkv, D, 0, a.qkv, 3*D)
		a.probs = make([]float64, H*T*T)
		a.o = make([]float64, T*D)
		for hd := 0; hd < H; hd++ {
			s := a.probs[hd*T*T : (hd+1)*T*T]
			q, k, v := a.qkv[hd*dh:], a.qkv[D+hd*dh:], a.qkv[2*D+hd*dh:]
			// Causal: row block [i0, i1) only sees keys [0, i1).
			for i0 := 0; i0 < T; i0 += attnBlock {
				i1 := min(i0+attnBlock, T)
				gemm(false, true, i1-i0, i1, dh, scale, q[i0*3*D:], 3*D, k, 3*D, 0, s[i0*T:], T)
				for i := i0; i < i1; i++ {
					softmaxInPlace(s[i*T : i*T+i+1])
					clear(s[i*T+i+1 : i*T+i1])
				}
				gemm(false, false, i1-i0, dh, i1, 1, s[i0*T:], T, v, 3*D, 0, a.o[i0*D+hd*dh:], D)
			}
		}
		a.hMid = append([]float64(nil), h...)
		gemm(false, true, T, D, D, 1, a.o, D, lw.out, D, 1, a.hMid, D)
		a.rs2, a.a2 = rmsNorm(a.hMid, lw.mlpNorm, T, D, c.NormEps)
		a.u = make([]float64, T*F)
		gemm(false, true, T, F, D, 1, a.a2, D, lw.up, D, 0, a.u, F)
		a.g = make([]float64, T*F)
		for i, u := range a.u {
			a.g[i] = gelu(u)
		}
		h = append([]float64(nil), a.hMid...)
		gemm(false, true, T, D, F, 1, a.g, F, lw.down, F, 1, h, D)
	}
	p.hOut = h
	p.rsF, p.af = rmsNorm(h, w.norm, T, D, c.NormEps)
	V := c.Vocab
	p.probs = make([]float64, len(rows)*V)
	contig := contiguous(rows)
	for r, t := range rows {
		if t < 0 || t >= T {
			return nil, fmt.Errorf("scored row %d outside the sequence of %d tokens", t, T)
		}
		if !contig {
			gemm(false, true, 1, V, D, 1, p.af[t*D:], D, w.tokEmb, D, 0, p.probs[r*V:], V)
		}
	}
	if len(rows) > 0 && contig {
		// The usual case, a completion: one product for all its rows.
		gemm(false, true, len(rows), V, D, 1, p.af[rows[0]*D:], D, w.tokEmb, D, 0, p.probs, V)
	}
	for r := range rows {
		softmaxInPlace(p.probs[r*V : (r+1)*V])
	}
	return p, nil
}

// backward accumulates into grads the gradient of a loss whose derivative
// with respect to logits[rows[r]] is dlogits[r] ([len(rows),V]).
func (m *Model) backward(p *pass, dlogits []float64, grads *params) {
	c := m.cfg
	T, D, F, H, V := len(p.ids), c.Width, c.MLP, c.Heads, c.Vocab
	w := m.w
	daf := make([]float64, T*D)
	// daf[rows] = dlogits E ; dE += dlogits^T af[rows]
	if n := len(p.rows); n > 0 && contiguous(p.rows) {
		t := p.rows[0]
		gemm(false, false, n, D, V, 1, dlogits, V, w.tokEmb, D, 0, daf[t*D:], D)
		gemm(true, false, V, D, n, 1, dlogits, V, p.af[t*D:], D, 1, grads.tokEmb, D)
	} else {
		for r, t := range p.rows {
			dl := dlogits[r*V : (r+1)*V]
			gemm(false, false, 1, D, V, 1, dl, V, w.tokEmb, D, 1, daf[t*D:], D)
			gemm(true, false, V, D, 1, 1, dl, V, p.af[t*D:], D, 1, grads.tokEmb, D)
		}
	}
	dh := rmsNormBackward(p.hOut, p.rsF, w.norm, daf, grads.norm, T, D)
	hd := D / H
	scale := 1 / math.Sqrt(float64(hd))
	dA := make([]float64, T*T)
	for l := c.Layers - 1; l >= 0; l-- {
		lw, lg, a := &w.layers[l], &grads.layers[l], &p.layers[l]
		// h = hMid + g*down^T
		gemm(true, false, D, F, T, 1, dh, D, a.g, F, 1, lg.down, F)
		du := make([]float64, T*F)
		gemm(false, false, T, F, D, 1, dh, D, lw.down, F, 0, du, F)
		for i, u := range a.u {
			du[i] *= geluGrad(u)
		}
		gemm(true, false, F, D, T, 1, du, F, a.a2, D, 1, lg.up, D)
		da2 := make([]float64, T*D)
		gemm(false, false, T, D, F, 1, du, F, lw.up, D, 0, da2, D)
		dMid := rmsNormBackward(a.hMid, a.rs2, lw.mlpNorm, da2, lg.mlpNorm, T, D)
		for i := range dMid {
			dMid[i] += dh[i]
		}
		// hMid = hIn + o*out^T
		gemm(true, false, D, D, T, 1, dMid, D, a.o, D, 1, lg.out, D)
		do := make([]float64, T*D)
		gemm(false, false, T, D, D, 1, dMid, D, lw.out, D, 0, do, D)
		dqkv := make([]float64, T*3*D)
		for h := 0; h < H; h++ {
			A := a.probs[h*T*T : (h+1)*T*T]
			q, k, v := a.qkv[h*hd:], a.qkv[D+h*hd:], a.qkv[2*D+h*hd:]
			dq, dk, dv := dqkv[h*hd:], dqkv[D+h*hd:], dqkv[2*D+h*hd:]
			for i0 := 0; i0 < T; i0 += attnBlock {
				i1 := min(i0+attnBlock, T)
				Ab, dAb, dob := A[i0*T:], dA[i0*T:], do[i0*D+h*hd:]
				// dA = do_h V^T ; dV += A^T do_h (over the block's visible keys)
				gemm(false, true, i1-i0, i1, hd, 1, dob, D, v, 3*D, 0, dAb, T)
				gemm(true, false, i1, hd, i1-i0, 1, Ab, T, dob, D, 1, dv, 3*D)
				// dS = A*(dA - rowsum(A*dA)), scaled
				for i := i0; i < i1; i++ {
					ar, dr := A[i*T:i*T+i+1], dA[i*T:i*T+i1]
					s := 0.0
					for j, x := range ar {
						s += x * dr[j]
					}
					for j, x := range ar {
						dr[j] = scale * x * (dr[j] - s)
					}
					clear(dr[i+1:])
				}
				gemm(false, false, i1-i0, hd, i1, 1, dAb, T, k, 3*D, 0, dq[i0*3*D:], 3*D)
				gemm(true, false, i1, hd, i1-i0, 1, dAb, T, q[i0*3*D:], 3*D, 1, dk, 3*D)
			}
		}
		gemm(true, false, 3*D, D, T, 1, dqkv, 3*D, a.a1, D, 1, lg.qkv, D)
		da1 := make([]float64, T*D)
		gemm(false, false, T, D, 3*D, 1, dqkv, 3*D, lw.qkv, D, 0, da1, D)
		dIn := rmsNormBackward(a.hIn, a.rs1, lw.attnNorm, da1, lg.attnNorm, T, D)
		for i := range dIn {
			dIn[i] += dMid[i]
		}
		dh = dIn
	}
	for t, id := range p.ids {
		ge, gp, d := grads.tokEmb[id*D:(id+1)*D], grads.posEmb[t*D:(t+1)*D], dh[t*D:(t+1)*D]
		for i, x := range d {
			ge[i] += x
			gp[i] += x
		}
	}
}

// rmsNorm returns the inverse RMS of each row of x ([T,D]) and x normalised
// and scaled by g.
func rmsNorm(x, g []float64, T, D int, eps float64) (rs, y []float64) {
	rs = make([]float64, T)
	y = make([]float64, T*D)
	for t := 0; t < T; t++ {
		xr := x[t*D : (t+1)*D]
		ss := 0.0
		for _, v := range xr {
			ss += v * v
		}
		r := 1 / math.Sqrt(ss/float64(D)+eps)
		rs[t] = r
		yr := y[t*D : (t+1)*D]
		for i, v := range xr {
			yr[i] = v * r * g[i]
		}
	}
	return rs, y
}

// rmsNormBackward returns dL/dx given dL/dy and accumulates dL/dg into dg.
func rmsNormBackward(x, rs, g, dy, dg []float64, T, D int) []float64 {
	dx := make([]float64, T*D)
	for t := 0; t < T; t++ {
		xr, dyr, dxr, r := x[t*D:(t+1)*D], dy[t*D:(t+1)*D], dx[t*D:(t+1)*D], rs[t]
		s := 0.0
		for i, v := range xr {
			dg[i] += dyr[i] * v * r
			s += dyr[i] * g[i] * v
		}
		k := r * r * r * s / float64(D)
		for i, v := range xr {
			dxr[i] = r*dyr[i]*g[i] - v*k
		}
	}
	return dx
}

const geluK = 0.7978845608028654 // sqrt(2/pi)

// gelu is the tanh approximation of GELU (PyTorch's approximate="tanh").
func gelu(u float64) float64 {
	return 0.5 * u * (1 + math.Tanh(geluK*(u+0.044715*u*u*u)))
}

func geluGrad(u float64) float64 {
	t := math.Tanh(geluK * (u + 0.044715*u*u*u))
	return 0.5*(1+t) + 0.5*u*(1-t*t)*geluK*(1+3*0.044715*u*u)
}

// softmaxInPlace replaces x by softmax(x).
func softmaxInPlace(x []float64) {
	mx := math.Inf(-1)
	for _, v := range x {
		if v > mx {
			mx = v
		}
	}
	s := 0.0
	for i, v := range x {
		e := math.Exp(v - mx)
		x[i] = e
		s += e
	}
	inv := 1 / s
	for i := range x {
		x[i] *= inv
	}
}

// contiguous reports whether rows are consecutive positions.
func contiguous(rows []int) bool {
	for i := 1; i < len(rows); i++ {
		if rows[i] != rows[0]+i {
			return false
		}
	}
	return true
}
