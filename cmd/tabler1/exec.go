package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"tabler1/layouts"
	"tabler1/sandbox"
	"tabler1/sandbox/execution"
)

// execOutput is the --json form of a sandbox result.
type execOutput struct {
	Status          execution.Status `json:"status"`
	Answer          string           `json:"answer"`
	Stdout          string           `json:"stdout"`
	Stderr          string           `json:"stderr"`
	ExceptionType   string           `json:"exception_type,omitempty"`
	ErrorLine       int              `json:"error_line,omitempty"`
	Detail          string           `json:"detail,omitempty"`
	WallMS          float64          `json:"wall_ms"`
	CPUMS           float64          `json:"cpu_ms"`
	PeakMemoryBytes int64            `json:"peak_memory_bytes"`
	Table           *layouts.Table   `json:"table,omitempty"`
}

func cmdExec(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "exec", "--table FILE --code FILE [--json]",
		"Run one Python program on a table in the sandbox. The program sees the table as the pandas\n"+
			"DataFrame df (raw holds the original strings); its answer is the last non-empty line it prints.\n"+
			"The table file is read by extension (.csv .tsv .html.csv .md .html .json .jsonl).")
	tablePath := fs.String("table", "", "table file")
	codePath := fs.String("code", "", "Python program file")
	asJSON := fs.Bool("json", false, "print one JSON object: status, stdout, stderr, wall_ms, ...")
	wall := fs.Duration("timeout", 10*time.Second, "wall-clock limit")
	memMB := fs.Int64("memory-mb", 1024, "memory limit in MiB")
	returnTable := fs.Bool("return-table", false, "return the final df as a table (in --json)")
	remote := fs.String("remote", "", "run on a SandboxFusion service at this base URL instead of a local worker")
	if err := parseFlags(e, fs, args, false); err != nil {
		return err
	}
	if err := requireFlags(fs, "table", "code"); err != nil {
		return err
	}
	code, err := os.ReadFile(*codePath)
	if err != nil {
		return fmt.Errorf("reading the program: %w", err)
	}
	table, err := layouts.ReadFile(*tablePath)
	if err != nil {
		return fmt.Errorf("reading the table: %w", err)
	}
	job := execution.Job{Code: string(code), Table: table, ReturnTable: *returnTable,
		Limits: execution.Limits{Wall: *wall, MemoryBytes: *memMB << 20}}
	var res execution.Result
	if *remote != "" {
		res = sandbox.NewRemote(sandbox.RemoteConfig{URL: *remote}).Run(ctx, job)
	} else {
		pool, err := sandbox.NewPool(ctx, sandbox.PoolConfig{Workers: 1, Python: sandbox.DefaultPython(e.getenv)})
		if err != nil {
			return err
		}
		res = pool.Run(ctx, job)
		if err := pool.Close(); err != nil {
			fmt.Fprintf(e.stderr, "tabler1 exec: closing the sandbox: %v\n", err)
		}
	}
	if *asJSON {
		out := execOutput{
			Status: res.Status, Answer: res.Answer(), Stdout: res.Stdout, Stderr: res.Stderr,
			ExceptionType: res.ExceptionType, ErrorLine: res.ErrorLine, Detail: res.Detail,
			WallMS:          float64(res.Wall.Microseconds()) / 1000,
			CPUMS:           float64(res.CPU.Microseconds()) / 1000,
			PeakMemoryBytes: res.PeakMemoryBytes, Table: res.Table,
		}
		enc := json.NewEncoder(e.stdout)
		enc.SetEscapeHTML(false)
		return enc.Encode(out)
	}
	fmt.Fprint(e.stdout, res.Stdout)
	fmt.Fprint(e.stderr, res.Stderr)
	if res.Status != execution.StatusOK {
		msg := string(res.Status)
		if res.ExceptionType != "" {
			msg += fmt.Sprintf(" (%s at line %d)", res.ExceptionType, res.ErrorLine)
		}
		if res.Detail != "" {
			msg += ": " + res.Detail
		}
		return fmt.Errorf("the program ended with status %s", msg)
	}
	return nil
}
