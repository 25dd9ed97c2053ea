package main

import (
	"context"
	"fmt"
)

func cmdBench(ctx context.Context, e *env, args []string) error {
	subs := map[string]func(context.Context, *env, []string) error{
		"sandbox": benchSandbox,
		"rollout": benchRollout,
		"model":   benchModel,
	}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprintln(e.stdout, "Usage: tabler1 bench sandbox|rollout|model [--json]\n\nEach benchmark runs its baseline in the same process and prints the ratio.")
		if len(args) == 0 {
			return usageError{"name a benchmark: sandbox, rollout or model"}
		}
		return errHelp
	}
	f, ok := subs[args[0]]
	if !ok {
		return usageError{fmt.Sprintf("unknown benchmark %q: want sandbox, rollout or model", args[0])}
	}
	return f(ctx, e, args[1:])
}
