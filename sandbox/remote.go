package sandbox

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strings"
	"time"

	"go.uber.org/zap"

	"tabler1/layouts"
	"tabler1/sandbox/execution"
)

//go:embed remote_prelude.py
var remotePrelude string

// statusMarker starts the prelude's last stderr line.
const statusMarker = "__TABLER1_STATUS__ "

// RemoteConfig configures a client of a SandboxFusion service.
type RemoteConfig struct {
	// URL is the service's base URL (http://host:8080); requests go to
	// URL + "/run_code".
	URL string
	// Client is the HTTP client (default: a new http.Client; each request
	// gets its own deadline).
	Client *http.Client
	// Limits apply to a job for each of its zero fields (default
	// DefaultLimits()).
	Limits execution.Limits
	// MaxConcurrent bounds requests in flight (default 32; SandboxFusion's
	// maintainers advise scaling out rather than up).
	MaxConcurrent int
	// Retries is how many times a request is retried after a 5xx answer, a
	// SandboxError, a transport error or a timeout (default 3).
	Retries int
	// Backoff is the first wait between tries, doubled each time (default
	// 200 ms).
	Backoff time.Duration
	// Overhead is added to the job's wall-clock limit for each request's
	// deadline: queueing, the interpreter start, the pandas import (default
	// 10 s, as verl's client).
	Overhead time.Duration
	Logger   *zap.Logger
}

// Remote is an Executor that runs jobs on a SandboxFusion service. It is
// safe for concurrent use.
type Remote struct {
	cfg RemoteConfig
	sem chan struct{}
}

// NewRemote returns a client of the service at cfg.URL.
func NewRemote(cfg RemoteConfig) *Remote {
	cfg.URL = strings.TrimRight(cfg.URL, "/")
	if cfg.Client == nil {
		cfg.Client = &http.Client{}
	}
	cfg.Limits = cfg.Limits.OrDefault(DefaultLimits())
	if cfg.MaxConcurrent <= 0 {
		cfg.MaxConcurrent = 32
	}
	if cfg.Retries < 0 {
		cfg.Retries = 0
	} else if cfg.Retries == 0 {
		cfg.Retries = 3
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = 200 * time.Millisecond
	}
	if cfg.Overhead <= 0 {
		cfg.Overhead = 10 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	return &Remote{cfg: cfg, sem: make(chan struct{}, cfg.MaxConcurrent)}
}

// runCodeRequest is SandboxFusion's /run_code request.
type runCodeRequest struct {
	Code           string            `json:"code"`
	Language       string            `json:"language"`
	CompileTimeout float64           `json:"compile_timeout"`
	RunTimeout     float64           `json:"run_timeout"`
	MemoryLimitMB  int64             `json:"memory_limit_MB"`
	Files          map[string]string `json:"files"`
}

// runCodeResponse is SandboxFusion's /run_code answer.
type runCodeResponse struct {
	Status        string         `json:"status"` // Success, Failed, SandboxError
	Message       string         `json:"message"`
	CompileResult *commandResult `json:"compile_result"`
	RunResult     *commandResult `json:"run_result"`
}

type commandResult struct {
	Status        string  `json:"status"` // Finished, Error, TimeLimitExceeded
	ExecutionTime float64 `json:"execution_time"`
	ReturnCode    *int    `json:"return_code"`
	Stdout        string  `json:"stdout"`
	Stderr        string  `json:"stderr"`
}

// remoteJob is the file tabler1_job.json the prelude reads.
type remoteJob struct {
	Code        string                    `json:"code"`
	Table       *layouts.Table            `json:"table,omitempty"`
	Extra       map[string]*layouts.Table `json:"extra,omitempty"`
	ReturnTable bool                      `json:"return_table,omitempty"`
	CompileOnly bool                      `json:"compile_only,omitempty"`
}

// Run sends job to the service, retrying transient failures.
func (r *Remote) Run(ctx context.Context, job execution.Job) execution.Result {
	return r.run(ctx, job, false)
}

// CheckSyntax compiles code on the service without running it.
func (r *Remote) CheckSyntax(ctx context.Context, code string) execution.Result {
	return r.run(ctx, execution.Job{Code: code, Limits: execution.Limits{Wall: 5 * time.Second}}, true)
}

func (r *Remote) run(ctx context.Context, job execution.Job, compileOnly bool) execution.Result {
	start := time.Now()
	if err := validateJob(job); err != nil {
		return execution.Result{Status: execution.StatusSandboxError, Detail: err.Error()}
	}
	lim := job.Limits.OrDefault(r.cfg.Limits)
	body, err := r.encode(job, lim, compileOnly)
	if err != nil {
		return sandboxError("encoding the job: %v", err)
	}
	select {
	case r.sem <- struct{}{}:
		defer func() { <-r.sem }()
	case <-ctx.Done():
		return execution.Result{Status: execution.StatusKilled, Wall: time.Since(start), Detail: fmt.Sprintf("cancelled while waiting for a request slot: %v", ctx.Err())}
	}
	backoff := r.cfg.Backoff
	var lastErr error
	for try := 0; try <= r.cfg.Retries; try++ {
		if try > 0 {
			select {
			case <-time.After(backoff):
			case <-ctx.Done():
				return execution.Result{Status: execution.StatusKilled, Wall: time.Since(start), Detail: fmt.Sprintf("cancelled between retries (last error: %v): %v", lastErr, ctx.Err())}
			}
			backoff *= 2
		}
		resp, retry, err := r.post(ctx, body, lim.Wall+r.cfg.Overhead)
		if err == nil {
			return resp.result(lim)
		}
		lastErr = err
		if ctx.Err() != nil {
			return execution.Result{Status: execution.StatusKilled, Wall: time.Since(start), Detail: fmt.Sprintf("cancelled: %v", ctx.Err())}
		}
		if !retry {
			break
		}
		r.cfg.Logger.Warn("sandbox service request failed; retrying", zap.Int("try", try+1), zap.Error(err))
	}
	return execution.Result{Status: execution.StatusSandboxError, Wall: time.Since(start),
		Detail: fmt.Sprintf("sandbox service %s: %v", r.cfg.URL, lastErr)}
}

func (r *Remote) encode(job execution.Job, lim execution.Limits, compileOnly bool) ([]byte, error) {
	rj, err := json.Marshal(remoteJob{Code: job.Code, Table: job.Table, Extra: job.Extra, ReturnTable: job.ReturnTable, CompileOnly: compileOnly})
	if err != nil {
		return nil, err
	}
	return json.Marshal(runCodeRequest{
		Code:           layouts.PandasBridge + "\n\n" + remotePrelude,
		Language:       "python",
		CompileTimeout: 10,
		RunTimeout:     math.Ceil(lim.Wall.Seconds()*1000) / 1000,
		MemoryLimitMB:  max(1, lim.MemoryBytes>>20),
		Files:          map[string]string{"tabler1_job.json": base64.StdEncoding.EncodeToString(rj)},
	})
}

// post makes one request. retry says whether a failure is worth another try.
func (r *Remote) post(ctx context.Context, body []byte, timeout time.Duration) (*runCodeResponse, bool, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.cfg.URL+"/run_code", bytes.NewReader(body))
	if err != nil {
		return nil, false, fmt.Errorf("building the request (check RemoteConfig.URL): %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := r.cfg.Client.Do(req)
	if err != nil {
		return nil, true, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxFrame))
	if err != nil {
		return nil, true, fmt.Errorf("reading the answer: %w", err)
	}
	if resp.StatusCode >= 500 {
		return nil, true, fmt.Errorf("HTTP %s: %.200s", resp.Status, data)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, false, fmt.Errorf("HTTP %s: %.200s", resp.Status, data)
	}
	var out runCodeResponse
	if err := json.Unmarshal(data, &out); err != nil {
		return nil, false, fmt.Errorf("decoding the answer: %w", err)
	}
	if out.Status == "SandboxError" {
		return nil, true, fmt.Errorf("the service reported SandboxError: %s", out.Message)
	}
	if out.RunResult == nil {
		if out.CompileResult != nil && out.CompileResult.Status != "Finished" {
			return nil, false, fmt.Errorf("compile step %s: %.200s", out.CompileResult.Status, out.CompileResult.Stderr)
		}
		return nil, false, errors.New("the answer has no run_result")
	}
	return &out, false, nil
}

// result turns the service's answer into a Result, reading the prelude's
// status line.
func (resp *runCodeResponse) result(lim execution.Limits) execution.Result {
	rr := resp.RunResult
	res := execution.Result{Stdout: rr.Stdout, Wall: time.Duration(rr.ExecutionTime * float64(time.Second))}
	stderr := rr.Stderr
	var rec *statusRecord
	if i := strings.LastIndex(stderr, statusMarker); i >= 0 {
		line := stderr[i+len(statusMarker):]
		if j := strings.IndexByte(line, '\n'); j >= 0 {
			line = line[:j]
		}
		var sr statusRecord
		if json.Unmarshal([]byte(line), &sr) == nil {
			rec = &sr
		}
		stderr = strings.TrimSuffix(stderr[:i], "\n")
	}
	res.Stderr = stderr
	over := len(res.Stdout) > lim.OutputBytes || len(res.Stderr) > lim.OutputBytes
	res = capOutput(res, lim.OutputBytes)
	switch {
	case rr.Status == "TimeLimitExceeded":
		res.Status, res.Detail = execution.StatusTimeout, fmt.Sprintf("the service stopped the job at its %v limit", lim.Wall)
	case over:
		res.Status, res.Detail = execution.StatusOutputExceeded, fmt.Sprintf("output passed the cap of %d bytes", lim.OutputBytes)
	case rec != nil:
		rec.apply(&res)
	case rr.ReturnCode != nil && *rr.ReturnCode < 0, rr.ReturnCode != nil && *rr.ReturnCode > 128:
		res.Status, res.Detail = execution.StatusKilled, fmt.Sprintf("the process ended with code %d", *rr.ReturnCode)
	case strings.Contains(res.Stderr, "MemoryError"):
		res.Status, res.Detail = execution.StatusMemoryExceeded, "MemoryError before the prelude could report"
	default:
		res.Status, res.Detail = execution.StatusRuntimeError, fmt.Sprintf("the job ended without a status line (run status %s)", rr.Status)
	}
	return res
}

// statusRecord is what the prelude (and the worker's child) reports.
type statusRecord struct {
	Kind   string         `json:"kind"`
	Type   string         `json:"type"`
	Line   int            `json:"line"`
	Detail string         `json:"detail"`
	Memory bool           `json:"memory"`
	Code   int            `json:"code"`
	Table  *layouts.Table `json:"table"`
}

func (s *statusRecord) apply(r *execution.Result) {
	switch s.Kind {
	case "ok":
		r.Status, r.Table = execution.StatusOK, s.Table
	case "syntax":
		r.Status, r.ExceptionType, r.ErrorLine, r.Detail = execution.StatusSyntaxError, s.Type, s.Line, s.Detail
	case "exception":
		r.Status, r.ExceptionType, r.ErrorLine, r.Detail = execution.StatusRuntimeError, s.Type, s.Line, s.Detail
		if s.Memory {
			r.Status = execution.StatusMemoryExceeded
		}
	case "exit":
		r.Status, r.ExceptionType, r.Detail = execution.StatusRuntimeError, "SystemExit", fmt.Sprintf("the program exited with status %d", s.Code)
	default:
		r.Status, r.Detail = execution.StatusSandboxError, fmt.Sprintf("unknown status record %q", s.Kind)
	}
}
