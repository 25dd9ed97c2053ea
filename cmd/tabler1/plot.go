package main

import (
	"context"
	"fmt"

	"tabler1/trainer"
)

// cmdPlot draws a run directory's curves (package trainer).
func cmdPlot(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "plot", "RUN_DIR", "Draw PNG curves of RUN_DIR/metrics.jsonl into RUN_DIR/plots: loss, reward and its\ncomponents, paradigm shares and execution success, KL and clip fraction, lengths, throughput.")
	if err := parseFlags(e, fs, args, true); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return usageError{"give exactly one RUN_DIR"}
	}
	files, err := trainer.Plot(fs.Arg(0))
	if err != nil {
		return err
	}
	for _, f := range files {
		fmt.Fprintln(e.stdout, f)
	}
	return nil
}
