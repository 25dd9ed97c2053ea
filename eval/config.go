package eval

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// RunConfig is an eval run as configs/eval*.yaml write it; the flags of
// tabler1 eval override its fields.
type RunConfig struct {
	// Endpoints are OpenAI base URLs (http://127.0.0.1:8000/v1) serving Model.
	Endpoints []string `yaml:"endpoints"`
	// Checkpoint, instead of Endpoints, is an embedded-model checkpoint that
	// tabler1 eval serves in-process on a loopback port.
	Checkpoint string `yaml:"checkpoint"`
	Model      string `yaml:"model"`
	// Server is the kind of server (vllm, sglang, embedded, ...; default vllm).
	Server string `yaml:"server"`
	// Chat sends prompts to /v1/chat/completions as one user message (for
	// instruct models) instead of raw completions.
	Chat      bool   `yaml:"chat"`
	APIKeyEnv string `yaml:"api_key_env"`
	// Benchmarks to run (default: the paper's four).
	Benchmarks []string `yaml:"benchmarks"`
	// Data is a uniform JSONL file, a directory of <bench>.<split>.jsonl
	// files, or a directory of native files (one benchmark only).
	Data  string `yaml:"data"`
	Split string `yaml:"split"`
	// Limit keeps a seeded subset of that many examples per benchmark (0: all).
	Limit int    `yaml:"limit"`
	Seed  uint64 `yaml:"seed"`

	Mode        string  `yaml:"mode"` // program, text or mixed (default mixed)
	K           int     `yaml:"k"`
	Temperature float64 `yaml:"temperature"`
	TopP        float64 `yaml:"top_p"`
	MaxTokens   int     `yaml:"max_tokens"`
	Concurrency int     `yaml:"concurrency"`
	// PreviewRows is how many table rows a prompt shows (default 10).
	PreviewRows int `yaml:"preview_rows"`
	// Template is the prompt template: "" (the full prompts of package
	// rollout) or "compact" (the short prompts of the embedded model's
	// training). A checkpoint with its run's config.yaml two directories up
	// defaults to the template and preview rows it was trained with.
	Template string `yaml:"template"`
	// SandboxWorkers is the number of Python workers (default: CPUs).
	SandboxWorkers int `yaml:"sandbox_workers"`
	// Out is the output directory: cache, report, prediction files.
	Out string `yaml:"out"`
	// RequestTimeout bounds one attempt of a request (default 5m) and
	// StallTimeout how long no endpoint may answer while requests wait
	// before the eval stops (default 10m, at least RequestTimeout).
	RequestTimeout time.Duration `yaml:"request_timeout"`
	StallTimeout   time.Duration `yaml:"stall_timeout"`
	// HealthTimeout bounds the check, before any request, that every
	// endpoint answers GET /v1/models (default 10s).
	HealthTimeout time.Duration `yaml:"health_timeout"`
	// MaxFailedRequests is the share of samples whose request failed
	// (request_error, request_rejected) above which the eval exits
	// non-zero after writing its report (default 0.1; 1 never fails).
	MaxFailedRequests float64 `yaml:"max_failed_requests"`
}

// TemplateCompact names the compact prompt template of the smoke run.
const TemplateCompact = "compact"

// DefaultMaxFailedRequests is max_failed_requests when unset: the share of
// failed requests above which a command that queries a model (eval,
// distill) fails.
const DefaultMaxFailedRequests = 0.1

// LoadRunConfig reads a YAML eval configuration; unknown keys are errors.
func LoadRunConfig(path string) (RunConfig, error) {
	var c RunConfig
	b, err := os.ReadFile(path)
	if err != nil {
		return c, fmt.Errorf("eval config: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		return c, fmt.Errorf("eval config %s: %w", path, err)
	}
	return c, nil
}

// Validate checks the fields a run needs and fills defaults.
func (c *RunConfig) Validate() error {
	if len(c.Endpoints) == 0 {
		return fmt.Errorf("no endpoint: give --endpoint URL (an OpenAI base URL such as http://127.0.0.1:8000/v1)")
	}
	if c.Model == "" {
		return fmt.Errorf("no model name: give --model NAME (the served model id)")
	}
	if c.Data == "" {
		return fmt.Errorf("no benchmark data: give --data FILE or --data-dir DIR")
	}
	if c.Out == "" {
		return fmt.Errorf("no output directory: give --out DIR")
	}
	benches, err := ParseBenchmarks(strings.Join(c.Benchmarks, ","))
	if err != nil {
		return err
	}
	if c.Benchmarks = benches; len(benches) == 0 {
		c.Benchmarks = PaperBenchmarks()
	}
	if c.Mode == "" {
		c.Mode = string(ModeMixed)
	}
	if _, err := ParseMode(c.Mode); err != nil {
		return err
	}
	if c.Template != "" && c.Template != TemplateCompact {
		return fmt.Errorf("unknown template %q: want %q or none (the full prompts)", c.Template, TemplateCompact)
	}
	if c.K <= 0 {
		c.K = 1
	}
	if c.K > 1 && c.Temperature <= 0 {
		return fmt.Errorf("k = %d samples need sampling: set a temperature > 0 (greedy decoding repeats one answer)", c.K)
	}
	if c.HealthTimeout <= 0 {
		c.HealthTimeout = 10 * time.Second
	}
	if c.MaxFailedRequests == 0 {
		c.MaxFailedRequests = DefaultMaxFailedRequests
	}
	if c.MaxFailedRequests < 0 || c.MaxFailedRequests > 1 {
		return fmt.Errorf("max_failed_requests is %g: want a share in (0, 1] (1: never fail for failed requests)", c.MaxFailedRequests)
	}
	if c.RequestTimeout < 0 || c.StallTimeout < 0 {
		return fmt.Errorf("request_timeout and stall_timeout must not be negative (0: the defaults, 5m and 10m)")
	}
	return nil
}

// CacheSettings are what a cached sample depends on: a rerun with other
// values must not reuse the cache. Checkpoint should be resolved (no
// checkpoints/latest link): another checkpoint answers otherwise.
func (c *RunConfig) CacheSettings() map[string]any {
	return map[string]any{"model": c.Model, "mode": c.Mode, "temperature": c.Temperature, "top_p": c.TopP,
		"max_tokens": c.MaxTokens, "preview_rows": c.PreviewRows, "template": c.Template, "checkpoint": c.Checkpoint, "seed": c.Seed, "chat": c.Chat}
}
