package trainer

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"tabler1/backend"
	"tabler1/eval"
	"tabler1/grpo"
	"tabler1/model"
	"tabler1/rollout"
)

// Stage kinds. The LTI stages train on layout-transformation triples, the
// others on table questions; the *_sft stages imitate gold programs, the
// GRPO stages learn from sampled, executed and scored completions.
const (
	StageLTISFT  = "lti_sft"
	StageSFT     = "sft"
	StageGRPO    = "grpo"
	StageLTIGRPO = "lti_grpo"
)

// StageKinds lists the valid stage kinds in the order a full run uses them.
var StageKinds = []string{StageLTISFT, StageSFT, StageGRPO, StageLTIGRPO}

// Config is one run configuration, as read from YAML. Zero fields take the
// defaults applied by Defaults; Validate says what is wrong with the rest.
type Config struct {
	// Name names the run; the run directory defaults to runs/<name>.
	Name string `yaml:"name" json:"name"`
	// Seed drives every random choice of the controller: data order,
	// synthetic questions, sampling seeds.
	Seed uint64 `yaml:"seed" json:"seed"`
	// RunDir is where the run writes; the --run-dir flag overrides it.
	RunDir string `yaml:"run_dir" json:"run_dir"`

	Model   ModelConfig   `yaml:"model" json:"model"`
	Backend BackendConfig `yaml:"backend" json:"backend"`
	Rollout RolloutConfig `yaml:"rollout" json:"rollout"`
	Sandbox SandboxConfig `yaml:"sandbox" json:"sandbox"`
	Data    DataConfig    `yaml:"data" json:"data"`
	// Eval evaluates the served model every eval.every steps on a seeded
	// subset of the benchmarks (package eval's HookConfig; off by default).
	Eval eval.HookConfig `yaml:"eval" json:"eval"`
	// Rewards configures the reward (package grpo); omitted keys keep
	// grpo.DefaultRewardConfig's values.
	Rewards    grpo.RewardConfig `yaml:"rewards" json:"rewards"`
	Stages     []StageConfig     `yaml:"stages" json:"stages"`
	Checkpoint CheckpointConfig  `yaml:"checkpoint" json:"checkpoint"`
	Logging    LoggingConfig     `yaml:"logging" json:"logging"`
}

// ModelConfig names the policy being trained and where it is served.
type ModelConfig struct {
	// Name is the model name sent in OpenAI requests (the served model id).
	Name string `yaml:"name" json:"name"`
	// Endpoints serve the policy over the OpenAI API (package rollout: url,
	// server, api_key_env, max_concurrency, weight). Empty with the embedded
	// backend: the embedded model is served on a local port.
	Endpoints []rollout.EndpointConfig `yaml:"endpoints" json:"endpoints"`
	// Embedded sizes the embedded model (backend.kind: embedded).
	Embedded EmbeddedModelConfig `yaml:"embedded" json:"embedded"`
}

// EmbeddedModelConfig sizes the in-process model of the embedded backend.
type EmbeddedModelConfig struct {
	// Config is the architecture (layers, width, heads, mlp, context); zero
	// fields take model.SmokeConfig's values.
	model.Config `yaml:",inline"`
	// Addr is the loopback address the model is served on ("127.0.0.1:0"
	// picks a free port).
	Addr string `yaml:"addr" json:"addr"`
	// Workers bounds the goroutines of one forward-backward (0: GOMAXPROCS).
	Workers int `yaml:"workers" json:"workers"`
	// Engine computes training passes: "plain" (default, the faster on a
	// CPU) or "gorgonia" (the same transformer as a gorgonia graph, with
	// autodiff); both compute the same numbers (see package model).
	Engine model.Engine `yaml:"engine" json:"engine,omitempty"`
}

// Backend kinds.
const (
	BackendEmbedded = "embedded"
	BackendRemote   = "remote"
)

// BackendConfig selects and configures the gradient backend.
type BackendConfig struct {
	Kind string `yaml:"kind" json:"kind"`
	// URL is the remote backend's base URL (kind remote).
	URL string `yaml:"url" json:"url,omitempty"`
	// TokenEnv names the environment variable with the bearer token.
	TokenEnv string `yaml:"token_env" json:"token_env,omitempty"`
	// Timeout bounds one call; SaveTimeout bounds save and load, which move
	// whole checkpoints.
	Timeout     time.Duration `yaml:"timeout" json:"timeout"`
	SaveTimeout time.Duration `yaml:"save_timeout" json:"save_timeout"`
	// HealthTimeout bounds the health check of a remote backend before the
	// run (and in --dry-run) starts.
	HealthTimeout time.Duration `yaml:"health_timeout" json:"health_timeout"`
	// Retries is how many times a failed call is retried (with exponential
	// backoff from RetryBackoff) before the run stops.
	Retries      int           `yaml:"retries" json:"retries"`
	RetryBackoff time.Duration `yaml:"retry_backoff" json:"retry_backoff"`
}

// RolloutConfig sets how completions are sampled.
type RolloutConfig struct {
	Temperature float64 `yaml:"temperature" json:"temperature"`
	TopP        float64 `yaml:"top_p" json:"top_p"`
	MaxTokens   int     `yaml:"max_tokens" json:"max_tokens"`
	// Concurrency bounds requests in flight across all endpoints.
	Concurrency int `yaml:"concurrency" json:"concurrency"`
	// Timeout bounds one attempt of a request; StallTimeout stops the run
	// when no endpoint has answered for that long while requests wait (at
	// least Timeout); HealthTimeout bounds the check that every endpoint
	// answers GET /v1/models before the run starts.
	Timeout       time.Duration `yaml:"timeout" json:"timeout"`
	StallTimeout  time.Duration `yaml:"stall_timeout" json:"stall_timeout"`
	HealthTimeout time.Duration `yaml:"health_timeout" json:"health_timeout"`
	Retries       int           `yaml:"retries" json:"retries"`
	// Template names the prompt template ("compact" keeps byte-level prompts
	// short for the embedded model; "table_r1" is the full prompt).
	Template string `yaml:"template" json:"template"`
	// PreviewRows is how many table rows the prompt shows (paper: 10).
	PreviewRows int `yaml:"preview_rows" json:"preview_rows"`
}

// SandboxConfig sizes the local sandbox pool.
type SandboxConfig struct {
	Workers  int           `yaml:"workers" json:"workers"`
	Wall     time.Duration `yaml:"wall" json:"wall"`
	MemoryMB int           `yaml:"memory_mb" json:"memory_mb"`
	// Python is the interpreter with pandas; empty takes $TABLER1_PYTHON or
	// /usr/bin/python3.
	Python string `yaml:"python" json:"python,omitempty"`
	// URL, when set, sends programs to a remote sandbox service instead.
	URL string `yaml:"url" json:"url,omitempty"`
	// Dedup runs identical programs on identical tables once and shares the
	// result (sandbox.Dedup); nil means true.
	Dedup *bool `yaml:"dedup" json:"dedup,omitempty"`
}

// dedup reports whether identical programs share one execution.
func (c SandboxConfig) dedup() bool { return c.Dedup == nil || *c.Dedup }

// DataConfig lists where training questions come from.
type DataConfig struct {
	Sources   []SourceConfig  `yaml:"sources" json:"sources"`
	Synthetic SyntheticConfig `yaml:"synthetic" json:"synthetic"`
	LTI       LTIConfig       `yaml:"lti" json:"lti"`
}

// SourceConfig is one source of training questions: a file in the uniform
// JSONL schema, or, with Benchmark set, that benchmark's data read by
// package eval's loaders (a uniform JSONL file, or a directory of its native
// files) at Split (default: the paper's training split).
type SourceConfig struct {
	Path string `yaml:"path" json:"path"`
	// Benchmark names the benchmark to read from Path with eval's loaders
	// (a name of eval's benchmark table, eval.Benchmarks); empty reads Path
	// as uniform JSONL with every benchmark in it.
	Benchmark string `yaml:"benchmark" json:"benchmark,omitempty"`
	// Split is the split to read with Benchmark (default: the table's
	// eval.TrainSplit: wtq training, aitqa train = the seeded 80% of
	// eval.AITQASplit, others train).
	Split  string  `yaml:"split" json:"split,omitempty"`
	Weight float64 `yaml:"weight" json:"weight"`
	// Limit keeps only the first Limit questions (0: all).
	Limit int `yaml:"limit" json:"limit,omitempty"`
	// AllowEvalSplit permits a file whose split is an evaluation split
	// (e.g. wtq pristine-unseen-tables, tabfact test). Off by default so an
	// evaluation set is never trained on by accident.
	AllowEvalSplit bool `yaml:"allow_eval_split" json:"allow_eval_split,omitempty"`
}

// SyntheticConfig turns on the synthetic question generator over tiny
// tables (extremum, conditional count, lookup, difference).
type SyntheticConfig struct {
	Questions int     `yaml:"questions" json:"questions"`
	Weight    float64 `yaml:"weight" json:"weight"`
	MinRows   int     `yaml:"min_rows" json:"min_rows"`
	MaxRows   int     `yaml:"max_rows" json:"max_rows"`
	// Columns is the pool the two numeric column names are drawn from
	// (empty: age, score, wins, goals, price, points); two names make every
	// table's columns the same, the easiest setting for a tiny model.
	Columns []string `yaml:"columns" json:"columns,omitempty"`
	// Templates restricts the templates used (empty: all).
	Templates []string `yaml:"templates" json:"templates,omitempty"`
	// Verify runs every gold program in the sandbox and drops a question
	// whose program does not print its gold answer.
	Verify bool `yaml:"verify" json:"verify"`
}

// LTIConfig configures LTI triples: read from a file, or generated from the
// tables of the question sources.
type LTIConfig struct {
	Path  string `yaml:"path" json:"path,omitempty"`
	Tasks int    `yaml:"tasks" json:"tasks"`
	// MaxOps is the most operators composed in one task.
	MaxOps int `yaml:"max_ops" json:"max_ops"`
	// MaxRows crops source tables to this many rows before transforming
	// (0: the generator's default of 20).
	MaxRows int `yaml:"max_rows" json:"max_rows,omitempty"`
}

// StageConfig is one stage of the run.
type StageConfig struct {
	Kind  string `yaml:"kind" json:"kind"`
	Steps int    `yaml:"steps" json:"steps"`
	// BatchSize is questions (prompts) per step. The group (GRPO stages):
	// group_size completions per question, drawn under paradigm_policy
	// (free, split, program_first, program or text; package rollout).
	BatchSize           int `yaml:"batch_size" json:"batch_size"`
	rollout.GroupConfig `yaml:",inline"`

	Optim backend.OptimConfig `yaml:"optim" json:"optim"`
	// Loss is the policy loss (package grpo, verl's names); omitted keys
	// keep grpo.DefaultLossConfig's values (a stage decodes onto them).
	Loss grpo.LossConfig `yaml:"loss" json:"loss"`
	// Advantage picks the estimator and DAPO's dynamic sampling
	// (advantage.filter_groups: drop groups whose outcomes are all equal
	// and draw more questions, up to max_num_gen_batches batches per step).
	Advantage grpo.AdvantageConfig `yaml:"advantage" json:"advantage"`
	// Async lets rollouts, execution and scoring of the next steps run
	// while a step trains (GRPO stages only; off by default).
	Async AsyncConfig `yaml:"async" json:"async"`
	// Sources restricts the stage to these question sources (by path, or
	// "synthetic"); empty: all of them.
	Sources []string `yaml:"sources" json:"sources,omitempty"`
}

// UnmarshalYAML decodes a stage onto grpo.DefaultLossConfig, so that the
// loss keys a stage omits keep grpo's defaults (a zero clip_ratio_c
// would switch dual clip off).
func (st *StageConfig) UnmarshalYAML(n *yaml.Node) error {
	type plain StageConfig
	p := plain{Loss: grpo.DefaultLossConfig()}
	if err := n.Decode(&p); err != nil {
		return err
	}
	*st = StageConfig(p)
	return nil
}

// AsyncConfig turns on asynchronous (off-policy) rollouts, as prime-rl's
// orchestrator: while step n trains, the groups of steps n+1.. are sampled
// from the weights last published. Every sample records the step of the
// policy that generated it (Sample.PolicyStep); a group whose policy is more
// than Staleness steps behind the policy the step would sample on-policy
// (staleness = step-1-policy_step) is dropped and counted (stale_dropped).
type AsyncConfig struct {
	Enable bool `yaml:"enable" json:"enable"`
	// Staleness is the bound k on off-policy steps (prime-rl's
	// max_off_policy_steps); default 1 when enabled.
	Staleness int `yaml:"staleness" json:"staleness"`
	// MaxAhead is how many steps generation may run ahead of training:
	// generation of step m starts once step m-1-max_ahead has published.
	// Default: Staleness, so no group is ever dropped; a larger value
	// trades dropped groups for less waiting.
	MaxAhead int `yaml:"max_ahead" json:"max_ahead"`
}

// CheckpointConfig sets when checkpoints are written and how many are kept.
type CheckpointConfig struct {
	// Every is the checkpoint interval in steps; 0 checkpoints only at the
	// end and on SIGINT/SIGTERM.
	Every int `yaml:"every" json:"every"`
	Keep  int `yaml:"keep" json:"keep"`
}

// LoggingConfig sets the run's console output.
type LoggingConfig struct {
	// Progress is auto (a bar on a terminal, plain lines elsewhere), bar,
	// plain or none.
	Progress string `yaml:"progress" json:"progress"`
	// RolloutLog writes rollouts/step-N.jsonl with every scored sample.
	RolloutLog *bool `yaml:"rollout_log" json:"rollout_log"`
	// TensorBoard writes each step's metrics as TensorBoard scalars under
	// RUN_DIR/tb (default true).
	TensorBoard *bool `yaml:"tensorboard" json:"tensorboard"`
	// Level is the zap level of log.jsonl (debug, info, warn, error).
	Level string `yaml:"level" json:"level"`
}

// LoadConfig reads, strictly decodes, defaults and validates a
// configuration file.
func LoadConfig(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading config: %w", err)
	}
	c, err := ParseConfig(b)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return c, nil
}

// ParseConfig decodes YAML strictly (an unknown key is an error naming its
// line and the nearest valid key), applies defaults and validates.
func ParseConfig(b []byte) (*Config, error) {
	// Rewards decode onto grpo's defaults so omitted keys keep them.
	c := Config{Rewards: grpo.DefaultRewardConfig()}
	if err := decodeStrict(b, &c); err != nil {
		return nil, err
	}
	c.Defaults()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

func boolPtr(b bool) *bool { return &b }

// Defaults fills every zero field that has a default.
func (c *Config) Defaults() {
	if c.Name == "" {
		c.Name = "run"
	}
	if c.RunDir == "" {
		c.RunDir = "runs/" + c.Name
	}
	if c.Backend.Kind == "" {
		c.Backend.Kind = BackendEmbedded
	}
	setDur(&c.Backend.Timeout, 5*time.Minute)
	setDur(&c.Backend.SaveTimeout, 30*time.Minute)
	setDur(&c.Backend.HealthTimeout, 30*time.Second)
	setDur(&c.Backend.RetryBackoff, time.Second)
	if c.Backend.Retries == 0 {
		c.Backend.Retries = 3
	}
	e := &c.Model.Embedded
	sm := model.SmokeConfig()
	setInt(&e.Layers, sm.Layers)
	setInt(&e.Width, sm.Width)
	setInt(&e.Heads, sm.Heads)
	setInt(&e.MLP, 4*e.Width)
	setInt(&e.Context, sm.Context)
	setInt(&e.Vocab, sm.Vocab)
	if e.Addr == "" {
		e.Addr = "127.0.0.1:0"
	}
	r := &c.Rollout
	if r.Temperature == 0 {
		r.Temperature = 1
	}
	if r.TopP == 0 {
		r.TopP = 1
	}
	setInt(&r.MaxTokens, 512)
	setInt(&r.Concurrency, 64)
	setDur(&r.Timeout, 2*time.Minute)
	setDur(&r.StallTimeout, max(10*time.Minute, r.Timeout))
	setDur(&r.HealthTimeout, 10*time.Second)
	setInt(&r.Retries, 3)
	if r.Template == "" {
		r.Template = "table_r1"
	}
	setInt(&r.PreviewRows, 10)
	s := &c.Sandbox
	setInt(&s.Workers, 4)
	setDur(&s.Wall, 10*time.Second)
	setInt(&s.MemoryMB, 1024)
	for i := range c.Data.Sources {
		if c.Data.Sources[i].Weight == 0 {
			c.Data.Sources[i].Weight = 1
		}
	}
	sy := &c.Data.Synthetic
	if sy.Questions > 0 {
		if sy.Weight == 0 {
			sy.Weight = 1
		}
		setInt(&sy.MinRows, 4)
		setInt(&sy.MaxRows, 14)
	}
	setInt(&c.Data.LTI.MaxOps, 2)
	for i := range c.Stages {
		st := &c.Stages[i]
		setInt(&st.BatchSize, 8)
		if st.Kind == StageGRPO || st.Kind == StageLTIGRPO {
			st.GroupConfig = st.GroupConfig.WithDefaults()
		} else {
			setInt(&st.GroupSize, 1)
		}
		o := &st.Optim
		if o.LR == 0 {
			o.LR = 1e-6
		}
		setF(&o.Beta1, 0.9)
		setF(&o.Beta2, 0.999)
		setF(&o.Eps, 1e-8)
		setF(&o.GradClip, 1)
		if st.Advantage.Estimator == "" {
			st.Advantage.Estimator = grpo.EstimatorGRPO
		}
		if st.Async.Enable {
			setInt(&st.Async.Staleness, 1)
			setInt(&st.Async.MaxAhead, st.Async.Staleness)
		}
		if st.Advantage.FilterGroups.Enable && st.Advantage.FilterGroups.MaxNumGenBatches == 0 {
			st.Advantage.FilterGroups.MaxNumGenBatches = 4
		}
	}
	setInt(&c.Checkpoint.Keep, 3)
	if c.Logging.Progress == "" {
		c.Logging.Progress = "auto"
	}
	if c.Logging.RolloutLog == nil {
		c.Logging.RolloutLog = boolPtr(true)
	}
	if c.Logging.TensorBoard == nil {
		c.Logging.TensorBoard = boolPtr(true)
	}
	if c.Logging.Level == "" {
		c.Logging.Level = "info"
	}
}

func setInt(p *int, v int) {
	if *p == 0 {
		*p = v
	}
}

func setF(p *float64, v float64) {
	if *p == 0 {
		*p = v
	}
}

func setDur(p *time.Duration, v time.Duration) {
	if *p == 0 {
		*p = v
	}
}

// Validate reports every problem of a defaulted configuration at once, one
// per line, each naming the key and what is allowed.
func (c *Config) Validate() error {
	var errs []string
	bad := func(key, format string, a ...any) {
		errs = append(errs, key+": "+fmt.Sprintf(format, a...))
	}
	switch c.Backend.Kind {
	case BackendEmbedded:
		if err := c.Model.Embedded.Config.Validate(); err != nil {
			bad("model.embedded", "%v", err)
		}
		if _, err := model.ParseEngine(string(c.Model.Embedded.Engine)); err != nil {
			bad("model.embedded.engine", "%v", err)
		}
		if len(c.Model.Endpoints) > 0 {
			bad("model.endpoints", "must be empty with backend.kind embedded (the embedded model serves its own rollouts)")
		}
	case BackendRemote:
		if c.Backend.URL == "" {
			bad("backend.url", "is required with backend.kind remote")
		}
		if c.hasGRPO() && len(c.Model.Endpoints) == 0 {
			bad("model.endpoints", "at least one endpoint is required for GRPO stages with backend.kind remote")
		}
		if c.hasGRPO() && c.Model.Name == "" {
			bad("model.name", "is required for GRPO stages with backend.kind remote (the served model id)")
		}
	default:
		bad("backend.kind", "is %q; want embedded or remote", c.Backend.Kind)
	}
	if c.Eval.Every < 0 {
		bad("eval.every", "is %d; want >= 0 (0: no evaluation during training)", c.Eval.Every)
	}
	if c.Eval.Every > 0 && c.Eval.Data == "" {
		bad("eval.data", "is required with eval.every > 0 (a uniform JSONL file or a benchmark directory)")
	}
	if c.Backend.Retries < 0 {
		bad("backend.retries", "is %d; want >= 0", c.Backend.Retries)
	}
	for i, e := range c.Model.Endpoints {
		if !strings.HasPrefix(e.URL, "http://") && !strings.HasPrefix(e.URL, "https://") {
			bad(fmt.Sprintf("model.endpoints[%d].url", i), "is %q; want an http:// or https:// URL", e.URL)
		}
		if e.Weight < 0 {
			bad(fmt.Sprintf("model.endpoints[%d].weight", i), "is %g; want > 0", e.Weight)
		}
	}
	if c.Rollout.Temperature < 0 || c.Rollout.TopP <= 0 || c.Rollout.TopP > 1 {
		bad("rollout", "temperature must be >= 0 and top_p in (0, 1]")
	}
	switch c.Rollout.Template {
	case "compact", "table_r1":
	default:
		bad("rollout.template", "is %q; want compact or table_r1", c.Rollout.Template)
	}
	if err := c.rolloutPool(nil, "").WithDefaults().ValidateLimits(); err != nil {
		bad("rollout", "%v", err)
	}
	if c.Backend.Timeout < 0 || c.Backend.SaveTimeout < 0 || c.Backend.HealthTimeout < 0 || c.Rollout.HealthTimeout < 0 || c.Sandbox.Wall < 0 {
		bad("timeouts", "backend.timeout, backend.save_timeout, backend.health_timeout, rollout.health_timeout and sandbox.wall must not be negative")
	}
	if c.Rollout.PreviewRows < 1 {
		bad("rollout.preview_rows", "is %d; want >= 1", c.Rollout.PreviewRows)
	}
	for i, s := range c.Data.Sources {
		if s.Path == "" {
			bad(fmt.Sprintf("data.sources[%d].path", i), "is empty")
		}
		if s.Weight < 0 {
			bad(fmt.Sprintf("data.sources[%d].weight", i), "is %g; want >= 0", s.Weight)
		}
	}
	sy := c.Data.Synthetic
	if sy.Questions < 0 || (sy.Questions > 0 && (sy.MinRows < 2 || sy.MaxRows < sy.MinRows)) {
		bad("data.synthetic", "questions must be >= 0 and 2 <= min_rows <= max_rows")
	}
	if len(sy.Columns) == 1 {
		bad("data.synthetic.columns", "needs at least two names (or none for the default pool)")
	}
	for _, t := range sy.Templates {
		if !isSynthTemplate(t) {
			bad("data.synthetic.templates", "unknown template %q; want one of %s", t, strings.Join(SynthTemplates, ", "))
		}
	}
	if len(c.Stages) == 0 {
		bad("stages", "at least one stage is required (kinds: %s)", strings.Join(StageKinds, ", "))
	}
	hasQuestions := len(c.Data.Sources) > 0 || sy.Questions > 0
	for i, st := range c.Stages {
		k := fmt.Sprintf("stages[%d]", i)
		switch st.Kind {
		case StageLTISFT, StageLTIGRPO:
			if c.Data.LTI.Path == "" && c.Data.LTI.Tasks <= 0 {
				bad(k, "kind %s needs data.lti.path or data.lti.tasks > 0", st.Kind)
			}
		case StageSFT, StageGRPO:
			if !hasQuestions {
				bad(k, "kind %s needs data.sources or data.synthetic.questions > 0", st.Kind)
			}
		default:
			bad(k+".kind", "is %q; want one of %s", st.Kind, strings.Join(StageKinds, ", "))
		}
		if st.Steps <= 0 {
			bad(k+".steps", "is %d; want > 0", st.Steps)
		}
		if st.BatchSize <= 0 || st.GroupSize <= 0 {
			bad(k, "batch_size and group_size must be > 0")
		}
		if (st.Kind == StageGRPO || st.Kind == StageLTIGRPO) && st.GroupSize < 2 {
			bad(k+".group_size", "is %d; GRPO needs >= 2 completions per question", st.GroupSize)
		}
		if st.Kind == StageGRPO || st.Kind == StageLTIGRPO {
			if err := st.GroupConfig.Validate(); err != nil {
				bad(k, "%v", err)
			}
		}
		if st.Optim.LR <= 0 || st.Optim.Beta1 < 0 || st.Optim.Beta1 >= 1 || st.Optim.Beta2 < 0 || st.Optim.Beta2 >= 1 {
			bad(k+".optim", "lr must be > 0 and beta1, beta2 in [0, 1)")
		}
		if err := st.Loss.Validate(); err != nil {
			bad(k+".loss", "%v", err)
		}
		if err := st.Advantage.Validate(); err != nil {
			bad(k+".advantage", "%v", err)
		}
		if st.Async.Enable {
			if st.Kind != StageGRPO && st.Kind != StageLTIGRPO {
				bad(k+".async.enable", "kind %s has no rollouts; async applies to grpo and lti_grpo stages", st.Kind)
			}
			if st.Async.Staleness < 0 || st.Async.MaxAhead < 0 {
				bad(k+".async", "staleness and max_ahead must be >= 0 (0: the default, 1 and staleness)")
			}
		}
		for _, src := range st.Sources {
			if src != "synthetic" && !c.hasSource(src) {
				bad(k+".sources", "%q is neither \"synthetic\" nor a data.sources path", src)
			}
		}
	}
	if err := c.Rewards.Validate(); err != nil {
		bad("rewards", "%v", err)
	}
	if c.Checkpoint.Every < 0 || c.Checkpoint.Keep < 1 {
		bad("checkpoint", "every must be >= 0 (0: only at the end) and keep >= 1")
	}
	switch c.Logging.Progress {
	case "auto", "bar", "plain", "none":
	default:
		bad("logging.progress", "is %q; want auto, bar, plain or none", c.Logging.Progress)
	}
	switch c.Logging.Level {
	case "debug", "info", "warn", "error":
	default:
		bad("logging.level", "is %q; want debug, info, warn or error", c.Logging.Level)
	}
	if len(errs) > 0 {
		return fmt.Errorf("invalid configuration:\n  %s", strings.Join(errs, "\n  "))
	}
	return nil
}

// rolloutPool is the rollout pool configuration of a run over endpoints
// serving model: Setup builds the pool from it, Validate checks its limits.
func (c *Config) rolloutPool(endpoints []rollout.EndpointConfig, model string) rollout.PoolConfig {
	r := c.Rollout
	return rollout.PoolConfig{Endpoints: endpoints, Model: model, MaxConcurrency: r.Concurrency,
		RequestTimeout: r.Timeout, StallTimeout: r.StallTimeout, MaxRetries: r.Retries, Seed: c.Seed}
}

func (c *Config) hasGRPO() bool {
	for _, st := range c.Stages {
		if st.Kind == StageGRPO || st.Kind == StageLTIGRPO {
			return true
		}
	}
	return false
}

func (c *Config) hasSource(p string) bool {
	for _, s := range c.Data.Sources {
		if s.Path == p {
			return true
		}
	}
	return false
}

// Hash identifies the resolved configuration: a resumed run refuses a
// checkpoint written under a different hash unless told otherwise.
func (c *Config) Hash() string {
	// YAML, not JSON: a nil and an empty list encode alike, so a
	// configuration and its dry-run printout hash the same.
	b, _ := yaml.Marshal(c.hashed())
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:8])
}

// hashed is the part of the configuration that determines what is trained:
// the run directory and console settings do not count.
func (c *Config) hashed() Config {
	h := *c
	h.RunDir = ""
	h.Logging = LoggingConfig{}
	return h
}

// StageAt returns the index of the stage a global step (1-based) belongs to
// and the step's index within that stage (1-based); ok is false past the
// last stage.
func (c *Config) StageAt(step int) (stage, local int, ok bool) {
	for i, st := range c.Stages {
		if step <= st.Steps {
			return i, step, true
		}
		step -= st.Steps
	}
	return 0, 0, false
}

// TotalSteps is the number of steps over all stages.
func (c *Config) TotalSteps() int {
	n := 0
	for _, st := range c.Stages {
		n += st.Steps
	}
	return n
}
