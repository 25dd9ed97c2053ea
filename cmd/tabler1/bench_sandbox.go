package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"tabler1/sandbox"
)

func benchSandbox(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "bench sandbox", "[--json] [--soak N]",
		"Throughput and latency of the local sandbox pool on a small pandas program (filter and\n"+
			"aggregate on a 50x8 table) against a fresh python3 with pandas per program, run in the same\n"+
			"process. With --json the last line is one JSON object.")
	asJSON := fs.Bool("json", false, "print the report as one JSON object on the last line")
	workers := fs.Int("workers", 0, "pool workers (default: the number of cores)")
	jobs := fs.Int("jobs", 600, "jobs of the saturated throughput phase")
	half := fs.Int("half-load-jobs", 300, "jobs sent at half the measured throughput, for latency")
	base := fs.Int("baseline", 12, "fresh python3 runs of the baseline")
	baseConc := fs.Int("baseline-concurrency", 0, "baseline processes at once (default: as many as pool workers)")
	soak := fs.Int("soak", 0, "also run a soak of N jobs, some hostile: no lost job, no leftover process, flat memory")
	hostile := fs.Float64("hostile", 0.05, "fraction of hostile jobs in the soak")
	seed := fs.Uint64("seed", 1, "seed of the table and the soak's choices")
	if err := parseFlags(e, fs, args, false); err != nil {
		return err
	}
	cfg := sandbox.BenchConfig{
		Pool: sandbox.PoolConfig{Workers: *workers, Python: sandbox.DefaultPython(e.getenv)},
		Jobs: *jobs, HalfLoadJobs: *half, Baseline: *base, BaselineConcurrency: *baseConc, Soak: *soak, Hostile: *hostile, Seed: *seed,
		Progress: func(phase string) { fmt.Fprintf(e.stderr, "bench sandbox: %s\n", phase) },
	}
	// The soak kills a pool's process: this binary's exec command (not
	// under go test, where the executable is the test binary).
	if self, err := os.Executable(); err == nil && !strings.HasSuffix(self, ".test") {
		python := cfg.Pool.Python
		cfg.PoolProcess = func(ctx context.Context, table, code string) *exec.Cmd {
			cmd := exec.CommandContext(ctx, self, "exec", "--table", table, "--code", code, "--timeout", "60s")
			cmd.Env = append(os.Environ(), "TABLER1_PYTHON="+python)
			return cmd
		}
	}
	rep, err := sandbox.Bench(ctx, cfg)
	if err != nil {
		return err
	}
	if *asJSON {
		data, err := json.Marshal(rep)
		if err != nil {
			return err
		}
		fmt.Fprintln(e.stdout, string(data))
	} else {
		fmt.Fprintf(e.stdout, "workers             %d (isolation %v)\n", rep.Workers, rep.Isolation)
		fmt.Fprintf(e.stdout, "pool                %.1f jobs/s over %d jobs (saturated p50 %.1f ms, p99 %.1f ms)\n", rep.JobsPerS, rep.Jobs, rep.SaturatedP50MS, rep.SaturatedP99MS)
		fmt.Fprintf(e.stdout, "baseline            %.2f jobs/s (fresh python3 + pandas per program, %d runs, %d at once)\n", rep.BaselineJobsPerS, rep.BaselineJobs, rep.BaselineConc)
		fmt.Fprintf(e.stdout, "speedup             %.1fx\n", rep.Speedup)
		fmt.Fprintf(e.stdout, "fork floor          %.1f jobs/s (fork, program, exit with no confinement or supervision); the pool reaches %.0f%% of it\n", rep.FloorJobsPerS, 100*rep.OfFloor)
		fmt.Fprintf(e.stdout, "half load           %.1f jobs/s: p50 %.1f ms, p99 %.1f ms\n", rep.HalfLoadJobsPerS, rep.P50MS, rep.P99MS)
		fmt.Fprintf(e.stdout, "pool memory         PSS %.1f MiB, RSS %.1f MiB (%d workers)\n", float64(rep.PoolMemory.PSSBytes)/(1<<20), float64(rep.PoolMemory.RSSBytes)/(1<<20), rep.PoolMemory.Workers)
		if s := rep.Soak; s != nil {
			fmt.Fprintf(e.stdout, "soak                %d jobs (%d hostile) at %.1f jobs/s: lost %d, clean jobs failed %d, workers replaced %d, leftover processes %d, PSS %.1f -> %.1f MiB, statuses %v\n",
				s.Jobs, s.Hostile, s.JobsPerS, s.Lost, s.WrongAnswers, s.WorkersReplaced, s.Leftover, float64(s.PSSStartBytes)/(1<<20), float64(s.PSSEndBytes)/(1<<20), s.Statuses)
			fmt.Fprintf(e.stdout, "soak leftovers      %d processes after the pool closed", s.LeftoverAfterClose)
			if s.KillChecked {
				fmt.Fprintf(e.stdout, ", %d after a kill -9 of a pool's process", s.LeftoverAfterKill)
			}
			fmt.Fprintln(e.stdout)
		}
	}
	if s := rep.Soak; s != nil && (s.Lost > 0 || s.WrongAnswers > 0 || s.Leftover > 0 || s.LeftoverAfterClose > 0 || s.LeftoverAfterKill > 0) {
		return fmt.Errorf("soak failed: %d lost jobs, %d clean jobs failed, leftover processes: %d during the soak, %d after closing the pool, %d after a kill -9 of a pool's process",
			s.Lost, s.WrongAnswers, s.Leftover, s.LeftoverAfterClose, s.LeftoverAfterKill)
	}
	return nil
}
