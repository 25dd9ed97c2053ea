package model

import (
	"fmt"
)

// Config is the architecture of a model: a pre-norm decoder-only transformer
// with learned positions, RMSNorm, GELU MLP and an output head tied to the
// token embedding. The zero value is not valid; start from DefaultConfig or
// SmokeConfig.
type Config struct {
	// Layers is the number of transformer blocks.
	Layers int `json:"layers" yaml:"layers"`
	// Width is the model (residual) dimension; it must divide by Heads.
	Width int `json:"width" yaml:"width"`
	// Heads is the number of attention heads.
	Heads int `json:"heads" yaml:"heads"`
	// MLP is the hidden width of the feed-forward block (0: 4*Width).
	MLP int `json:"mlp" yaml:"mlp"`
	// Context is the maximum sequence length (prompt plus completion).
	Context int `json:"context" yaml:"context"`
	// Vocab is the vocabulary size; it must equal the tokenizer's
	// (VocabSize) since the tokenizer is fixed.
	Vocab int `json:"vocab" yaml:"vocab"`
	// NormEps is the RMSNorm epsilon (0: 1e-5).
	NormEps float64 `json:"norm_eps" yaml:"norm_eps"`
	// InitStd is the standard deviation of the weight initialisation (0: 0.02).
	InitStd float64 `json:"init_std" yaml:"init_std"`
}

// DefaultConfig is the default embedded model: 4 layers, width 128, 4 heads,
// context 1024; about 0.95M parameters.
func DefaultConfig() Config {
	return Config{Layers: 4, Width: 128, Heads: 4, MLP: 512, Context: 1024, Vocab: VocabSize, NormEps: 1e-5, InitStd: 0.02}
}

// SmokeConfig is the model of the CPU smoke run: 2 layers, width 64, 4
// heads, context 1024; about 0.18M parameters, several times faster to
// train than DefaultConfig.
func SmokeConfig() Config {
	return Config{Layers: 2, Width: 64, Heads: 4, MLP: 256, Context: 1024, Vocab: VocabSize, NormEps: 1e-5, InitStd: 0.02}
}

// withDefaults fills the optional fields.
func (c Config) withDefaults() Config {
	if c.MLP == 0 {
		c.MLP = 4 * c.Width
	}
	if c.NormEps == 0 {
		c.NormEps = 1e-5
	}
	if c.InitStd == 0 {
		c.InitStd = 0.02
	}
	if c.Vocab == 0 {
		c.Vocab = VocabSize
	}
	return c
}

// Validate reports the first problem with c, saying which field to fix.
func (c Config) Validate() error {
	c = c.withDefaults()
	switch {
	case c.Layers < 1 || c.Layers > 64:
		return fmt.Errorf("model config: layers = %d, want 1..64", c.Layers)
	case c.Width < 1 || c.Width > 4096:
		return fmt.Errorf("model config: width = %d, want 1..4096", c.Width)
	case c.Heads < 1 || c.Width%c.Heads != 0:
		return fmt.Errorf("model config: heads = %d must be >= 1 and divide width %d", c.Heads, c.Width)
	case c.MLP < 1 || c.MLP > 65536:
		return fmt.Errorf("model config: mlp = %d, want 1..65536 (0 means 4*width)", c.MLP)
	case c.Context < 2 || c.Context > 65536:
		return fmt.Errorf("model config: context = %d, want 2..65536", c.Context)
	case c.Vocab != VocabSize:
		return fmt.Errorf("model config: vocab = %d, but the byte-level tokenizer has %d tokens; set vocab to %d or leave it 0", c.Vocab, VocabSize, VocabSize)
	case c.NormEps < 0 || c.InitStd < 0:
		return fmt.Errorf("model config: norm_eps and init_std must not be negative")
	}
	return nil
}

// NumParams is the number of trainable parameters of c.
func (c Config) NumParams() int {
	c = c.withDefaults()
	n := 0
	for _, t := range tensorSpecs(c) {
		n += t.size()
	}
	return n
}
