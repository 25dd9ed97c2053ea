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
	"strconv"

	"go.uber.org/zap"

	"tabler1/grpo"
)

// StepMetrics is one line of metrics.jsonl.
type StepMetrics struct {
	Step      int     `json:"step"`
	Stage     string  `json:"stage"`
	StageStep int     `json:"stage_step"`
	Loss      float64 `json:"loss"`
	// RewardMean is the mean reward of the step's completions (GRPO
	// stages), RewardStd its spread and Rewards the mean of each component.
	RewardMean float64            `json:"reward_mean"`
	RewardStd  float64            `json:"reward_std"`
	Rewards    map[string]float64 `json:"rewards,omitempty"`
	Accuracy   float64            `json:"accuracy"`
	// Paradigm rates: share of completions that are programs, texts or
	// invalid; share of programs that ran OK; share of completions that
	// fell back to text.
	ProgramShare  float64 `json:"program_share"`
	TextShare     float64 `json:"text_share"`
	InvalidShare  float64 `json:"invalid_share"`
	ExecSuccess   float64 `json:"exec_success"`
	FallbackRate  float64 `json:"fallback_rate"`
	KL            float64 `json:"kl"`
	ClipFraction  float64 `json:"clip_fraction"`
	GradNorm      float64 `json:"grad_norm"`
	LR            float64 `json:"lr"`
	PromptLen     float64 `json:"prompt_len"`
	CompletionLen float64 `json:"completion_len"`
	Truncated     float64 `json:"truncated"`
	// Groups kept for training and groups dropped by dynamic sampling.
	Groups         int `json:"groups"`
	FilteredGroups int `json:"filtered_groups"`
	// SandboxErrors counts samples dropped because the sandbox (not the
	// program) failed, SandboxErrorGroups groups dropped because fewer
	// than two samples were left; MaskedSamples counts samples kept in
	// their group's baseline but left out of the loss.
	SandboxErrors int `json:"sandbox_errors"`
	// SandboxRuns counts the programs (perturbed reruns included) the
	// sandbox ran, SandboxReused those answered with the result of an
	// identical program (sandbox.dedup).
	SandboxRuns        int `json:"sandbox_runs"`
	SandboxReused      int `json:"sandbox_reused"`
	SandboxErrorGroups int `json:"sandbox_error_groups,omitempty"`
	MaskedSamples      int `json:"masked_samples"`
	// Asynchronous stages: groups dropped for being more than
	// async.staleness steps off-policy, and the staleness (steps) of the
	// groups the step received, dropped ones included.
	StaleDropped  int     `json:"stale_dropped"`
	StalenessMean float64 `json:"staleness_mean"`
	StalenessMax  int     `json:"staleness_max"`
	// Fallback is grpo.Summarize's text-fallback accounting of the trained
	// groups (text rate and accuracy, rescued and missed groups).
	Fallback *grpo.FallbackStats `json:"fallback,omitempty"`
	Samples  int                 `json:"samples"`
	Tokens   int                 `json:"tokens"`
	// Throughput: wall seconds of the step and of its phases, samples and
	// tokens per second.
	StepSeconds    float64 `json:"step_seconds"`
	RolloutSeconds float64 `json:"rollout_seconds"`
	TrainSeconds   float64 `json:"train_seconds"`
	SamplesPerSec  float64 `json:"samples_per_sec"`
	TokensPerSec   float64 `json:"tokens_per_sec"`
	Version        int     `json:"version"`
	// Items are the ids of the questions the step drew, in draw order.
	Items []string `json:"items"`
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

// metricsLog appends to metrics.jsonl and writes per-step rollout logs.
type metricsLog struct {
	dir      string
	f        *os.File
	rollouts bool
}

// openMetrics opens the run's metrics.jsonl for appending. On resume from
// step, lines past step (written before a crash, to be redone) are dropped
// first, and so are their rollout logs; a torn last line (a crash or a full
// disk during its write) is dropped with a warning.
func openMetrics(runDir string, resumeStep int, rollouts bool, log *zap.Logger) (*metricsLog, error) {
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
	return &metricsLog{dir: runDir, f: f, rollouts: rollouts}, nil
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

func (l *metricsLog) write(m StepMetrics, samples []Sample) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	if _, err := l.f.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("writing metrics: %w", err)
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

func (l *metricsLog) Close() error { return l.f.Close() }
