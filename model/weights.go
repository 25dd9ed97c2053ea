package model

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// tensorSpec names one parameter tensor and its shape. Matrices follow
// PyTorch's nn.Linear layout: [out, in], row-major.
type tensorSpec struct {
	name  string
	shape []int
}

func (t tensorSpec) size() int {
	n := 1
	for _, d := range t.shape {
		n *= d
	}
	return n
}

// tensorSpecs lists the parameters of c in storage order.
func tensorSpecs(c Config) []tensorSpec {
	d, f := c.Width, c.MLP
	specs := []tensorSpec{
		{"tok_emb.weight", []int{c.Vocab, d}},
		{"pos_emb.weight", []int{c.Context, d}},
	}
	for l := 0; l < c.Layers; l++ {
		p := fmt.Sprintf("layers.%d.", l)
		specs = append(specs,
			tensorSpec{p + "attn_norm.weight", []int{d}},
			tensorSpec{p + "attn.qkv.weight", []int{3 * d, d}},
			tensorSpec{p + "attn.out.weight", []int{d, d}},
			tensorSpec{p + "mlp_norm.weight", []int{d}},
			tensorSpec{p + "mlp.up.weight", []int{f, d}},
			tensorSpec{p + "mlp.down.weight", []int{d, f}},
		)
	}
	return append(specs, tensorSpec{"norm.weight", []int{d}})
}

// layerParams are views into one block's parameters.
type layerParams struct {
	attnNorm, qkv, out, mlpNorm, up, down []float64
}

// params is a set of parameter-shaped buffers (weights, gradients, Adam
// moments): one flat slice with named views into it.
type params struct {
	flat   []float64
	tokEmb []float64
	posEmb []float64
	layers []layerParams
	norm   []float64
}

func newParams(c Config) *params {
	specs := tensorSpecs(c)
	n := 0
	for _, s := range specs {
		n += s.size()
	}
	p := &params{flat: make([]float64, n)}
	p.bind(c)
	return p
}

// bind points the named views at flat.
func (p *params) bind(c Config) {
	off := 0
	views := make([][]float64, 0, 3+6*c.Layers)
	for _, s := range tensorSpecs(c) {
		views = append(views, p.flat[off:off+s.size():off+s.size()])
		off += s.size()
	}
	p.tokEmb, p.posEmb = views[0], views[1]
	p.layers = make([]layerParams, c.Layers)
	for l := range p.layers {
		v := views[2+6*l:]
		p.layers[l] = layerParams{v[0], v[1], v[2], v[3], v[4], v[5]}
	}
	p.norm = views[len(views)-1]
}

// named returns the views in tensorSpecs order.
func (p *params) named(c Config) [][]float64 {
	out := [][]float64{p.tokEmb, p.posEmb}
	for _, l := range p.layers {
		out = append(out, l.attnNorm, l.qkv, l.out, l.mlpNorm, l.up, l.down)
	}
	return append(out, p.norm)
}

func (p *params) clone(c Config) *params {
	q := &params{flat: append([]float64(nil), p.flat...)}
	q.bind(c)
	return q
}

// initParams draws the initial weights: norms at 1, matrices and embeddings
// normal with InitStd, residual output projections scaled down by
// sqrt(2*Layers) as in GPT-2.
func initParams(c Config, seed uint64) *params {
	p := newParams(c)
	r := rand.New(rand.NewPCG(seed, 0x746162))
	fill := func(x []float64, std float64) {
		for i := range x {
			x[i] = r.NormFloat64() * std
		}
	}
	std := c.InitStd
	resid := std / math.Sqrt(2*float64(c.Layers))
	fill(p.tokEmb, std)
	fill(p.posEmb, std)
	for _, l := range p.layers {
		ones(l.attnNorm)
		ones(l.mlpNorm)
		fill(l.qkv, std)
		fill(l.out, resid)
		fill(l.up, std)
		fill(l.down, resid)
	}
	ones(p.norm)
	return p
}

func ones(x []float64) {
	for i := range x {
		x[i] = 1
	}
}
