package eval

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	"go.uber.org/zap"

	"tabler1/episode"
	"tabler1/rollout"
	"tabler1/sandbox/execution"
)

// Completer is what the runner needs of a served model; *rollout.Pool is
// one (an OpenAI-compatible endpoint, or the embedded model served
// in-process).
type Completer interface {
	Complete(ctx context.Context, req rollout.CompletionRequest) ([]episode.Completion, error)
}

// ChatCompleter is a Completer that also speaks /v1/chat/completions (as
// *rollout.Pool does), for instruct models whose server applies the chat
// template.
type ChatCompleter interface {
	Completer
	Chat(ctx context.Context, req rollout.ChatRequest) ([]episode.Completion, error)
}

// Prompter renders the prompt of a question that asks for paradigm p (""
// lets the model choose); *rollout.Templates is one.
type Prompter interface {
	Prompt(q rollout.Question, p episode.Paradigm) (string, rollout.Kind, error)
}

// Mode is the answering paradigm the prompt asks for.
type Mode string

// The modes.
const (
	ModeProgram Mode = "program" // a Python program run on the full table
	ModeText    Mode = "text"    // a text answer
	ModeMixed   Mode = "mixed"   // the model chooses
)

// ParseMode reads a mode name.
func ParseMode(s string) (Mode, error) {
	switch m := Mode(s); m {
	case ModeProgram, ModeText, ModeMixed:
		return m, nil
	}
	return "", fmt.Errorf("unknown mode %q: want program, text or mixed", s)
}

// Failure kinds of a sample, besides the sandbox statuses (syntax_error,
// runtime_error, timeout, ...).
const (
	FailInvalidFormat = "invalid_format" // neither a program nor a final answer
	FailNoOutput      = "no_output"      // the program ran but printed nothing
	FailRequest       = "request_error"  // the server did not answer (retried on a rerun)
	// FailRejected is a request the server refused for good (an HTTP 4xx
	// other than 408 and 429, e.g. a prompt longer than the model's
	// context): cached, since asking again gets the same answer.
	FailRejected = "request_rejected"
)

// Config configures a Runner. Zero fields take the defaults noted.
type Config struct {
	Mode Mode // default mixed
	// K is the number of samples per example (default 1). With K > 1 the
	// report gives pass@k and avg@k.
	K int
	// Temperature 0 is greedy decoding (the default).
	Temperature float64
	TopP        float64
	MaxTokens   int // default 1024
	Seed        *int
	// Chat sends each prompt as one user message to the chat endpoint
	// instead of a raw completion (the model must be a ChatCompleter).
	Chat bool
	// Concurrency bounds the examples in flight (default 8).
	Concurrency int
	// Templates renders prompts (default rollout.DefaultTemplates()); a
	// checkpoint is evaluated with the prompts it was trained on.
	Templates Prompter
	// Executor runs programs; required for the program and mixed modes.
	Executor execution.Executor
	// Limits bound each program (zero: the executor's defaults).
	Limits execution.Limits
	// Cache, when set, keeps completed samples so that a rerun skips them.
	Cache *Cache
	// Progress receives progress (nil: none); ProgressBar draws a bar
	// (for a terminal) instead of plain lines.
	Progress    io.Writer
	ProgressBar bool
	Logger      *zap.Logger // default zap.NewNop()
}

// Sample is one completion for one example, parsed, executed and scored.
type Sample struct {
	Bench      string `json:"bench"`
	ID         string `json:"id"`
	Index      int    `json:"index"`
	Paradigm   string `json:"paradigm"`
	Completion string `json:"completion"`
	Finish     string `json:"finish_reason,omitempty"`
	Program    string `json:"program,omitempty"`
	// Exec is the program's run (program paradigm).
	Exec *ExecInfo `json:"exec,omitempty"`
	// Failure is "" or why no answer came out: invalid_format, no_output,
	// request_error, or the sandbox status.
	Failure    string     `json:"failure,omitempty"`
	Prediction Prediction `json:"prediction"`
	Outcome    Outcome    `json:"outcome"`
	LatencyMS  int64      `json:"latency_ms,omitempty"`
}

// ExecInfo is what the report keeps of a program's run.
type ExecInfo struct {
	Status        string `json:"status"`
	Stdout        string `json:"stdout,omitempty"`
	Stderr        string `json:"stderr,omitempty"`
	ExceptionType string `json:"exception_type,omitempty"`
	ErrorLine     int    `json:"error_line,omitempty"`
	Detail        string `json:"detail,omitempty"`
	WallMS        int64  `json:"wall_ms"`
}

// Runner evaluates a model on benchmark examples.
type Runner struct {
	cfg   Config
	model Completer
}

// NewRunner checks cfg and returns a runner over model.
func NewRunner(model Completer, cfg Config) (*Runner, error) {
	if model == nil {
		return nil, errors.New("eval: no model to query: give a Completer (a rollout.Pool)")
	}
	if cfg.Mode == "" {
		cfg.Mode = ModeMixed
	}
	if _, err := ParseMode(string(cfg.Mode)); err != nil {
		return nil, err
	}
	if cfg.Mode != ModeText && cfg.Executor == nil {
		return nil, fmt.Errorf("eval: mode %s runs programs: give an Executor (a sandbox.Pool)", cfg.Mode)
	}
	if _, ok := model.(ChatCompleter); cfg.Chat && !ok {
		return nil, errors.New("eval: chat requests asked for, but the model client has no Chat method")
	}
	if cfg.K <= 0 {
		cfg.K = 1
	}
	if cfg.K > 1 && cfg.Temperature == 0 {
		return nil, fmt.Errorf("eval: %d samples per example with greedy decoding would repeat one answer: set a temperature > 0 for pass@k", cfg.K)
	}
	if cfg.MaxTokens <= 0 {
		cfg.MaxTokens = 1024
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 8
	}
	if cfg.Templates == nil {
		cfg.Templates = rollout.DefaultTemplates()
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	return &Runner{cfg: cfg, model: model}, nil
}

// Run queries the model on every example (K samples each, skipping those the
// cache holds), runs programs, scores every sample and returns the report.
// Examples may mix benchmarks. A request that fails after the pool's retries
// is recorded as a request_error sample (wrong, not cached, so a rerun
// retries it), one the server refuses for good as request_rejected (wrong,
// cached); Run fails only when ctx ends or the cache cannot be written.
func (r *Runner) Run(ctx context.Context, exs []Example) (*Report, error) {
	type job struct {
		ex   *Example
		need []int
	}
	var jobs []job
	var samples []Sample
	for i := range exs {
		ex := &exs[i]
		var need []int
		for k := 0; k < r.cfg.K; k++ {
			if s, ok := r.cfg.Cache.Get(ex.Benchmark, ex.ID, k); ok {
				// Re-score: the cache keeps answers, the scorer may be newer.
				s.Outcome, _ = ScoreExample(ex, s.Prediction)
				samples = append(samples, s)
			} else {
				need = append(need, k)
			}
		}
		if len(need) > 0 {
			jobs = append(jobs, job{ex, need})
		}
	}
	total := len(exs) * r.cfg.K
	prog := newProgress(r.cfg.Progress, r.cfg.ProgressBar, total, len(samples))
	defer prog.finish()

	work := make(chan job)
	results := make(chan []Sample)
	var wg sync.WaitGroup
	for w := 0; w < min(r.cfg.Concurrency, max(len(jobs), 1)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range work {
				results <- r.example(ctx, j.ex, j.need)
			}
		}()
	}
	go func() {
		defer close(work)
		for _, j := range jobs {
			select {
			case work <- j:
			case <-ctx.Done():
				return
			}
		}
	}()
	go func() { wg.Wait(); close(results) }()
	var cacheErr error
	for ss := range results {
		for _, s := range ss {
			if s.Failure != FailRequest && cacheErr == nil {
				cacheErr = r.cfg.Cache.Put(s)
			}
		}
		samples = append(samples, ss...)
		prog.add(len(ss))
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("eval interrupted after %d of %d samples (completed ones are cached; rerun to resume): %w", len(samples), total, err)
	}
	if cacheErr != nil {
		return nil, cacheErr
	}
	return BuildReport(exs, samples, r.cfg.K), nil
}

// example samples the missing indices of one example.
func (r *Runner) example(ctx context.Context, ex *Example, need []int) []Sample {
	out := make([]Sample, len(need))
	for i, k := range need {
		out[i] = Sample{Bench: ex.Benchmark, ID: ex.ID, Index: k, Prediction: Prediction{ID: ex.ID}}
	}
	q := PromptQuestion(ex)
	var expect episode.Paradigm
	switch r.cfg.Mode {
	case ModeProgram:
		expect = episode.ParadigmProgram
	case ModeText:
		expect = episode.ParadigmText
	}
	prompt, _, err := r.cfg.Templates.Prompt(q, expect)
	if err != nil {
		return r.fail(ex, out, FailInvalidFormat, err)
	}
	sampling := rollout.Sampling{N: len(need), Temperature: r.cfg.Temperature, TopP: r.cfg.TopP, MaxTokens: r.cfg.MaxTokens, Seed: r.cfg.Seed}
	var cs []episode.Completion
	if r.cfg.Chat {
		cs, err = r.model.(ChatCompleter).Chat(ctx, rollout.ChatRequest{
			Messages: []rollout.ChatMessage{{Role: "user", Content: prompt}}, Sampling: sampling})
	} else {
		cs, err = r.model.Complete(ctx, rollout.CompletionRequest{Prompt: prompt, Sampling: sampling})
	}
	if err == nil && len(cs) < len(need) {
		err = fmt.Errorf("server returned %d completions, asked for %d", len(cs), len(need))
	}
	if err != nil {
		r.cfg.Logger.Warn("eval request failed", zap.String("bench", ex.Benchmark), zap.String("id", ex.ID), zap.Error(err))
		if rejected(err) {
			return r.fail(ex, out, FailRejected, err)
		}
		return r.fail(ex, out, FailRequest, err)
	}
	for i := range out {
		c := cs[i]
		s := &out[i]
		s.Completion, s.Finish, s.LatencyMS = c.Text, c.FinishReason, c.Latency.Milliseconds()
		parsed := rollout.Parse(c.Text, c.FinishReason, rollout.ParseOptions{Expect: expect})
		s.Paradigm = string(parsed.Paradigm)
		var items []string
		switch parsed.Paradigm {
		case episode.ParadigmProgram:
			s.Program = parsed.Code
			if r.cfg.Executor == nil {
				s.Failure = FailInvalidFormat
				break
			}
			res := r.cfg.Executor.Run(ctx, execution.Job{Code: parsed.Code, Table: ex.Table, Limits: r.cfg.Limits})
			s.Exec = &ExecInfo{Status: string(res.Status), Stdout: clip(res.Stdout, 2000), Stderr: clip(res.Stderr, 2000),
				ExceptionType: res.ExceptionType, ErrorLine: res.ErrorLine, Detail: res.Detail, WallMS: res.Wall.Milliseconds()}
			switch {
			case res.Status != execution.StatusOK:
				s.Failure = string(res.Status)
			case res.Answer() == "":
				s.Failure = FailNoOutput
			default:
				items = AnswerItems(res.Answer())
			}
		case episode.ParadigmText:
			items = parsed.Answers
			if len(items) == 1 {
				items = AnswerItems(items[0])
			}
		default:
			s.Failure = FailInvalidFormat
		}
		s.Prediction = PredictionFor(ex, items)
		s.Outcome, _ = ScoreExample(ex, s.Prediction)
	}
	return out
}

func (r *Runner) fail(ex *Example, out []Sample, kind string, err error) []Sample {
	for i := range out {
		out[i].Failure = kind
		out[i].Paradigm = string(episode.ParadigmInvalid)
		out[i].Exec = &ExecInfo{Status: kind, Detail: err.Error()}
		out[i].Outcome, _ = ScoreExample(ex, out[i].Prediction)
	}
	return out
}

// rejected reports whether err is the server's final refusal of the
// request itself (HTTP 4xx but 408 and 429).
func rejected(err error) bool {
	status := rollout.HTTPStatus(err)
	return status >= 400 && status < 500 && status != http.StatusRequestTimeout && status != http.StatusTooManyRequests
}

// PredictionFor turns a model's answer items (see AnswerItems) into the
// prediction for ex's benchmark (its Benchmark.Predict; a list by
// default). No item is an empty prediction.
func PredictionFor(ex *Example, items []string) Prediction {
	if len(items) == 0 {
		return Prediction{ID: ex.ID}
	}
	if b, ok := row(ex.Benchmark); ok && b.Predict != nil {
		return b.Predict(ex.ID, items)
	}
	return List(ex.ID, items)
}

// textPrediction is the Predict of benchmarks whose scorer reads one text
// (FeTaQA, TableBench): the items joined by ", ".
func textPrediction(id string, items []string) Prediction {
	return Text(id, strings.Join(items, ", "))
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
