package main

import (
	"context"
	"fmt"

	"tabler1/rollout"
)

// benchRollout measures the rollout client against the fake OpenAI server,
// next to a bare net/http client in the same process.
func benchRollout(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "bench rollout", "[--json]",
		"Completions per second of the rollout pool against an in-process fake OpenAI server\n"+
			"(token data on), next to a bare net/http client doing the same requests: the ratio is\n"+
			"pool / bare. CPU figures are of the whole process, which also runs the server.")
	asJSON := fs.Bool("json", false, "print the result as one JSON line (last line of output)")
	inFlight := fs.Int("in-flight", 256, "requests in flight")
	dur := fs.Duration("duration", 0, "length of each measured phase (default 1s; four phases per client, interleaved)")
	n := fs.Int("n", 1, "completions per request")
	tokens := fs.Int("tokens", 32, "tokens per completion")
	seed := fs.Uint64("seed", 1, "seed of the fake server")
	if err := parseFlags(e, fs, args, false); err != nil {
		return err
	}
	if *inFlight < 1 || *n < 1 || *tokens < 1 {
		return usageError{"--in-flight, --n and --tokens must be at least 1"}
	}
	res, err := rollout.Bench(ctx, rollout.BenchConfig{InFlight: *inFlight, Duration: *dur, N: *n, Tokens: *tokens, Seed: *seed})
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(e.stdout, res)
	}
	fmt.Fprintf(e.stdout, "rollout pool:   %9.0f completions/s  %7.1f µs CPU/request (process)\n", res.CompletionsPerS, res.CPUPerRequestUS)
	fmt.Fprintf(e.stdout, "bare net/http:  %9.0f completions/s  %7.1f µs CPU/request (process)\n", res.BareCompletionsPerS, res.BareCPUPerRequestUS)
	fmt.Fprintf(e.stdout, "ratio %.3f (target >= 0.7), client overhead %.1f µs CPU/request, %d in flight, n=%d, %d tokens\n",
		res.Ratio, res.ClientOverheadUS, res.InFlight, res.N, res.Tokens)
	return nil
}
