package trainer

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"tabler1/episode"
	"tabler1/grpo"
	"tabler1/tensorboard"
)

// StepMetrics is one line of metrics.jsonl: one JSON object per step whose
// metrics have `/`-grouped names in verl's style (actor/..., critic/...,
// response_length/...; docs/configuration.md maps each to verl's and TRL's
// name). step, stage, stage_step, version and items describe the step and
// are not metrics.
type StepMetrics struct {
	Step      int    `json:"step"`
	Stage     string `json:"stage"`
	StageStep int    `json:"stage_step"`
	// Loss is the step's loss: the policy loss in GRPO stages, the
	// cross-entropy in SFT stages.
	Loss float64 `json:"actor/loss"`
	// RewardMean is the mean reward of the step's completions (GRPO
	// stages), RewardStd its spread and Rewards the mean of each component
	// (written as critic/rewards/<component>/mean).
	RewardMean float64            `json:"critic/score/mean"`
	RewardStd  float64            `json:"critic/score/std"`
	Rewards    map[string]float64 `json:"-"`
	Accuracy   float64            `json:"critic/accuracy"`
	// Paradigm rates: share of completions that are programs, texts or
	// invalid; share of programs that ran OK; share of completions that
	// fell back to text.
	ProgramShare float64 `json:"paradigm/program_share"`
	TextShare    float64 `json:"paradigm/text_share"`
	InvalidShare float64 `json:"paradigm/invalid_share"`
	ExecSuccess  float64 `json:"paradigm/exec_success"`
	FallbackRate float64 `json:"paradigm/fallback_rate"`
	KL           float64 `json:"actor/kl_loss"`
	ClipFraction float64 `json:"actor/pg_clipfrac"`
	// Entropy is the backend's estimate of the policy's entropy over the
	// trained tokens (mean negative log-probability of the sampled tokens).
	Entropy       float64 `json:"actor/entropy"`
	GradNorm      float64 `json:"actor/grad_norm"`
	LR            float64 `json:"actor/lr"`
	PromptLen     float64 `json:"prompt_length/mean"`
	CompletionLen float64 `json:"response_length/mean"`
	// Truncated is the share of completions cut at the token limit.
	Truncated float64 `json:"response_length/clip_ratio"`
	// Groups kept for training and groups dropped by dynamic sampling.
	Groups         int `json:"batch/groups"`
	FilteredGroups int `json:"batch/filtered_groups"`
	// SandboxErrors counts samples dropped because the sandbox (not the
	// program) failed, SandboxErrorGroups groups dropped because fewer
	// than two samples were left; MaskedSamples counts samples kept in
	// their group's baseline but left out of the loss.
	SandboxErrors int `json:"sandbox/errors"`
	// SandboxRuns counts the programs (perturbed reruns included) the
	// sandbox ran, SandboxReused those answered with the result of an
	// identical program (sandbox.dedup).
	SandboxRuns        int `json:"sandbox/runs"`
	SandboxReused      int `json:"sandbox/reused"`
	SandboxErrorGroups int `json:"sandbox/error_groups,omitempty"`
	MaskedSamples      int `json:"batch/masked_samples"`
	// Asynchronous stages: groups dropped for being more than
	// async.staleness steps off-policy, and the staleness (steps) of the
	// groups the step received, dropped ones included.
	StaleDropped  int     `json:"async/stale_dropped"`
	StalenessMean float64 `json:"async/staleness_mean"`
	StalenessMax  int     `json:"async/staleness_max"`
	// ParadigmPolicy is the GRPO stage's paradigm_policy; AskedAccuracy the
	// accuracy of the step's samples by the paradigm their prompt asked for
	// (program, text, or mixed: the free policy's prompt), written as
	// paradigm/asked_accuracy/<paradigm>; PolicyFallbackGroups counts the
	// program_first groups whose programs were all wrong and that drew text
	// samples.
	ParadigmPolicy       string             `json:"paradigm/policy,omitempty"`
	AskedAccuracy        map[string]float64 `json:"-"`
	PolicyFallbackGroups int                `json:"paradigm/policy_fallback_groups,omitempty"`
	// Fallback is grpo.Summarize's text-fallback accounting of the trained
	// groups (text rate and accuracy, rescued and missed groups), written
	// as fallback/<field>.
	Fallback *grpo.FallbackStats `json:"-"`
	Samples  int                 `json:"batch/samples"`
	Tokens   int                 `json:"perf/total_num_tokens"`
	// Throughput: wall seconds of the step and of its phases, samples and
	// tokens per second.
	StepSeconds    float64 `json:"timing_s/step"`
	RolloutSeconds float64 `json:"timing_s/gen"`
	TrainSeconds   float64 `json:"timing_s/update_actor"`
	SamplesPerSec  float64 `json:"perf/samples_per_sec"`
	TokensPerSec   float64 `json:"perf/tokens_per_sec"`
	Version        int     `json:"version"`
	// Extra holds metrics that other parts of the run name in full (the
	// evaluation hook's eval/<bench>/<split>/<metric>), written as they are.
	Extra map[string]float64 `json:"-"`
	// Items are the ids of the questions the step drew, in draw order.
	Items []string `json:"items"`
}

// Metric-name prefixes of the StepMetrics fields written flat.
const (
	rewardsPrefix  = "critic/rewards/"
	rewardsSuffix  = "/mean"
	fallbackPrefix = "fallback/"
	askedPrefix    = "paradigm/asked_accuracy/"
)

// stepMetricsFields is StepMetrics without its methods, for the default
// encoding of its tagged fields.
type stepMetricsFields StepMetrics

// MarshalJSON writes one flat object: the tagged fields, then the reward
// components, the fallback accounting and Extra under their full names.
func (m StepMetrics) MarshalJSON() ([]byte, error) {
	b, err := json.Marshal(stepMetricsFields(m))
	if err != nil {
		return nil, err
	}
	flat := map[string]float64{}
	for k, v := range m.Rewards {
		flat[rewardsPrefix+k+rewardsSuffix] = v
	}
	for k, v := range m.AskedAccuracy {
		flat[askedPrefix+k] = v
	}
	if m.Fallback != nil {
		fb, _ := json.Marshal(m.Fallback)
		var fm map[string]float64
		if err := json.Unmarshal(fb, &fm); err != nil {
			return nil, err
		}
		for k, v := range fm {
			flat[fallbackPrefix+k] = v
		}
	}
	known := metricFieldNames()
	for k, v := range m.Extra {
		if known[k] {
			return nil, fmt.Errorf("metrics: extra metric %q has the name of a field", k)
		}
		flat[k] = v
	}
	if len(flat) == 0 {
		return b, nil
	}
	keys := make([]string, 0, len(flat))
	for k := range flat {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var buf bytes.Buffer
	buf.Write(b[:len(b)-1])
	for _, k := range keys {
		kb, _ := json.Marshal(k)
		vb, err := json.Marshal(flat[k])
		if err != nil {
			return nil, fmt.Errorf("metrics: %s: %w", k, err)
		}
		buf.WriteByte(',')
		buf.Write(kb)
		buf.WriteByte(':')
		buf.Write(vb)
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// UnmarshalJSON reads what MarshalJSON writes: numeric keys that are not
// fields go to Rewards, Fallback or Extra by their prefix.
func (m *StepMetrics) UnmarshalJSON(b []byte) error {
	var f stepMetricsFields
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(b, &all); err != nil {
		return err
	}
	known := metricFieldNames()
	fallback := map[string]json.RawMessage{}
	for k, raw := range all {
		if known[k] {
			continue
		}
		if k, ok := strings.CutPrefix(k, fallbackPrefix); ok {
			fallback[k] = raw
			continue
		}
		var v float64
		if err := json.Unmarshal(raw, &v); err != nil {
			return fmt.Errorf("metric %q is not a number (a line written before the /-grouped metric names of docs/configuration.md?): %w", k, err)
		}
		if p, ok := strings.CutPrefix(k, askedPrefix); ok {
			if f.AskedAccuracy == nil {
				f.AskedAccuracy = map[string]float64{}
			}
			f.AskedAccuracy[p] = v
			continue
		}
		if c, ok := strings.CutPrefix(k, rewardsPrefix); ok && strings.HasSuffix(c, rewardsSuffix) {
			if f.Rewards == nil {
				f.Rewards = map[string]float64{}
			}
			f.Rewards[strings.TrimSuffix(c, rewardsSuffix)] = v
			continue
		}
		if f.Extra == nil {
			f.Extra = map[string]float64{}
		}
		f.Extra[k] = v
	}
	if len(fallback) > 0 {
		fb, _ := json.Marshal(fallback)
		f.Fallback = &grpo.FallbackStats{}
		if err := json.Unmarshal(fb, f.Fallback); err != nil {
			return fmt.Errorf("metrics fallback/: %w", err)
		}
	}
	*m = StepMetrics(f)
	return nil
}

// metricFieldNames are the JSON names of StepMetrics' tagged fields.
func metricFieldNames() map[string]bool {
	t := reflect.TypeFor[StepMetrics]()
	out := make(map[string]bool, t.NumField())
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" {
			out[name] = true
		}
	}
	return out
}

// Scalars returns the step's metrics by name, as metrics.jsonl writes them:
// the numeric values with a `/`-grouped name (step, stage_step and version
// describe the step).
func (m StepMetrics) Scalars() (map[string]float64, error) {
	b, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	var all map[string]any
	if err := json.Unmarshal(b, &all); err != nil {
		return nil, err
	}
	out := make(map[string]float64, len(all))
	for k, v := range all {
		if f, ok := v.(float64); ok && strings.Contains(k, "/") {
			out[k] = f
		}
	}
	return out, nil
}

// ReadMetrics reads a metrics.jsonl file.
func ReadMetrics(path string) ([]StepMetrics, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading metrics: %w", err)
	}
	defer f.Close()
	return decodeMetrics(f, path)
}

func decodeMetrics(r io.Reader, name string) ([]StepMetrics, error) {
	var out []StepMetrics
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	line := 0
	for sc.Scan() {
		line++
		if len(sc.Bytes()) == 0 {
			continue
		}
		var m StepMetrics
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, line, err)
		}
		out = append(out, m)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return out, nil
}

// metricsLog appends to metrics.jsonl, writes per-step rollout logs and,
// with tb, the same scalars as TensorBoard events under RUN_DIR/tb.
type metricsLog struct {
	dir      string
	f        *os.File
	rollouts bool
	tb       *tensorboard.Writer
}

// TensorBoardDir is where a run's TensorBoard event files go, under the
// run directory.
const TensorBoardDir = "tb"

// openMetrics opens the run's metrics.jsonl for appending. On resume from
// step, lines past step (written before a crash, to be redone) are dropped
// first, and so are their rollout logs; a torn last line (a crash or a full
// disk during its write) is dropped with a warning. With tb a new
// TensorBoard event file is started, stamped now (TensorBoard drops the
// older files' events past a resumed step when it reads the new file's
// earlier steps).
func openMetrics(runDir string, resumeStep int, rollouts, tb bool, now time.Time, log *zap.Logger) (*metricsLog, error) {
	path := filepath.Join(runDir, "metrics.jsonl")
	if resumeStep >= 0 {
		if err := truncateMetrics(path, resumeStep, log); err != nil {
			return nil, err
		}
		ents, _ := os.ReadDir(filepath.Join(runDir, "rollouts"))
		for _, e := range ents {
			var n int
			if _, err := fmt.Sscanf(e.Name(), "step-%d.jsonl", &n); err == nil && n > resumeStep {
				os.Remove(filepath.Join(runDir, "rollouts", e.Name()))
			}
		}
	}
	if rollouts {
		if err := os.MkdirAll(filepath.Join(runDir, "rollouts"), 0o755); err != nil {
			return nil, err
		}
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, fmt.Errorf("opening metrics: %w", err)
	}
	l := &metricsLog{dir: runDir, f: f, rollouts: rollouts}
	if tb {
		host, _ := os.Hostname()
		if host == "" {
			host = "localhost"
		}
		if l.tb, err = tensorboard.Create(filepath.Join(runDir, TensorBoardDir), now, host); err != nil {
			f.Close()
			return nil, err
		}
	}
	return l, nil
}

// truncateMetrics keeps the lines of steps up to step, byte for byte, and
// rewrites the file atomically. Only the last line may be torn: it is
// dropped and logged; an unreadable line before it is an error.
func truncateMetrics(path string, step int, log *zap.Logger) error {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading metrics: %w", err)
	}
	lines := bytes.Split(b, []byte("\n"))
	last := len(lines) - 1
	for last >= 0 && len(bytes.TrimSpace(lines[last])) == 0 {
		last--
	}
	var keep []byte
	for i, line := range lines[:last+1] {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var m struct {
			Step int `json:"step"`
		}
		if err := json.Unmarshal(line, &m); err != nil {
			if i < last {
				return fmt.Errorf("%s:%d: %w; only a torn last line is dropped on resume: repair or remove this line", path, i+1, err)
			}
			log.Warn("metrics.jsonl ends with a torn line (an interrupted write); dropping it",
				zap.String("path", path), zap.Int("line", i+1), zap.Int("bytes", len(line)), zap.Error(err))
			continue
		}
		if m.Step <= step {
			keep = append(append(keep, line...), '\n')
		}
	}
	if bytes.Equal(keep, b) {
		return nil
	}
	return writeFileAtomic(path, keep)
}

func (l *metricsLog) write(m StepMetrics, samples []episode.Episode, now time.Time) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	if _, err := l.f.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("writing metrics: %w", err)
	}
	if l.tb != nil {
		sc, err := m.Scalars()
		if err != nil {
			return err
		}
		if err := l.tb.Scalars(now, int64(m.Step), sc); err != nil {
			return err
		}
		if err := l.tb.Flush(); err != nil {
			return err
		}
	}
	if !l.rollouts || len(samples) == 0 {
		return nil
	}
	// Written aside and renamed: a crash never leaves a torn rollout log.
	path := filepath.Join(l.dir, "rollouts", "step-"+strconv.Itoa(m.Step)+".jsonl")
	tmp := path + tmpSuffix
	f, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("writing rollout log: %w", err)
	}
	w := bufio.NewWriter(f)
	enc := json.NewEncoder(w)
	for i := range samples {
		if err := enc.Encode(&samples[i]); err != nil {
			f.Close()
			os.Remove(tmp)
			return fmt.Errorf("writing rollout log: %w", err)
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("writing rollout log: %w", err)
	}
	if err := commitTemp(f, tmp, path); err != nil {
		return fmt.Errorf("writing rollout log: %w", err)
	}
	return nil
}

func (l *metricsLog) Close() error {
	err := l.f.Close()
	if l.tb != nil {
		if terr := l.tb.Close(); err == nil {
			err = terr
		}
	}
	return err
}
