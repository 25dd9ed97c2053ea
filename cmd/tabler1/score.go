package main

import (
	"context"
	"fmt"
	"sort"

	"tabler1/eval"
)

// cmdScore scores a predictions file against a benchmark with the official
// metric, without any model.
func cmdScore(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "score", "--bench NAME --data FILE|DIR --predictions FILE [--split S] [--json]",
		"Score a predictions JSONL ({\"id\", \"prediction\"} per line; prediction a string or a list of strings,\n"+
			"plus \"scale\" for TAT-QA) with the benchmark's official metric. Official formats are read too:\n"+
			"*.tsv (WTQ: id<TAB>item<TAB>item), *.json ({uid: [answer, scale]} for TAT-QA, {id: label} for TabFact). --data is a uniform JSONL file,\n"+
			"a directory of <bench>.<split>.jsonl files, or a directory of the benchmark's native files.\n"+
			benchmarksUsage())
	bench := fs.String("bench", "", "benchmark name")
	data := fs.String("data", "", "benchmark data: uniform JSONL file or directory")
	split := fs.String("split", "", "split, for a directory of native files (default: the benchmark's test split)")
	predsPath := fs.String("predictions", "", "predictions JSONL")
	asJSON := fs.Bool("json", false, "print one JSON object: accuracy, the benchmark's other metrics, n")
	if err := parseFlags(e, fs, args, false); err != nil {
		return err
	}
	if err := requireFlags(fs, "bench", "data", "predictions"); err != nil {
		return err
	}
	if names, err := parseBenchmarks(*bench); err != nil {
		return err
	} else if len(names) != 1 {
		return usageError{fmt.Sprintf("--bench %q: give one benchmark", *bench)}
	}
	exs, err := eval.LoadData(*bench, *data, *split)
	if err != nil {
		return err
	}
	preds, err := eval.LoadPredictionsFile(*predsPath)
	if err != nil {
		return err
	}
	res, err := eval.ScorePredictions(*bench, exs, preds)
	if err != nil {
		return err
	}
	for _, w := range res.Warnings {
		fmt.Fprintf(e.stderr, "tabler1 score: warning: %s\n", w)
	}
	if *asJSON {
		out := map[string]any{"benchmark": *bench}
		for k, v := range res.Metrics {
			out[k] = v
		}
		out["n"], out["unknown"], out["missing"] = res.N, res.Unknown, res.Missing
		return printJSON(e.stdout, out)
	}
	fmt.Fprintf(e.stdout, "%s: accuracy %.4f (n=%d, unknown=%d, missing=%d)\n", *bench, res.Metrics["accuracy"], res.N, res.Unknown, res.Missing)
	keys := make([]string, 0, len(res.Metrics))
	for k := range res.Metrics {
		if k != "accuracy" && k != "n" && k != "unknown" && k != "missing" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(e.stdout, "  %-28s %.4f\n", k, res.Metrics[k])
	}
	return nil
}
