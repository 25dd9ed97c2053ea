// Package execution is the contract of running an untrusted program on a
// table: the Executor interface, the Job it runs, its Limits and the Result
// it always returns. The sandbox package implements it (a local pool of
// pre-forked workers, a SandboxFusion client); a package that only runs
// programs or reads their outcome depends on this one, which starts no
// process and does no I/O.
package execution

import (
	"context"
	"strings"
	"time"

	"tabler1/layouts"
)

// Executor runs one job and always returns a result: a failure of the
// sandbox itself is reported as StatusSandboxError, never as silence. Run
// returns when the job ends, its wall-clock limit passes, or ctx is done.
type Executor interface {
	Run(ctx context.Context, job Job) Result
}

// Job is one program to run. The program sees Table as the pandas DataFrame
// `df` (and the original strings as `raw`), and each of Extra under its name
// in the dict `tables`.
type Job struct {
	Code   string
	Table  *layouts.Table
	Extra  map[string]*layouts.Table
	Limits Limits
	// ReturnTable asks for the final value of `df` as Result.Table (the LTI
	// task: the program leaves its transformed table in df).
	ReturnTable bool
}

// Limits bound one job. A zero field takes the executor's default.
type Limits struct {
	Wall        time.Duration // wall clock, enforced from Go by killing the process group
	CPU         time.Duration // CPU seconds (RLIMIT_CPU)
	MemoryBytes int64         // address space (RLIMIT_AS) and cgroup memory.max where available
	OutputBytes int           // cap on each of stdout and stderr
	FileBytes   int64         // largest file the program may write (RLIMIT_FSIZE)
	OpenFiles   int           // RLIMIT_NOFILE
}

// Status is how a job ended.
type Status string

// The statuses a Result can carry.
const (
	StatusOK             Status = "ok"
	StatusSyntaxError    Status = "syntax_error"
	StatusRuntimeError   Status = "runtime_error"
	StatusTimeout        Status = "timeout"
	StatusMemoryExceeded Status = "memory_exceeded"
	StatusOutputExceeded Status = "output_exceeded"
	StatusKilled         Status = "killed"
	StatusSandboxError   Status = "sandbox_error"
)

// Result is what came of a job.
type Result struct {
	Status Status `json:"status"`
	Stdout string `json:"stdout"`
	Stderr string `json:"stderr"`
	// ExceptionType and ErrorLine describe a syntax or runtime error: the
	// exception's class name and the line of the program it was raised on
	// (0 when unknown).
	ExceptionType string `json:"exception_type,omitempty"`
	ErrorLine     int    `json:"error_line,omitempty"`
	// Detail says what went wrong for the statuses other than ok, in words.
	Detail          string         `json:"detail,omitempty"`
	Wall            time.Duration  `json:"wall_ns"`
	CPU             time.Duration  `json:"cpu_ns"`
	PeakMemoryBytes int64          `json:"peak_memory_bytes"`
	Table           *layouts.Table `json:"table,omitempty"`
	// Reused says the result is that of an identical job run earlier (see
	// Dedup): no process ran for this one.
	Reused bool `json:"reused,omitempty"`
}

// Answer is the program's answer by the execution contract: the last
// non-empty line of its standard output, trimmed.
func (r Result) Answer() string {
	lines := strings.Split(r.Stdout, "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if s := strings.TrimSpace(lines[i]); s != "" {
			return s
		}
	}
	return ""
}

// OrDefault returns l with each zero or negative field taken from d, and a
// zero CPU limit taken as the wall-clock limit (a job cannot use more CPU
// than wall time with one thread, so that is no limit at all).
func (l Limits) OrDefault(d Limits) Limits {
	if l.Wall <= 0 {
		l.Wall = d.Wall
	}
	if l.CPU <= 0 {
		l.CPU = d.CPU
		if l.CPU <= 0 || l.CPU > l.Wall {
			l.CPU = l.Wall
		}
	}
	if l.MemoryBytes <= 0 {
		l.MemoryBytes = d.MemoryBytes
	}
	if l.OutputBytes <= 0 {
		l.OutputBytes = d.OutputBytes
	}
	if l.FileBytes <= 0 {
		l.FileBytes = d.FileBytes
	}
	if l.OpenFiles <= 0 {
		l.OpenFiles = d.OpenFiles
	}
	return l
}
