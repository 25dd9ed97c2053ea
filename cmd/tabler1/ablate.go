package main

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"tabler1/ablate"
)

// cmdAblate runs an ablation study (package ablate).
func cmdAblate(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "ablate", "--config STUDY.yaml [--out DIR] [--parallel N]",
		"Run an ablation study: a base training configuration under named arms (key overrides,\n"+
			"dropped stages) times several seeds; each arm-seed is trained in OUT/<arm>/seed-<seed>/run\n"+
			"and its final checkpoint evaluated on a held-out split no arm trains on. Writes\n"+
			"OUT/table.{md,json} (per arm: held-out metrics as mean, sd and 95% bootstrap interval over\n"+
			"seeds, reward-hacking indicators, wall time) and OUT/plots/*.png. A rerun skips the\n"+
			"arm-seeds already finished and restarts the unfinished ones.")
	config := fs.String("config", "", "study file (YAML; see docs/ablation.md)")
	out := fs.String("out", "", "output directory (default runs/ablate/<study name>)")
	parallel := fs.Int("parallel", 0, "arm-seeds run at once (default: the study's parallel, else half the CPUs)")
	if err := parseFlags(e, fs, args, false); err != nil {
		return err
	}
	if err := requireFlags(fs, "config"); err != nil {
		return err
	}
	if *parallel < 0 {
		return usageError{fmt.Sprintf("--parallel is %d; want >= 0", *parallel)}
	}
	study, err := ablate.LoadStudy(*config)
	if err != nil {
		return err
	}
	if *out == "" {
		*out = filepath.Join("runs", "ablate", study.Name)
	}
	exs, dropped, err := study.HeldOutExamples()
	if err != nil {
		return err
	}
	bench, err := study.HeldOut.LoadBenchmarks()
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "tabler1 ablate: %s: %d arms x %d seeds → %s; held-out: %d synthetic questions (%d dropped as seen in training), %d benchmark samples\n",
		study.Name, len(study.Arms), len(study.Seeds), *out, len(exs), dropped, len(bench))
	local := &ablate.Local{
		Serve: func(ctx context.Context, dir string) (string, string, func(), error) {
			url, name, _, stop, err := serveCheckpoint(ctx, dir, "")
			return url, name, stop, err
		},
		HeldOut: study.HeldOut, Examples: exs, Benchmark: bench, Getenv: e.getenv,
	}
	start := time.Now()
	results, err := ablate.Run(ctx, study, local, ablate.Options{Out: *out, Parallel: *parallel, Log: e.stderr})
	if err != nil {
		return err
	}
	table := ablate.Aggregate(study, results, len(exs)+len(bench))
	if err := table.WriteFiles(*out); err != nil {
		return err
	}
	runDir := func(arm string, seed uint64) string {
		return filepath.Join(*out, arm, fmt.Sprintf("seed-%d", seed), "run")
	}
	plots, err := ablate.Plot(study, table, runDir, filepath.Join(*out, "plots"))
	if err != nil {
		return err
	}
	fmt.Fprint(e.stdout, table.Markdown())
	fmt.Fprintf(e.stdout, "\ntable: %s; %d plots in %s; wall time %s\n", filepath.Join(*out, "table.md"), len(plots),
		filepath.Join(*out, "plots"), time.Since(start).Round(time.Second))
	return nil
}
