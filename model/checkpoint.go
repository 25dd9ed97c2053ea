package model

// Checkpoint layout (a directory):
//
//	config.json            the Config, JSON
//	model.safetensors      the weights
//	reference.safetensors  the frozen reference weights (Trainer.Save only)
//	optimizer.safetensors  AdamW moments "exp_avg.<name>" and "exp_avg_sq.<name>",
//	                       metadata {"step": "<optimizer steps taken>"} (Trainer.Save only)
//
// Every tensor is little-endian F64, row-major, named as follows (L = layer
// index; matrices use PyTorch nn.Linear's [out_features, in_features]):
//
//	tok_emb.weight            [vocab, width]   also the output head (tied)
//	pos_emb.weight            [context, width] learned positions
//	layers.L.attn_norm.weight [width]          RMSNorm gain before attention
//	layers.L.attn.qkv.weight  [3*width, width] rows: queries, keys, values; head h uses rows h*width/heads.. of each
//	layers.L.attn.out.weight  [width, width]
//	layers.L.mlp_norm.weight  [width]
//	layers.L.mlp.up.weight    [mlp, width]     followed by GELU (tanh approximation)
//	layers.L.mlp.down.weight  [width, mlp]
//	norm.weight               [width]          final RMSNorm gain
//
// so safetensors.torch.load_file("model.safetensors") yields a state dict of
// float64 tensors; model/bench_torch.py (the PyTorch twin of the
// architecture, which reads the file with a spec-following reader, as
// Debian has no python3-safetensors) loads it after renaming
// attn.qkv/attn.out/mlp.up/mlp.down to its module names, and
// TestCheckpointLoadsInPyTorch checks that it computes the same
// log-probabilities as Go.

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
)

// Checkpoint file names.
const (
	ConfigFile    = "config.json"
	WeightsFile   = "model.safetensors"
	ReferenceFile = "reference.safetensors"
	OptimizerFile = "optimizer.safetensors"
)

// maxHeader bounds the safetensors JSON header we accept (100 MB, as the
// reference implementation).
const maxHeader = 100 << 20

// Tensor is a named float64 tensor read from or written to safetensors.
type Tensor struct {
	Shape []int
	Data  []float64
}

type stEntry struct {
	DType   string `json:"dtype"`
	Shape   []int  `json:"shape"`
	Offsets [2]int `json:"data_offsets"`
}

// The codec is written here rather than taken from
// github.com/nlpodyssey/safetensors (the Go library the project would use)
// because that library counts a 0-dimensional tensor as 0 elements, not 1,
// so it cannot read or write the scalars that PyTorch's files may hold.

// EncodeSafetensors serialises tensors (F64) with optional string metadata.
func EncodeSafetensors(tensors map[string]Tensor, meta map[string]string) ([]byte, error) {
	names := make([]string, 0, len(tensors))
	for n := range tensors {
		names = append(names, n)
	}
	sort.Strings(names)
	header := map[string]any{}
	if len(meta) > 0 {
		header["__metadata__"] = meta
	}
	off := 0
	for _, n := range names {
		t := tensors[n]
		size := 1
		for _, d := range t.Shape {
			size *= d
		}
		if size != len(t.Data) {
			return nil, fmt.Errorf("safetensors: tensor %q has shape %v but %d values", n, t.Shape, len(t.Data))
		}
		header[n] = stEntry{DType: "F64", Shape: t.Shape, Offsets: [2]int{off, off + 8*size}}
		off += 8 * size
	}
	hj, err := json.Marshal(header)
	if err != nil {
		return nil, err
	}
	for len(hj)%8 != 0 {
		hj = append(hj, ' ')
	}
	buf := make([]byte, 8, 8+len(hj)+off)
	binary.LittleEndian.PutUint64(buf, uint64(len(hj)))
	buf = append(buf, hj...)
	for _, n := range names {
		for _, v := range tensors[n].Data {
			buf = binary.LittleEndian.AppendUint64(buf, math.Float64bits(v))
		}
	}
	return buf, nil
}

// DecodeSafetensors parses a safetensors file holding F64 or F32 tensors
// (F32 is widened). It rejects malformed headers, overlapping or
// out-of-range offsets, and other dtypes.
func DecodeSafetensors(b []byte) (map[string]Tensor, map[string]string, error) {
	if len(b) < 8 {
		return nil, nil, errors.New("safetensors: file shorter than its 8-byte header length")
	}
	n := binary.LittleEndian.Uint64(b)
	if n > maxHeader || n > uint64(len(b)-8) {
		return nil, nil, fmt.Errorf("safetensors: header length %d exceeds the file (%d bytes) or the 100 MB limit", n, len(b))
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b[8:8+n], &raw); err != nil {
		return nil, nil, fmt.Errorf("safetensors: header is not a JSON object: %w", err)
	}
	data := b[8+n:]
	var meta map[string]string
	out := map[string]Tensor{}
	type span struct {
		lo, hi int
		name   string
	}
	var spans []span
	for name, r := range raw {
		if name == "__metadata__" {
			if err := json.Unmarshal(r, &meta); err != nil {
				return nil, nil, fmt.Errorf("safetensors: __metadata__ must map strings to strings: %w", err)
			}
			continue
		}
		var e stEntry
		if err := json.Unmarshal(r, &e); err != nil {
			return nil, nil, fmt.Errorf("safetensors: tensor %q: %w", name, err)
		}
		width := 0
		switch e.DType {
		case "F64":
			width = 8
		case "F32":
			width = 4
		default:
			return nil, nil, fmt.Errorf("safetensors: tensor %q has dtype %q; only F64 and F32 are supported", name, e.DType)
		}
		size := 1
		for _, d := range e.Shape {
			if d < 0 || d > 1<<31 || (d > 0 && size > (1<<40)/d) {
				return nil, nil, fmt.Errorf("safetensors: tensor %q has a bad shape %v", name, e.Shape)
			}
			size *= d
		}
		lo, hi := e.Offsets[0], e.Offsets[1]
		if lo < 0 || hi < lo || hi > len(data) || hi-lo != size*width {
			return nil, nil, fmt.Errorf("safetensors: tensor %q: offsets [%d, %d] do not fit shape %v of %s in %d data bytes", name, lo, hi, e.Shape, e.DType, len(data))
		}
		spans = append(spans, span{lo, hi, name})
		t := Tensor{Shape: e.Shape, Data: make([]float64, size)}
		for i := range t.Data {
			if width == 8 {
				t.Data[i] = math.Float64frombits(binary.LittleEndian.Uint64(data[lo+8*i:]))
			} else {
				t.Data[i] = float64(math.Float32frombits(binary.LittleEndian.Uint32(data[lo+4*i:])))
			}
		}
		out[name] = t
	}
	sort.Slice(spans, func(i, j int) bool { return spans[i].lo < spans[j].lo })
	for i := 1; i < len(spans); i++ {
		if spans[i].lo < spans[i-1].hi {
			return nil, nil, fmt.Errorf("safetensors: tensors %q and %q overlap", spans[i-1].name, spans[i].name)
		}
	}
	return out, meta, nil
}

func (p *params) tensors(c Config, prefix string, into map[string]Tensor) {
	views := p.named(c)
	for k, s := range tensorSpecs(c) {
		into[prefix+s.name] = Tensor{Shape: s.shape, Data: views[k]}
	}
}

// load copies tensors named prefix+name into p, checking shapes.
func (p *params) load(c Config, prefix string, ts map[string]Tensor, file string) error {
	views := p.named(c)
	for k, s := range tensorSpecs(c) {
		t, ok := ts[prefix+s.name]
		if !ok {
			return fmt.Errorf("%s: tensor %q is missing", file, prefix+s.name)
		}
		if fmt.Sprint(t.Shape) != fmt.Sprint(s.shape) {
			return fmt.Errorf("%s: tensor %q has shape %v, the config wants %v", file, prefix+s.name, t.Shape, s.shape)
		}
		copy(views[k], t.Data)
	}
	return nil
}

func writeFileAtomic(path string, b []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func writeParams(path string, c Config, p *params, prefixes []string, extra []*params, meta map[string]string) error {
	ts := map[string]Tensor{}
	p.tensors(c, prefixes[0], ts)
	for i, e := range extra {
		e.tensors(c, prefixes[i+1], ts)
	}
	b, err := EncodeSafetensors(ts, meta)
	if err != nil {
		return err
	}
	return writeFileAtomic(path, b)
}

func readTensors(path string) (map[string]Tensor, map[string]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	ts, meta, err := DecodeSafetensors(b)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return ts, meta, nil
}

// Save writes config.json and model.safetensors into dir (created if
// needed).
func (m *Model) Save(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("save model: %w", err)
	}
	cj, err := json.MarshalIndent(m.cfg, "", "  ")
	if err != nil {
		return err
	}
	if err := writeFileAtomic(filepath.Join(dir, ConfigFile), append(cj, '\n')); err != nil {
		return fmt.Errorf("save model: %w", err)
	}
	if err := writeParams(filepath.Join(dir, WeightsFile), m.cfg, m.w, []string{""}, nil, map[string]string{"format": "tabler1"}); err != nil {
		return fmt.Errorf("save model: %w", err)
	}
	return nil
}

// Load reads a model saved by Save (or Trainer.Save) from dir.
func Load(dir string) (*Model, error) {
	cb, err := os.ReadFile(filepath.Join(dir, ConfigFile))
	if err != nil {
		return nil, fmt.Errorf("load model: %w (is %s a checkpoint directory?)", err, dir)
	}
	var cfg Config
	dec := json.NewDecoder(bytes.NewReader(cb))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cfg); err != nil {
		return nil, fmt.Errorf("load model: %s: %w", filepath.Join(dir, ConfigFile), err)
	}
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("load model: %s: %w", filepath.Join(dir, ConfigFile), err)
	}
	ts, _, err := readTensors(filepath.Join(dir, WeightsFile))
	if err != nil {
		return nil, fmt.Errorf("load model: %w", err)
	}
	m := &Model{cfg: cfg, w: newParams(cfg)}
	if err := m.w.load(cfg, "", ts, WeightsFile); err != nil {
		return nil, fmt.Errorf("load model: %w", err)
	}
	return m, nil
}

// Save writes the model, the reference model and the optimizer state into
// dir, enough for LoadTrainer to resume exactly. Accumulated gradients are
// not saved: save between optimizer steps.
func (t *Trainer) Save(dir string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.model.Save(dir); err != nil {
		return err
	}
	c := t.model.cfg
	if err := writeParams(filepath.Join(dir, ReferenceFile), c, t.ref.w, []string{""}, nil, nil); err != nil {
		return fmt.Errorf("save trainer: %w", err)
	}
	meta := map[string]string{"step": strconv.Itoa(t.step)}
	if err := writeParams(filepath.Join(dir, OptimizerFile), c, t.m1, []string{"exp_avg.", "exp_avg_sq."}, []*params{t.m2}, meta); err != nil {
		return fmt.Errorf("save trainer: %w", err)
	}
	return nil
}

// LoadTrainer resumes a trainer saved by Trainer.Save. A directory holding
// only a model (Model.Save) starts a fresh optimizer with the model as the
// reference.
func LoadTrainer(dir string) (*Trainer, error) {
	m, err := Load(dir)
	if err != nil {
		return nil, err
	}
	t := NewTrainer(m)
	c := m.cfg
	ref := filepath.Join(dir, ReferenceFile)
	if _, err := os.Stat(ref); err == nil {
		ts, _, err := readTensors(ref)
		if err != nil {
			return nil, fmt.Errorf("load trainer: %w", err)
		}
		if err := t.ref.w.load(c, "", ts, ReferenceFile); err != nil {
			return nil, fmt.Errorf("load trainer: %w", err)
		}
	}
	opt := filepath.Join(dir, OptimizerFile)
	if _, err := os.Stat(opt); err == nil {
		ts, meta, err := readTensors(opt)
		if err != nil {
			return nil, fmt.Errorf("load trainer: %w", err)
		}
		if err := t.m1.load(c, "exp_avg.", ts, OptimizerFile); err != nil {
			return nil, fmt.Errorf("load trainer: %w", err)
		}
		if err := t.m2.load(c, "exp_avg_sq.", ts, OptimizerFile); err != nil {
			return nil, fmt.Errorf("load trainer: %w", err)
		}
		step, err := strconv.Atoi(meta["step"])
		if err != nil || step < 0 {
			return nil, fmt.Errorf("load trainer: %s: metadata step %q is not a step count", OptimizerFile, meta["step"])
		}
		t.step = step
	}
	return t, nil
}
