package model

import (
	"fmt"
	"math"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// This file is the gorgonia engine: the same transformer as forward.go,
// built as a gorgonia expression graph over a padded batch with masks, and
// differentiated by gorgonia's reverse-mode autodiff. It computes the
// per-token log-probabilities of a batch and, given the derivative of a loss
// with respect to each of them (what every loss in loss.go reduces to), the
// gradient of that loss with respect to every weight.
//
// The plain-Go engine (forward.go) computes the same numbers; graph_test.go
// checks that the two agree to 1e-9, so either may train a model.

// graphResult is what one graph evaluation yields.
type graphResult struct {
	logprobs [][]float64 // per sequence, the log-probability of each scored token
	grads    *params     // gradient of sum(dlogp * logprobs), nil when dlogp is nil
}

// graphLogprobs evaluates the model on a batch of token sequences padded to
// the longest. rows[b] are the positions of sequence b whose next token is
// scored (position t scores ids[b][t+1]). With dlogp (one value per scored
// token) it also returns the gradient of sum_b,i dlogp[b][i]*logp[b][i].
func (m *Model) graphLogprobs(ids [][]int, rows [][]int, dlogp [][]float64) (graphResult, error) {
	c := m.cfg
	B := len(ids)
	if B == 0 {
		return graphResult{}, fmt.Errorf("graph engine: empty batch")
	}
	T := 0
	for b, s := range ids {
		if len(s) == 0 || len(s) > c.Context {
			return graphResult{}, fmt.Errorf("graph engine: sequence %d has %d tokens, want 1..%d", b, len(s), c.Context)
		}
		T = max(T, len(s))
	}
	D, H, V := c.Width, c.Heads, c.Vocab
	dh := D / H
	N := B * T

	// Constant inputs: one-hot tokens, causal+padding mask, one-hot targets
	// and the loss weights of the scored positions.
	onehot := make([]float64, N*V)
	mask := make([]float64, B*T*T)
	target := make([]float64, N*V)
	weight := make([]float64, N)
	for b, s := range ids {
		for t := 0; t < T; t++ {
			if t < len(s) {
				if s[t] < 0 || s[t] >= V {
					return graphResult{}, fmt.Errorf("graph engine: token %d at position %d of sequence %d is outside the vocabulary", s[t], t, b)
				}
				onehot[(b*T+t)*V+s[t]] = 1
			}
			for j := 0; j < T; j++ {
				// Padded keys and future keys are masked; a padded query
				// row still attends to position 0 so its softmax is defined.
				if j > t || (j >= len(s) && j > 0) {
					mask[(b*T+t)*T+j] = -1e30
				}
			}
		}
		for i, t := range rows[b] {
			if t < 0 || t+1 >= len(s) {
				return graphResult{}, fmt.Errorf("graph engine: scored position %d of sequence %d has no next token", t, b)
			}
			target[(b*T+t)*V+s[t+1]] = 1
			if dlogp != nil {
				weight[b*T+t] = dlogp[b][i]
			}
		}
	}

	g := G.NewGraph()
	// Inputs need distinct names: gorgonia merges unnamed nodes of one
	// shape into one.
	mat := func(name string, data []float64, shape ...int) *G.Node {
		return G.NodeFromAny(g, tensor.New(tensor.WithShape(shape...), tensor.WithBacking(data)), G.WithName(name))
	}
	specs := tensorSpecs(c)
	named := m.w.named(c)
	wn := make([]*G.Node, len(specs))
	for i, s := range specs {
		wn[i] = G.NewTensor(g, tensor.Float64, len(s.shape), G.WithShape(s.shape...), G.WithName(s.name),
			G.WithValue(tensor.New(tensor.WithShape(s.shape...), tensor.WithBacking(append([]float64(nil), named[i]...)))))
	}
	var err error
	must := func(n *G.Node, e error) *G.Node {
		if e != nil && err == nil {
			err = e
		}
		return n
	}
	scalar := func(v float64) *G.Node { return G.NewConstant(v) }
	rmsNorm := func(x, gain *G.Node, rows int) *G.Node {
		ms := must(G.Mean(must(G.Square(x)), 1))
		r := must(G.Pow(must(G.Add(ms, scalar(c.NormEps))), scalar(-0.5)))
		r = must(G.Reshape(r, tensor.Shape{rows, 1}))
		y := must(G.BroadcastHadamardProd(x, r, nil, []byte{1}))
		gg := must(G.Reshape(gain, tensor.Shape{1, D}))
		return must(G.BroadcastHadamardProd(y, gg, nil, []byte{0}))
	}

	tokEmb, posEmb := wn[0], wn[1]
	pos := must(G.Slice(posEmb, G.S(0, T)))
	posRep := pos
	if B > 1 {
		reps := make([]*G.Node, B)
		for b := range reps {
			reps[b] = pos
		}
		posRep = must(G.Concat(0, reps...))
	}
	h := must(G.Add(must(G.Mul(mat("tokens", onehot, N, V), tokEmb)), posRep))
	maskN := mat("mask", mask, B, T, T)
	scale := scalar(1 / math.Sqrt(float64(dh)))
	for l := 0; l < c.Layers; l++ {
		lw := wn[2+6*l : 2+6*l+6] // attn_norm, qkv, out, mlp_norm, up, down
		a1 := rmsNorm(h, lw[0], N)
		qkv := must(G.Mul(a1, must(G.Transpose(lw[1]))))
		qkv = must(G.Reshape(qkv, tensor.Shape{B, T, 3 * D}))
		heads := make([]*G.Node, H)
		for hd := 0; hd < H; hd++ {
			q := must(G.Slice(qkv, nil, nil, G.S(hd*dh, (hd+1)*dh)))
			k := must(G.Slice(qkv, nil, nil, G.S(D+hd*dh, D+(hd+1)*dh)))
			v := must(G.Slice(qkv, nil, nil, G.S(2*D+hd*dh, 2*D+(hd+1)*dh)))
			s := must(G.BatchedMatMul(q, k, false, true))
			s = must(G.Add(must(G.HadamardProd(s, scale)), maskN))
			p := must(G.SoftMax(s, 2))
			heads[hd] = must(G.BatchedMatMul(p, v))
		}
		o := heads[0]
		if H > 1 {
			o = must(G.Concat(2, heads...))
		}
		o = must(G.Reshape(o, tensor.Shape{N, D}))
		hMid := must(G.Add(h, must(G.Mul(o, must(G.Transpose(lw[2]))))))
		a2 := rmsNorm(hMid, lw[3], N)
		u := must(G.Mul(a2, must(G.Transpose(lw[4]))))
		inner := must(G.HadamardProd(scalar(geluK), must(G.Add(u, must(G.HadamardProd(scalar(0.044715), must(G.Cube(u))))))))
		gl := must(G.HadamardProd(must(G.HadamardProd(scalar(0.5), u)), must(G.Add(scalar(1), must(G.Tanh(inner))))))
		h = must(G.Add(hMid, must(G.Mul(gl, must(G.Transpose(lw[5]))))))
	}
	af := rmsNorm(h, wn[len(wn)-1], N)
	// Only scored positions need logits: gather them as contiguous runs of
	// rows (a completion is one run), which costs a copy, not a matmul.
	var runs []*G.Node
	var order []int // flat row index (b*T+t) of each gathered row
	for b := range ids {
		rs := rows[b]
		for i := 0; i < len(rs); {
			j := i + 1
			for j < len(rs) && rs[j] == rs[j-1]+1 {
				j++
			}
			lo := b*T + rs[i]
			runs = append(runs, must(G.Slice(af, G.S(lo, lo+j-i))))
			for k := i; k < j; k++ {
				order = append(order, b*T+rs[k])
			}
			i = j
		}
	}
	R := len(order)
	if R == 0 {
		return graphResult{}, fmt.Errorf("graph engine: no scored positions in the batch")
	}
	sel := runs[0]
	if len(runs) > 1 {
		sel = must(G.Concat(0, runs...))
	}
	if len(runs) == 1 && R == 1 {
		sel = must(G.Reshape(sel, tensor.Shape{1, D}))
	}
	selTarget := make([]float64, R*V)
	selWeight := make([]float64, R)
	for r, flat := range order {
		copy(selTarget[r*V:(r+1)*V], target[flat*V:(flat+1)*V])
		selWeight[r] = weight[flat]
	}
	logits := must(G.Mul(sel, must(G.Transpose(tokEmb))))
	mx := must(G.Max(logits, 1))
	shifted := must(G.BroadcastSub(logits, must(G.Reshape(mx, tensor.Shape{R, 1})), nil, []byte{1}))
	lse := must(G.Log(must(G.Sum(must(G.Exp(shifted)), 1))))
	logp := must(G.BroadcastSub(shifted, must(G.Reshape(lse, tensor.Shape{R, 1})), nil, []byte{1}))
	tokLogp := must(G.Sum(must(G.HadamardProd(logp, mat("targets", selTarget, R, V))), 1))
	cost := must(G.Sum(must(G.HadamardProd(tokLogp, mat("weights", selWeight, R)))))
	if err != nil {
		return graphResult{}, fmt.Errorf("graph engine: building the graph: %w", err)
	}
	var lpVal G.Value
	G.Read(tokLogp, &lpVal)
	if dlogp != nil {
		if _, err := G.Grad(cost, wn...); err != nil {
			return graphResult{}, fmt.Errorf("graph engine: differentiating: %w", err)
		}
	}
	vm := G.NewTapeMachine(g)
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		return graphResult{}, fmt.Errorf("graph engine: running: %w", err)
	}
	lp, ok := lpVal.Data().([]float64)
	if !ok || len(lp) != R {
		return graphResult{}, fmt.Errorf("graph engine: unexpected log-probability output %T", lpVal.Data())
	}
	res := graphResult{logprobs: make([][]float64, B)}
	k := 0
	for b := range ids {
		res.logprobs[b] = lp[k : k+len(rows[b]) : k+len(rows[b])]
		k += len(rows[b])
	}
	if dlogp == nil {
		return res, nil
	}
	res.grads = newParams(c)
	gviews := res.grads.named(c)
	for i, n := range wn {
		gv, err := n.Grad()
		if err != nil {
			return graphResult{}, fmt.Errorf("graph engine: gradient of %s: %w", specs[i].name, err)
		}
		data, ok := gv.Data().([]float64)
		if !ok || len(data) != len(gviews[i]) {
			return graphResult{}, fmt.Errorf("graph engine: gradient of %s has an unexpected shape", specs[i].name)
		}
		copy(gviews[i], data)
	}
	return res, nil
}

// Engine names the code that computes a model's forward and backward passes
// in training. Both engines compute the same function (graph_test.go checks
// them against each other to 1e-9); they differ in speed and in how they are
// written.
type Engine string

const (
	// EnginePlain is hand-written forward and backward passes over float64
	// slices with gonum's BLAS, one unpadded sequence per worker: the
	// faster engine on a CPU, and the default.
	EnginePlain Engine = ""
	// EngineGorgonia builds the transformer as a gorgonia expression graph
	// over the padded batch and differentiates it with gorgonia's autodiff.
	EngineGorgonia Engine = "gorgonia"
)

// ParseEngine reads an engine name: "plain" (or "") or "gorgonia".
func ParseEngine(s string) (Engine, error) {
	switch s {
	case "", "plain":
		return EnginePlain, nil
	case "gorgonia":
		return EngineGorgonia, nil
	}
	return "", fmt.Errorf("model engine %q: want plain or gorgonia", s)
}

// graphForwardBackward is ForwardBackward on the gorgonia engine: one graph
// evaluation for the policy's log-probabilities of the whole padded batch,
// the loss terms of each token, then a second evaluation that
// differentiates sum(dLoss/dlogp * logp) with respect to every weight. The
// gradient is added to t.grads only when everything succeeded.
func (t *Trainer) graphForwardBackward(batch []Sequence, loss Loss, f []float64) (Stats, error) {
	ids := make([][]int, len(batch))
	rows := make([][]int, len(batch))
	for i, s := range batch {
		ids[i], rows[i] = sequenceRows(s)
	}
	fwd, err := t.model.graphLogprobs(ids, rows, nil)
	if err != nil {
		return Stats{}, err
	}
	var st Stats
	dlogp := make([][]float64, len(batch))
	for i, s := range batch {
		ref, err := t.refLogprobs(s, loss, ids[i], rows[i])
		if err != nil {
			return Stats{}, err
		}
		dlogp[i] = tokenGrads(s, loss, f[i], fwd.logprobs[i], ref, &st)
	}
	bwd, err := t.model.graphLogprobs(ids, rows, dlogp)
	if err != nil {
		return Stats{}, err
	}
	for i, g := range bwd.grads.flat {
		t.grads.flat[i] += g
	}
	st.finish(len(batch))
	return st, nil
}
