package layouts

import (
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
)

// LTITask is one Layout Transformation Inference triple: the program turns
// Source into Target (run on load_table(Source), dump_table(df) equals
// Target under EqualCanonical). Ops names the operators in order.
type LTITask struct {
	ID      string   `json:"id"`
	Source  *Table   `json:"source"`
	Target  *Table   `json:"target"`
	Program string   `json:"program"`
	Ops     []string `json:"ops"`
}

// LTIOptions are the generator's knobs. The zero value composes 1-3
// operators, uniformly over all of them, on sources cropped to 20 rows and
// 8 columns.
type LTIOptions struct {
	MinOps, MaxOps int // operators per task; default 1..3
	// MaxRows and MaxCols crop each source table (first rows, first
	// columns) before use; default 20 and 8, negative for no cap.
	MaxRows, MaxCols int
	// Weights gives each operator name a sampling weight; a name missing
	// from a non-nil map is never used. Nil weighs all operators equally.
	Weights map[string]float64
}

func (o LTIOptions) withDefaults() LTIOptions {
	if o.MinOps <= 0 {
		o.MinOps = 1
	}
	if o.MaxOps <= 0 {
		o.MaxOps = 3
	}
	o.MaxOps = max(o.MaxOps, o.MinOps)
	if o.MaxRows == 0 {
		o.MaxRows = 20
	}
	if o.MaxCols == 0 {
		o.MaxCols = 8
	}
	return o
}

// LTIGenerator draws LTI tasks from a fixed set of source tables. It keeps
// the tasks it has produced so that none repeats. It is not safe for
// concurrent use.
type LTIGenerator struct {
	opt     LTIOptions
	sources []*Table // cropped, distinct
	frames  []*frame // their pandas models
	specs   []opSpec
	weights []float64
	total   float64
	seen    map[uint64]bool
}

// ParseOpWeights reads an operator mix: "a,b,c" (equal weights) or
// "a=2,b=1". Unknown names are an error listing the known ones.
func ParseOpWeights(s string) (map[string]float64, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	known := OpNames()
	out := map[string]float64{}
	for _, part := range strings.Split(s, ",") {
		name, w, hasW := strings.Cut(strings.TrimSpace(part), "=")
		weight := 1.0
		if hasW {
			var err error
			if weight, err = strconv.ParseFloat(strings.TrimSpace(w), 64); err != nil || !(weight >= 0) || math.IsInf(weight, 0) {
				return nil, fmt.Errorf("operator weight %q: want name=number with a finite number >= 0", part)
			}
		}
		if !slices.Contains(known, name) {
			return nil, fmt.Errorf("unknown operator %q; known: %s", name, strings.Join(known, ", "))
		}
		out[name] = weight
	}
	return out, nil
}

// NewLTIGenerator prepares sources (cropped per opt, duplicates and tables
// the pandas bridge cannot load dropped). It fails when no usable source
// remains or the weights select no operator.
func NewLTIGenerator(sources []*Table, opt LTIOptions) (*LTIGenerator, error) {
	g := &LTIGenerator{opt: opt.withDefaults(), seen: map[uint64]bool{}}
	for name := range g.opt.Weights {
		if !slices.Contains(OpNames(), name) {
			return nil, fmt.Errorf("layouts: unknown operator %q in weights; known: %s", name, strings.Join(OpNames(), ", "))
		}
	}
	for _, s := range opSpecs() {
		w := 1.0
		if g.opt.Weights != nil {
			w = g.opt.Weights[s.name]
		}
		if math.IsInf(w, 0) {
			return nil, fmt.Errorf("layouts: operator %s has an infinite weight", s.name)
		}
		if w > 0 { // NaN and negative weights disable the operator
			g.specs = append(g.specs, s)
			g.weights = append(g.weights, w)
			g.total += w
		}
	}
	if len(g.specs) == 0 {
		return nil, errors.New("layouts: the operator weights select no operator")
	}
	dup := map[uint64]bool{}
	for _, t := range sources {
		c := crop(t, g.opt.MaxRows, g.opt.MaxCols)
		if c == nil {
			continue
		}
		f, err := loadFrame(c)
		if err != nil {
			continue
		}
		h := hashJSON(c)
		if dup[h] {
			continue
		}
		dup[h] = true
		g.sources = append(g.sources, c)
		g.frames = append(g.frames, f)
	}
	if len(g.sources) == 0 {
		return nil, fmt.Errorf("layouts: none of the %d source tables is usable (each needs a header, a body row and valid UTF-8)", len(sources))
	}
	return g, nil
}

// Sources is the number of distinct usable source tables.
func (g *LTIGenerator) Sources() int { return len(g.sources) }

// crop keeps the first rows and columns within the caps; it returns nil
// for a table with no header or no body row.
func crop(t *Table, maxRows, maxCols int) *Table {
	if t == nil || t.Validate() != nil || len(t.Rows) == 0 {
		return nil
	}
	c := t.Clone()
	if maxRows > 0 && len(c.Rows) > maxRows {
		c.Rows = c.Rows[:maxRows]
	}
	if maxCols > 0 && c.NumCols() > maxCols {
		for l := range c.Header {
			c.Header[l] = c.Header[l][:maxCols]
		}
		for r := range c.Rows {
			c.Rows[r] = c.Rows[r][:maxCols]
		}
		c.RowHeaderCols = min(c.RowHeaderCols, maxCols)
	}
	return c
}

func hashJSON(v any) uint64 {
	b, _ := json.Marshal(v)
	h := fnv.New64a()
	h.Write(b)
	return h.Sum64()
}

// maxTries bounds the attempts per task before Generate gives up.
const maxTries = 200

// Next draws one new task with rng: a random source, 1..MaxOps operators
// whose parameters fit the table as it is at that step. Tasks whose target
// equals the source, or that were produced before, are redrawn.
func (g *LTIGenerator) Next(rng *rand.Rand) (LTITask, error) {
	for range maxTries {
		si := rng.IntN(len(g.sources))
		k := g.opt.MinOps + rng.IntN(g.opt.MaxOps-g.opt.MinOps+1)
		f := g.frames[si]
		var chain Chain
		for len(chain) < k {
			prev := ""
			if len(chain) > 0 {
				prev = chain[len(chain)-1].Name()
			}
			op, next := g.step(rng, f, prev)
			if op == nil {
				break
			}
			chain = append(chain, op)
			f = next
		}
		if len(chain) < g.opt.MinOps {
			continue
		}
		target := dumpFrame(f)
		if EqualCanonical(target, g.sources[si]) {
			continue
		}
		prog := chain.Program()
		h := fnv.New64a()
		fmt.Fprintf(h, "%d\x00%s", si, prog)
		key := h.Sum64()
		if g.seen[key] {
			continue
		}
		g.seen[key] = true
		return LTITask{
			ID:      fmt.Sprintf("lti-%016x", key),
			Source:  g.sources[si],
			Target:  target,
			Program: prog,
			Ops:     chain.Names(),
		}, nil
	}
	return LTITask{}, fmt.Errorf("layouts: no new LTI task after %d tries: the sources (%d) and operators may be exhausted; add tables or operators", maxTries, len(g.sources))
}

// step applies one weighted-random operator that fits f, trying each
// operator at most once and never prev again (demote twice, sort twice:
// tasks that teach nothing new).
func (g *LTIGenerator) step(rng *rand.Rand, f *frame, prev string) (Op, *frame) {
	weights := append([]float64(nil), g.weights...)
	total := g.total
	for i, s := range g.specs {
		if s.name == prev {
			total -= weights[i]
			weights[i] = 0
		}
	}
	for left := len(weights); left > 0; left-- {
		x := rng.Float64() * total
		i := -1
		for j, w := range weights {
			if w <= 0 {
				continue
			}
			i = j // the last positive weight absorbs rounding
			if x < w {
				break
			}
			x -= w
		}
		if i < 0 {
			break
		}
		total -= weights[i]
		weights[i] = 0
		op := g.specs[i].sample(rng, f)
		if op == nil {
			continue
		}
		next, err := op.apply(f)
		if err != nil {
			continue
		}
		return op, next
	}
	return nil, nil
}

// Generate draws n tasks (see Next).
func (g *LTIGenerator) Generate(rng *rand.Rand, n int) ([]LTITask, error) {
	out := make([]LTITask, 0, n)
	for range n {
		t, err := g.Next(rng)
		if err != nil {
			return out, err
		}
		out = append(out, t)
	}
	return out, nil
}
