package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"

	"tabler1/eval"
	"tabler1/model"
	"tabler1/model/server"
	"tabler1/rollout"
	"tabler1/sandbox"
)

// cmdEval evaluates an OpenAI-compatible endpoint on the benchmarks.
func cmdEval(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "eval", "[--config FILE] --endpoint URL --model NAME|--checkpoint DIR --data FILE|--data-dir DIR --out DIR [flags]",
		"Evaluate a served model on the table-reasoning benchmarks: query it (program, text or mixed\n"+
			"paradigm), run its programs in the sandbox, score with the official metrics, and write\n"+
			"report.{json,md,html}, the predictions in the official formats, and a cache of completed\n"+
			"samples (samples.jsonl) that a rerun with the same --out resumes from.\n"+
			benchmarksUsage())
	config := fs.String("config", "", "YAML eval configuration (configs/eval.yaml); flags override it")
	endpoint := fs.String("endpoint", "", "OpenAI base URL(s), comma-separated, e.g. http://127.0.0.1:8000/v1")
	model := fs.String("model", "", "served model id")
	server := fs.String("server", "", "server kind: vllm, sglang, embedded, ... (default vllm)")
	chat := fs.Bool("chat", false, "send prompts to /v1/chat/completions as one user message (instruct models)")
	apiKeyEnv := fs.String("api-key-env", "", "environment variable holding the API key")
	bench := fs.String("bench", "", "benchmarks, comma-separated (default "+strings.Join(eval.PaperBenchmarks(), ",")+")")
	data := fs.String("data", "", "uniform JSONL file")
	dataDir := fs.String("data-dir", "", "directory of <bench>.<split>.jsonl files, or of one benchmark's native files")
	split := fs.String("split", "", "split to read (native files: default the benchmark's test split)")
	limit := fs.Int("limit", 0, "seeded subset of N examples per benchmark (0: all)")
	seed := fs.Uint64("seed", 0, "seed of the subset and of sampling")
	mode := fs.String("mode", "", "program, text or mixed (default mixed)")
	k := fs.Int("k", 0, "samples per example (default 1; >1 needs --temperature > 0)")
	temperature := fs.Float64("temperature", 0, "sampling temperature (default 0: greedy)")
	topP := fs.Float64("top-p", 0, "nucleus sampling (default: the server's)")
	maxTokens := fs.Int("max-tokens", 0, "completion length limit (default: with --checkpoint, what the model's context leaves after the prompt; else 1024)")
	concurrency := fs.Int("concurrency", 0, "examples in flight (default 8)")
	preview := fs.Int("preview-rows", 0, "table rows shown in the prompt (default: a checkpoint's training setting, else 10)")
	template := fs.String("template", "", "prompt template: compact (the embedded model's short prompts) or empty for the full ones (default: a checkpoint's training setting)")
	workers := fs.Int("sandbox-workers", 0, "Python sandbox workers (default: CPUs)")
	out := fs.String("out", "", "output directory")
	checkpoint := fs.String("checkpoint", "", "embedded-model checkpoint to serve in-process on a loopback port (instead of --endpoint)")
	requestTimeout := fs.Duration("request-timeout", 0, "limit on one attempt of a request (default 5m)")
	stallTimeout := fs.Duration("stall-timeout", 0, "stop when no endpoint has answered for this long while requests wait (default 10m)")
	healthTimeout := fs.Duration("health-timeout", 0, "limit on the check, before any request, that every endpoint answers GET /v1/models (default 10s)")
	maxFailed := fs.Float64("max-failed-requests", 0, fmt.Sprintf("share of samples whose request failed above which eval exits 1 after writing its report (default %g; 1: never)", eval.DefaultMaxFailedRequests))
	if err := parseFlags(e, fs, args, false); err != nil {
		return err
	}
	var rc eval.RunConfig
	if *config != "" {
		c, err := eval.LoadRunConfig(*config)
		if err != nil {
			return err
		}
		rc = c
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if set["data"] && set["data-dir"] {
		return usageError{"give --data or --data-dir, not both"}
	}
	list := func(s string) []string {
		var l []string
		for _, p := range strings.Split(s, ",") {
			if p = strings.TrimSpace(p); p != "" {
				l = append(l, p)
			}
		}
		return l
	}
	override := map[string]func(){
		"endpoint": func() { rc.Endpoints = list(*endpoint); rc.Checkpoint = "" }, "model": func() { rc.Model = *model },
		"server": func() { rc.Server = *server }, "chat": func() { rc.Chat = *chat }, "api-key-env": func() { rc.APIKeyEnv = *apiKeyEnv },
		"bench": func() { rc.Benchmarks = list(*bench) }, "data": func() { rc.Data = *data },
		"data-dir": func() { rc.Data = *dataDir }, "split": func() { rc.Split = *split },
		"limit": func() { rc.Limit = *limit }, "seed": func() { rc.Seed = *seed }, "mode": func() { rc.Mode = *mode },
		"k": func() { rc.K = *k }, "temperature": func() { rc.Temperature = *temperature }, "top-p": func() { rc.TopP = *topP },
		"max-tokens": func() { rc.MaxTokens = *maxTokens }, "concurrency": func() { rc.Concurrency = *concurrency },
		"preview-rows": func() { rc.PreviewRows = *preview }, "template": func() { rc.Template = *template }, "sandbox-workers": func() { rc.SandboxWorkers = *workers },
		"out": func() { rc.Out = *out }, "checkpoint": func() { rc.Checkpoint = *checkpoint; rc.Endpoints = nil },
		"request-timeout": func() { rc.RequestTimeout = *requestTimeout }, "stall-timeout": func() { rc.StallTimeout = *stallTimeout },
		"health-timeout": func() { rc.HealthTimeout = *healthTimeout }, "max-failed-requests": func() { rc.MaxFailedRequests = *maxFailed },
	}
	for name, apply := range override {
		if set[name] {
			apply()
		}
	}
	if set["endpoint"] && set["checkpoint"] {
		return usageError{"give --endpoint or --checkpoint, not both"}
	}
	var prompter eval.Prompter
	if rc.Checkpoint != "" {
		if len(rc.Endpoints) > 0 {
			return usageError{"the configuration names both endpoints and a checkpoint: keep one"}
		}
		// checkpoints/latest moves on: the cache must name the checkpoint
		// it holds the answers of.
		if real, err := filepath.EvalSymlinks(rc.Checkpoint); err == nil {
			rc.Checkpoint = real
		}
		url, name, context, stop, err := serveCheckpoint(ctx, rc.Checkpoint, rc.Model)
		if err != nil {
			return err
		}
		defer stop()
		rc.Endpoints, rc.Model, rc.Server = []string{url}, name, "embedded"
		if prompter, err = checkpointPrompts(&rc, set, context); err != nil {
			return err
		}
	}
	if err := rc.Validate(); err != nil {
		return usageError{err.Error()}
	}

	exs, err := eval.LoadBenchmarks(rc.Benchmarks, rc.Data, rc.Split, rc.Limit, rc.Seed)
	if err != nil {
		return err
	}

	eps := make([]rollout.EndpointConfig, len(rc.Endpoints))
	for i, u := range rc.Endpoints {
		eps[i] = rollout.EndpointConfig{URL: u, Server: rc.Server}
	}
	pool, err := rollout.NewPool(rollout.PoolConfig{Endpoints: eps, Model: rc.Model, APIKeyEnv: rc.APIKeyEnv,
		MaxConcurrency: max(rc.Concurrency, 8), RequestTimeout: rc.RequestTimeout, StallTimeout: rc.StallTimeout}, nil)
	if err != nil {
		return err
	}
	defer pool.Close()
	// A dead endpoint is an error now, not minutes of retried requests.
	if err := pool.Check(ctx, rc.HealthTimeout); err != nil {
		return err
	}

	if prompter == nil && rc.Template == eval.TemplateCompact {
		prompter = compactPrompter{rows: rc.PreviewRows}
	}
	if prompter == nil {
		tmpl, err := rollout.LoadTemplates(rollout.TemplateConfig{PreviewRows: rc.PreviewRows})
		if err != nil {
			return err
		}
		prompter = tmpl
	}
	cfg := eval.Config{Mode: eval.Mode(rc.Mode), K: rc.K, Temperature: rc.Temperature, TopP: rc.TopP,
		MaxTokens: rc.MaxTokens, Concurrency: rc.Concurrency, Templates: prompter, Chat: rc.Chat}
	if rc.Seed != 0 {
		s := int(rc.Seed)
		cfg.Seed = &s
	}
	if cfg.Mode != eval.ModeText {
		sb, err := sandbox.NewPool(ctx, sandbox.PoolConfig{Workers: rc.SandboxWorkers, Python: sandbox.DefaultPython(e.getenv)})
		if err != nil {
			return fmt.Errorf("starting the sandbox for %s mode (use --mode text to run without programs): %w", rc.Mode, err)
		}
		defer sb.Close()
		cfg.Executor = &sandbox.Dedup{Exec: sb} // K samples often write the same program
	}
	cache, err := eval.OpenCache(rc.Out, rc.CacheSettings())
	if err != nil {
		return err
	}
	defer cache.Close()
	cfg.Cache = cache
	cfg.Progress, cfg.ProgressBar = e.stderr, isTerminal(e.stderr)

	runner, err := eval.NewRunner(pool, cfg)
	if err != nil {
		return err
	}
	rep, err := runner.Run(ctx, exs)
	if err != nil {
		return err
	}
	stalled := pool.Err()
	rep.Meta = map[string]any{"model": rc.Model, "endpoints": strings.Join(rc.Endpoints, ","), "mode": rc.Mode,
		"temperature": rc.Temperature, "data": rc.Data}
	if err := rep.WriteFiles(rc.Out); err != nil {
		return err
	}
	if err := eval.WritePredictionFiles(filepath.Join(rc.Out, "predictions"), rep.Samples); err != nil {
		return err
	}
	for _, b := range rep.Benchmarks {
		line := fmt.Sprintf("%-10s n=%-5d accuracy %.2f", b.Benchmark, b.N, 100*b.Metrics["accuracy"])
		if rep.K > 1 {
			line += fmt.Sprintf("  pass@1 %.2f  pass@%d %.2f  avg@%d %.2f", 100*b.PassAt[1], rep.K, 100*b.PassAtK, rep.K, 100*b.AvgAtK)
		}
		line += fmt.Sprintf("  failed requests %d/%d", b.FailedRequests, b.Samples)
		fmt.Fprintln(e.stdout, line)
	}
	fmt.Fprintf(e.stdout, "report: %s\n", filepath.Join(rc.Out, eval.ReportHTML))
	if stalled != nil {
		return stalled
	}
	failed, total := rep.FailedRequests()
	return failedRequests("eval", failed, total, rc.MaxFailedRequests, firstRequestFailure(rep.Samples))
}

// firstRequestFailure is the error of the first sample whose request
// failed, for the message of a failed eval.
func firstRequestFailure(samples []eval.Sample) string {
	for _, s := range samples {
		if (s.Failure == eval.FailRequest || s.Failure == eval.FailRejected) && s.Exec != nil {
			return fmt.Sprintf("%s %s: %s", s.Bench, s.ID, s.Exec.Detail)
		}
	}
	return ""
}

// serveCheckpoint loads an embedded-model checkpoint and serves it with the
// model server on a free loopback port, so that eval queries it through the
// same HTTP client as any endpoint. stop shuts the server down.
func serveCheckpoint(ctx context.Context, dir, name string) (url, served string, contextLen int, stop func(), err error) {
	m, err := model.Load(dir)
	if err != nil {
		return "", "", 0, nil, fmt.Errorf("loading the checkpoint to evaluate: %w", err)
	}
	if name == "" {
		name = "tabler1-tiny"
	}
	s, err := server.New(server.Config{ModelName: name}, m)
	if err != nil {
		return "", "", 0, nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", "", 0, nil, fmt.Errorf("serving the checkpoint: %w", err)
	}
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = s.Serve(sctx, ln)
	}()
	return "http://" + ln.Addr().String() + "/v1", name, m.Config().Context, func() { cancel(); <-done }, nil
}

// isTerminal reports whether w is a character device (a terminal), where a
// progress bar can redraw; elsewhere progress is printed as plain lines.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
