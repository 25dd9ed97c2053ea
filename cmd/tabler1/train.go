package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"golang.org/x/term"

	"tabler1/trainer"
)

// cmdTrain runs a training configuration (package trainer).
func cmdTrain(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "train", "--config FILE [--run-dir DIR] [--resume] [--dry-run]",
		"Run the stages of a training configuration: rollouts, sandbox, rewards, backend updates,\ncheckpoints (every checkpoint.every steps and on SIGINT/SIGTERM) and logs in the run directory.")
	config := fs.String("config", "", "run configuration (YAML)")
	runDir := fs.String("run-dir", "", "run directory (default: the configuration's run_dir, else runs/<name>)")
	resume := fs.Bool("resume", false, "continue from the newest complete checkpoint of the run directory")
	dryRun := fs.Bool("dry-run", false, "validate as a run does, print the resolved configuration and the plan, check data paths, probe the backend and endpoints, and exit")
	offline := fs.Bool("offline", false, "with --dry-run: skip the network probes (backend health, endpoints' GET /v1/models)")
	if err := parseFlags(e, fs, args, false); err != nil {
		return err
	}
	if err := requireFlags(fs, "config"); err != nil {
		return err
	}
	cfg, err := trainer.LoadConfig(*config)
	if err != nil {
		return err
	}
	if *runDir != "" {
		cfg.RunDir = *runDir
	}
	if *dryRun {
		if err := cfg.DryRun(e.stdout, e.getenv); err != nil {
			return err
		}
		fmt.Fprintln(e.stdout, "# checks:")
		if err := trainer.Preflight(ctx, cfg, e.getenv, *offline, func(line string) { fmt.Fprintln(e.stdout, "#"+line) }); err != nil {
			return fmt.Errorf("dry run: the run would fail:\n%w", err)
		}
		return nil
	}
	if *offline {
		return usageError{"--offline applies to --dry-run only"}
	}
	if err := os.MkdirAll(cfg.RunDir, 0o755); err != nil {
		return fmt.Errorf("creating run directory: %w", err)
	}
	log, closeLog, err := runLogger(filepath.Join(cfg.RunDir, "log.jsonl"), cfg.Logging.Level)
	if err != nil {
		return err
	}
	defer closeLog()
	terminal := false
	if f, ok := e.stderr.(*os.File); ok {
		terminal = term.IsTerminal(int(f.Fd()))
	}
	fmt.Fprintf(e.stderr, "tabler1 train: %s → %s\n", *config, cfg.RunDir)
	t, closeAll, err := trainer.Setup(ctx, cfg, trainer.Options{Getenv: e.getenv, Log: log, Progress: e.stderr, Terminal: terminal})
	if err != nil {
		return err
	}
	defer closeAll()
	err = t.Run(ctx, *resume)
	if errors.Is(err, context.Canceled) {
		fmt.Fprintf(e.stderr, "tabler1 train: interrupted after step %d; checkpoint %s written; continue with:\n  tabler1 train --config %s --run-dir %s --resume\n",
			t.State().Step, trainer.CheckpointDir(cfg.RunDir, t.State().Step), *config, cfg.RunDir)
		return err
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "tabler1 train: done, %d steps; metrics in %s\n", t.State().Step, filepath.Join(cfg.RunDir, "metrics.jsonl"))
	return nil
}

// runLogger writes JSON lines to path at the given level.
func runLogger(path, level string) (*zap.Logger, func(), error) {
	lvl, err := zapcore.ParseLevel(level)
	if err != nil {
		return nil, nil, fmt.Errorf("logging.level: %w", err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, nil, fmt.Errorf("opening the run log: %w", err)
	}
	enc := zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig())
	log := zap.New(zapcore.NewCore(enc, zapcore.AddSync(f), lvl))
	return log, func() { log.Sync(); f.Close() }, nil
}
