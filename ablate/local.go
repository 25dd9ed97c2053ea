package ablate

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"tabler1/eval"
	"tabler1/rollout"
	"tabler1/sandbox"
	"tabler1/sandbox/execution"
	"tabler1/trainer"
)

// ServeFunc serves an embedded-model checkpoint over the OpenAI API on a
// loopback port (as tabler1 eval --checkpoint does) and returns its base URL,
// the served model name and a function that stops it.
type ServeFunc func(ctx context.Context, checkpoint string) (url, model string, stop func(), err error)

// Local is the Runner of a study on this machine: it trains an arm-seed
// with package trainer, then evaluates the final checkpoint with package
// eval's runner on the held-out examples.
type Local struct {
	// Serve serves the final checkpoint for evaluation.
	Serve ServeFunc
	// HeldOut is the held-out evaluation; Examples and Benchmark its data
	// (see Study.HeldOutExamples and LoadBenchmarks).
	HeldOut   HeldOutConfig
	Examples  []eval.Example
	Benchmark []eval.Example
	// Getenv reads the secrets a configuration names (nil: none).
	Getenv func(string) string
	// Now is the clock (nil: time.Now).
	Now func() time.Time
}

// RunJob implements Runner.
func (l *Local) RunJob(ctx context.Context, j Job) (Result, error) {
	if l.Serve == nil {
		return Result{}, errors.New("ablate: Local needs a Serve function to evaluate checkpoints")
	}
	now := l.Now
	if now == nil {
		now = time.Now
	}
	start := now()
	cfg := *j.Resolved.Config
	cfg.Logging.Progress = "none"
	if err := train(ctx, &cfg, l.Getenv); err != nil {
		return Result{}, err
	}
	ckpt, _, ok, err := trainer.LatestCheckpoint(cfg.RunDir)
	if err != nil {
		return Result{}, err
	}
	if !ok {
		return Result{}, fmt.Errorf("training ended without a checkpoint in %s", cfg.RunDir)
	}
	metrics, err := l.evaluate(ctx, &cfg, ckpt, filepath.Join(j.Dir, "eval"))
	if err != nil {
		return Result{}, fmt.Errorf("evaluating %s: %w", ckpt, err)
	}
	hack, err := HackingIndicators(cfg.RunDir)
	if err != nil {
		return Result{}, err
	}
	for k, v := range hack {
		metrics[k] = v
	}
	return Result{Metrics: metrics, WallSeconds: now().Sub(start).Seconds()}, nil
}

// train runs cfg's stages from scratch, logging to RUN_DIR/log.jsonl.
func train(ctx context.Context, cfg *trainer.Config, getenv func(string) string) error {
	if err := os.MkdirAll(cfg.RunDir, 0o755); err != nil {
		return err
	}
	lvl, err := zapcore.ParseLevel(cfg.Logging.Level)
	if err != nil {
		return fmt.Errorf("logging.level: %w", err)
	}
	f, err := os.Create(filepath.Join(cfg.RunDir, "log.jsonl"))
	if err != nil {
		return err
	}
	defer f.Close()
	log := zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()), zapcore.AddSync(f), lvl))
	defer log.Sync()
	t, closeAll, err := trainer.Setup(ctx, cfg, trainer.Options{Getenv: getenv, Log: log})
	if err != nil {
		return err
	}
	err = t.Run(ctx, false)
	return errors.Join(err, closeAll())
}

// evaluate serves the checkpoint and runs eval's runner on the held-out
// examples (and the benchmark samples), writing each report under out.
// The held-out examples are scored as WikiTQ answers (denotation match);
// their metrics are returned as heldout/<metric>, the benchmarks' as
// <bench>/<metric> (eval.Report.Flat).
func (l *Local) evaluate(ctx context.Context, cfg *trainer.Config, ckpt, out string) (map[string]float64, error) {
	url, name, stop, err := l.Serve(ctx, ckpt)
	if err != nil {
		return nil, err
	}
	defer stop()
	pool, err := rollout.NewPool(rollout.PoolConfig{Endpoints: []rollout.EndpointConfig{{URL: url, Server: rollout.ServerEmbedded}},
		Model: name, MaxConcurrency: 8}, nil)
	if err != nil {
		return nil, err
	}
	defer pool.Close()
	h := l.HeldOut
	tmpl, err := rollout.LoadTemplates(rollout.TemplateConfig{Dir: h.Templates, TableFormat: h.TableFormat, PreviewRows: cfg.Rollout.PreviewRows})
	if err != nil {
		return nil, err
	}
	mode := eval.ModeMixed
	if h.Mode != "" {
		if mode, err = eval.ParseMode(h.Mode); err != nil {
			return nil, fmt.Errorf("heldout.mode: %w", err)
		}
	}
	ecfg := eval.Config{Mode: mode, MaxTokens: h.MaxTokens, Concurrency: h.Concurrency, Templates: tmpl}
	if ecfg.MaxTokens == 0 {
		ecfg.MaxTokens = cfg.Rollout.MaxTokens
	}
	if mode != eval.ModeText {
		sb, err := sandbox.NewPool(ctx, sandbox.PoolConfig{Workers: cfg.Sandbox.Workers, Python: cfg.Sandbox.Python,
			Limits: execution.Limits{Wall: cfg.Sandbox.Wall, MemoryBytes: int64(cfg.Sandbox.MemoryMB) << 20}})
		if err != nil {
			return nil, fmt.Errorf("starting the sandbox: %w", err)
		}
		defer sb.Close()
		ecfg.Executor = sb
	}
	metrics := map[string]float64{}
	for _, part := range []struct {
		name string
		exs  []eval.Example
	}{{"heldout", l.Examples}, {"benchmarks", l.Benchmark}} {
		if len(part.exs) == 0 {
			continue
		}
		r, err := eval.NewRunner(pool, ecfg)
		if err != nil {
			return nil, err
		}
		rep, err := r.Run(ctx, part.exs)
		if err != nil {
			return nil, err
		}
		rep.Meta = map[string]any{"checkpoint": ckpt, "part": part.name, "mode": string(mode)}
		if err := rep.WriteFiles(filepath.Join(out, part.name)); err != nil {
			return nil, err
		}
		for k, v := range rep.Flat() {
			if part.name == "heldout" {
				_, k, _ = strings.Cut(k, "/")
				k = "heldout/" + k
			}
			metrics[k] = v
		}
	}
	// A paradigm no held-out answer used has a share of 0, not none: a
	// mean over seeds must count the seeds where it is absent.
	if len(l.Examples) > 0 {
		for _, p := range []string{"program", "text", "invalid"} {
			if _, ok := metrics["heldout/"+p+"_share"]; !ok {
				metrics["heldout/"+p+"_share"] = 0
			}
		}
	}
	return metrics, nil
}
