package trainer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"go.yaml.in/yaml/v3"

	"tabler1/backend"
	"tabler1/eval"
	"tabler1/sandbox/execution"
)

// Deps are the parts a Trainer drives. Backend and Format are always
// needed; Generator, Executor and Scorer only by the GRPO stages.
type Deps struct {
	Backend   backend.Backend
	Generator Generator
	Executor  execution.Executor
	Format    Format
	Scorer    Scorer
	// Sources maps a source name to its items: each data.sources path,
	// "synthetic" and "lti".
	Sources map[string][]Item
	// Log is the structured log (nil: none).
	Log *zap.Logger
	// Now is the clock (nil: time.Now).
	Now func() time.Time
	// Progress receives progress output (nil: none); Terminal selects a
	// progress bar over plain lines when logging.progress is auto.
	Progress io.Writer
	Terminal bool
	// Eval evaluates the served model during training (the config's eval
	// section; nil: never) and EvalModel is the served model it asks.
	Eval      *eval.Hook
	EvalModel eval.Completer
	// AfterStep, when set, runs after each completed step (its metrics and
	// any checkpoint written); an error stops the run with that error.
	AfterStep func(step int) error
}

// Trainer runs one configuration.
type Trainer struct {
	cfg    *Config
	d      Deps
	orders []*Order
	log    *zap.Logger
	now    func() time.Time

	state State
	rng   *rand.PCG
	// versions continues the publish version of a resumed checkpoint.
	versions publishedVersions
	// perturb re-runs programs that ran ok on a perturbed table
	// (rewards.computes_nothing.perturb).
	perturb bool
	// sandboxStreak counts the programs the sandbox failed on in a row
	// (not the programs' fault), and lastSandboxError says why.
	sandboxStreak    atomic.Int64
	lastSandboxError atomic.Value
}

// SourceSynthetic and SourceLTI name the generated sources in
// Deps.Sources and StageConfig.Sources.
const (
	SourceSynthetic = "synthetic"
	SourceLTI       = "lti"
)

// New checks that d can run cfg and builds each stage's data order.
func New(cfg *Config, d Deps) (*Trainer, error) {
	if d.Backend == nil || d.Format == nil {
		return nil, errors.New("trainer: a backend.Backend and a Format are required")
	}
	t := &Trainer{cfg: cfg, d: d, log: d.Log, now: d.Now, perturb: cfg.Rewards.ComputesNothing.Perturb}
	if t.log == nil {
		t.log = zap.NewNop()
	}
	if t.now == nil {
		t.now = time.Now
	}
	for i, st := range cfg.Stages {
		grpo := st.Kind == StageGRPO || st.Kind == StageLTIGRPO
		if grpo && (d.Generator == nil || d.Scorer == nil || d.Executor == nil) {
			return nil, fmt.Errorf("trainer: stage %d (%s) needs a Generator, an Executor and a Scorer", i+1, st.Kind)
		}
		names, weights := cfg.stageSources(st)
		var srcs [][]Item
		for _, n := range names {
			items := d.Sources[n]
			if !grpo {
				// SFT imitates gold programs: only items that have one.
				items = slices.DeleteFunc(slices.Clone(items), func(it Item) bool { _, c := sftPair(d.Format, it); return c == "" })
			} else {
				// GRPO samples questions over tables: a distilled record
				// (a prompt and a completion) is SFT data.
				items = slices.DeleteFunc(slices.Clone(items), func(it Item) bool { return it.Completion != "" && it.Table == nil })
			}
			srcs = append(srcs, items)
		}
		o, err := NewOrder(cfg.Seed+uint64(i)*1000003, srcs, weights)
		if err != nil {
			return nil, fmt.Errorf("trainer: stage %d (%s) over sources %v: %w", i+1, st.Kind, names, err)
		}
		t.orders = append(t.orders, o)
	}
	t.state = State{Cursors: make([]int, len(cfg.Stages)), ConfigHash: cfg.Hash()}
	t.rng = rand.NewPCG(cfg.Seed, 0x7ab1e5)
	return t, nil
}

// stageSources returns the source names a stage draws from and their
// weights.
func (c *Config) stageSources(st StageConfig) ([]string, []float64) {
	if st.Kind == StageLTISFT || st.Kind == StageLTIGRPO {
		return []string{SourceLTI}, []float64{1}
	}
	var names []string
	var weights []float64
	want := func(n string) bool { return len(st.Sources) == 0 || slices.Contains(st.Sources, n) }
	for _, s := range c.Data.Sources {
		if want(s.Path) {
			names = append(names, s.Path)
			weights = append(weights, s.Weight)
		}
	}
	if c.Data.Synthetic.Questions > 0 && want(SourceSynthetic) {
		names = append(names, SourceSynthetic)
		weights = append(weights, c.Data.Synthetic.Weight)
	}
	return names, weights
}

// State returns the controller state after the last completed step.
func (t *Trainer) State() State { return t.state }

// Run trains from the start, or with resume from the newest complete
// checkpoint of the run directory (from the start when there is none). It
// checkpoints every checkpoint.every steps, at the end, and when ctx is
// cancelled (SIGINT/SIGTERM), then returns ctx's error.
func (t *Trainer) Run(ctx context.Context, resume bool) error {
	dir := t.cfg.RunDir
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating run directory: %w", err)
	}
	resumeStep := -1
	if !resume {
		if steps, _ := listCheckpoints(dir); len(steps) > 0 {
			return fmt.Errorf("run directory %s already holds a run (checkpoint at step %d); continue it with --resume, or start a new run with another --run-dir", dir, steps[len(steps)-1])
		}
		if fi, err := os.Stat(filepath.Join(dir, "metrics.jsonl")); err == nil && fi.Size() > 0 {
			return fmt.Errorf("run directory %s already holds a run (metrics.jsonl); continue it with --resume, or start a new run with another --run-dir", dir)
		}
	}
	removed, err := cleanRunDir(dir)
	if err != nil {
		return err
	}
	for _, p := range removed {
		t.log.Warn("removed what an interrupted run left unfinished", zap.String("path", p))
	}
	if resume {
		ckpt, st, ok, err := t.resumeCheckpoint(ctx, dir)
		if err != nil {
			return err
		}
		if ok {
			t.state = st
			t.versions = publishedVersions{resumed: st.PublishVersion}
			resumeStep = st.Step
			t.log.Info("resumed", zap.String("checkpoint", ckpt), zap.Int("step", st.Step))
		} else {
			t.log.Info("resume asked but no checkpoint found; starting from step 1", zap.String("run_dir", dir))
			resumeStep = 0
		}
	}
	if err := t.writeConfig(); err != nil {
		return err
	}
	ml, err := openMetrics(dir, resumeStep, t.cfg.Logging.RolloutLog == nil || *t.cfg.Logging.RolloutLog,
		t.cfg.Logging.TensorBoard == nil || *t.cfg.Logging.TensorBoard, t.now(), t.log)
	if err != nil {
		return err
	}
	defer ml.Close()
	prog := newProgress(t.d.Progress, t.cfg.Logging.Progress, t.d.Terminal, t.cfg.TotalSteps(), t.state.Step)
	defer prog.finish()

	lastSaved := t.state.Step
	save := func(why string) error {
		if t.state.Step == lastSaved && t.state.Step > 0 {
			return nil
		}
		// A checkpoint on cancellation must still reach the backend.
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), t.cfg.Backend.SaveTimeout+time.Minute)
		defer cancel()
		st := t.state
		rb, err := t.rng.MarshalBinary()
		if err != nil {
			return err
		}
		st.RNG = rb
		d, err := SaveCheckpoint(sctx, t.d.Backend, dir, st, t.cfg.Checkpoint.Keep, t.now())
		if err != nil {
			return err
		}
		if err := writeCheckpointConfig(d, t.cfg); err != nil {
			return fmt.Errorf("checkpoint at step %d: keeping its configuration: %w", st.Step, err)
		}
		lastSaved = t.state.Step
		t.log.Info("checkpoint", zap.String("dir", d), zap.Int("step", st.Step), zap.String("why", why))
		return nil
	}

	total := t.cfg.TotalSteps()
	// The rollout pipeline of an asynchronous stage; stopped (its
	// goroutines waited for) before Run returns.
	var pipe *pipeline
	defer func() {
		if pipe != nil {
			pipe.stop()
		}
	}()
	gate := newVersionGate(t.state.Step)
	for step := t.state.Step + 1; step <= total; step++ {
		if ctx.Err() != nil {
			break
		}
		si, local, _ := t.cfg.StageAt(step)
		if pipe != nil && pipe.stage != si {
			pipe.stop()
			pipe = nil
		}
		if st := t.cfg.Stages[si]; pipe == nil && st.Async.Enable {
			gate.set(t.state.Step)
			last := step - local + st.Steps
			if pipe, err = t.startPipeline(ctx, si, step, last, gate); err != nil {
				return err
			}
		}
		// A failed step consumes nothing: its draws and random numbers are
		// rolled back so a checkpoint and a resume redo it exactly.
		cursor := t.state.Cursors[si]
		rngBefore, _ := t.rng.MarshalBinary()
		m, samples, err := t.runStep(ctx, step, si, local, pipe)
		if err != nil {
			t.state.Cursors[si] = cursor
			_ = t.rng.UnmarshalBinary(rngBefore)
			if ctx.Err() != nil {
				break
			}
			t.log.Error("step failed", zap.Int("step", step), zap.Error(err))
			if serr := save("error"); serr != nil {
				t.log.Error("checkpoint after failure failed", zap.Error(serr))
			}
			return fmt.Errorf("step %d (%s): %w", step, t.cfg.Stages[si].Kind, err)
		}
		t.state.Step, t.state.Stage, t.state.StageKind = step, si, t.cfg.Stages[si].Kind
		m.Version = t.versions.next(m.Version)
		t.state.PublishVersion = m.Version
		// The new weights are served: the pipeline may run further ahead.
		gate.set(step)
		if err := t.evaluate(ctx, step, &m); err != nil {
			return err
		}
		if err := ml.write(m, samples, t.now()); err != nil {
			return err
		}
		t.log.Info("step", zap.Int("step", step), zap.String("stage", m.Stage), zap.Float64("loss", m.Loss),
			zap.Float64("reward_mean", m.RewardMean), zap.Float64("step_seconds", m.StepSeconds))
		prog.step(m)
		if t.cfg.Checkpoint.Every > 0 && step%t.cfg.Checkpoint.Every == 0 {
			if err := save("every"); err != nil {
				return err
			}
		}
		if t.d.AfterStep != nil {
			if err := t.d.AfterStep(step); err != nil {
				return err
			}
		}
	}
	if err := ctx.Err(); err != nil {
		if serr := save("interrupted"); serr != nil {
			return fmt.Errorf("interrupted at step %d, and the checkpoint failed: %w", t.state.Step, serr)
		}
		return err
	}
	return save("end")
}

// resumeCheckpoint loads the newest complete checkpoint that loads into the
// backend. One whose state.json or weights cannot be read (a crash or a
// full disk while it was written) is set aside as step-N.corrupt with a
// warning, and the previous one is tried. A checkpoint of another
// configuration is compared with this one key by key (resumeConfigCheck):
// a change a resume may not take, or a backend that cannot be reached, is
// an error.
func (t *Trainer) resumeCheckpoint(ctx context.Context, dir string) (string, State, bool, error) {
	steps, err := listCheckpoints(dir)
	if err != nil {
		return "", State{}, false, err
	}
	for i := len(steps) - 1; i >= 0; i-- {
		ckpt := CheckpointDir(dir, steps[i])
		st, err := readState(ckpt)
		if err == nil {
			changes, cerr := resumeConfigCheck(ckpt, dir, t.cfg, st)
			if cerr != nil {
				return "", State{}, false, cerr
			}
			for _, c := range changes {
				t.log.Info("resume: configuration changed", zap.String("key", c.Key), zap.String("old", c.Old), zap.String("new", c.New))
				if t.d.Progress != nil {
					fmt.Fprintf(t.d.Progress, "resume: %s: %s -> %s\n", c.Key, orNone(c.Old), orNone(c.New))
				}
			}
			st.ConfigHash = t.state.ConfigHash // later checkpoints are written under this configuration
			if len(st.Cursors) != len(t.cfg.Stages) {
				return "", State{}, false, fmt.Errorf("resume: checkpoint %s has %d stage cursors, the configuration %d stages", ckpt, len(st.Cursors), len(t.cfg.Stages))
			}
			if err = t.d.Backend.Load(ctx, mustAbs(ckpt)); err != nil {
				if ctx.Err() != nil || !checkpointAtFault(t.d.Backend, err) {
					return "", State{}, false, fmt.Errorf("resume from %s: %w", ckpt, err)
				}
			} else if err = t.rng.UnmarshalBinary(st.RNG); err != nil {
				err = fmt.Errorf("rng state: %w", err)
			}
		}
		if err == nil {
			return ckpt, st, true, nil
		}
		aside, aerr := setAside(ckpt)
		if aerr != nil {
			return "", State{}, false, fmt.Errorf("resume: checkpoint %s is unusable (%v), and setting it aside failed: %w", ckpt, err, aerr)
		}
		t.log.Warn("checkpoint unusable; falling back to the previous one", zap.String("checkpoint", ckpt), zap.String("moved_to", aside), zap.Error(err))
		if t.d.Progress != nil {
			fmt.Fprintf(t.d.Progress, "warning: checkpoint %s is unusable (%v); moved to %s, resuming from the previous checkpoint\n", ckpt, err, aside)
		}
	}
	return "", State{}, false, nil
}

// checkpointAtFault reports whether a failed Load is the checkpoint's fault
// (unreadable or truncated files) rather than an unreachable backend, which
// must not make a resume fall back to an older checkpoint.
func checkpointAtFault(b backend.Backend, err error) bool {
	if _, remote := b.(*RemoteBackend); remote {
		var re *RemoteError
		return errors.As(err, &re)
	}
	return true
}

// publishedVersions keeps the published weights' version growing across a
// resume: a backend that restarts its count (the embedded server starts
// at 1) is offset to continue from the version the checkpoint recorded.
type publishedVersions struct {
	resumed int // the checkpoint's PublishVersion (0: a fresh run)
	offset  int
	started bool
}

// next maps the backend's version v to the run's.
func (p *publishedVersions) next(v int) int {
	if !p.started {
		p.started = true
		if v <= p.resumed {
			p.offset = p.resumed + 1 - v
		}
	}
	return v + p.offset
}

func mustAbs(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}

func (t *Trainer) writeConfig() error {
	b, err := yaml.Marshal(t.cfg)
	if err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(t.cfg.RunDir, "config.yaml"), b)
}

// draw takes the next n items of stage si's order.
func (t *Trainer) draw(si, n int) []Item {
	out := make([]Item, n)
	for i := range out {
		out[i] = t.orders[si].At(t.state.Cursors[si])
		t.state.Cursors[si]++
	}
	return out
}

// evaluate runs the eval hook when step is due and puts its results into
// m.Extra as eval/<bench>/<split>/<metric>; the report goes to the run's
// eval/step-N directory.
func (t *Trainer) evaluate(ctx context.Context, step int, m *StepMetrics) error {
	if t.d.Eval == nil || !t.d.Eval.Due(step) {
		return nil
	}
	rep, err := t.d.Eval.MaybeRun(ctx, step, t.d.EvalModel)
	if err != nil {
		return err
	}
	split := t.cfg.Eval.Split
	if split == "" {
		split = "default"
	}
	if m.Extra == nil {
		m.Extra = map[string]float64{}
	}
	for _, b := range rep.Benchmarks {
		for k, v := range b.Metrics {
			m.Extra["eval/"+b.Benchmark+"/"+split+"/"+k] = v
		}
	}
	t.log.Info("eval", zap.Int("step", step), zap.Any("metrics", m.Extra))
	return nil
}
