package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"

	"tabler1/eval"
	"tabler1/rollout"
	"tabler1/sandbox"
)

// cmdDistill wires `tabler1 distill` to rollout.Distill: the teacher is a
// rollout pool, programs run in the local sandbox pool, answers are graded
// by eval's benchmark scorers.
func cmdDistill(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "distill", "--endpoint URL --model NAME --data FILE|--data-dir DIR --out FILE [flags]",
		"Ask a teacher endpoint (the paper: DeepSeek-V3) for program answers to training questions,\n"+
			"run each program on its full table in the sandbox, keep the correct ones (at most\n"+
			"--max-per-dataset per benchmark; the paper kept 5,000) and write SFT JSONL.\n"+benchmarksUsage())
	endpoint := fs.String("endpoint", "", "teacher OpenAI base URL(s), comma-separated, e.g. https://api.deepseek.com/v1")
	model := fs.String("model", "", "teacher model id")
	server := fs.String("server", rollout.ServerOpenAI, "server kind: vllm, sglang, embedded, llamacpp, ollama or openai")
	apiKeyEnv := fs.String("api-key-env", "", "environment variable holding the teacher's API key")
	bench := fs.String("bench", strings.Join(eval.PaperBenchmarks(), ","), "benchmarks, comma-separated")
	data := fs.String("data", "", "uniform JSONL file of training questions")
	dataDir := fs.String("data-dir", "", "directory of <bench>.<split>.jsonl files or of one benchmark's native files")
	split := fs.String("split", "train", "split to read")
	limit := fs.Int("limit", 0, "seeded subset of N questions per benchmark (0: all)")
	seed := fs.Uint64("seed", 0, "seed of the subset")
	out := fs.String("out", "", "SFT JSONL to write")
	maxPer := fs.Int("max-per-dataset", 5000, "correct examples kept per benchmark")
	n := fs.Int("n", 1, "teacher samples per question")
	keep := fs.Int("keep", 1, "correct samples kept per question")
	temperature := fs.Float64("temperature", 0, "teacher sampling temperature (0: greedy)")
	maxTokens := fs.Int("max-tokens", 2048, "teacher completion length limit")
	chat := fs.Bool("chat", true, "send the prompt as a chat message (false: raw /v1/completions)")
	concurrency := fs.Int("concurrency", 32, "questions in flight")
	preview := fs.Int("preview-rows", 10, "table rows shown in the prompt")
	workers := fs.Int("sandbox-workers", 0, "Python sandbox workers (default: CPUs)")
	wall := fs.Duration("wall", 10*time.Second, "wall-clock limit per program")
	requestTimeout := fs.Duration("request-timeout", 0, "limit on one attempt of a request (default 5m)")
	stallTimeout := fs.Duration("stall-timeout", 0, "stop when no endpoint has answered for this long while requests wait (default 10m)")
	healthTimeout := fs.Duration("health-timeout", 10*time.Second, "limit on the check, before any request, that every endpoint answers GET /v1/models")
	maxFailed := fs.Float64("max-failed-requests", eval.DefaultMaxFailedRequests, "share of questions whose request failed above which distill exits 1 (after writing what it kept; 1: never)")
	if err := parseFlags(e, fs, args, false); err != nil {
		return err
	}
	if err := requireFlags(fs, "endpoint", "model", "out"); err != nil {
		return err
	}
	path := *data
	if path == "" {
		path = *dataDir
	}
	if path == "" || (*data != "" && *dataDir != "") {
		fs.Usage()
		return usageError{"give one of --data or --data-dir"}
	}
	if *n < 1 || *keep < 1 || *maxPer < 1 || *concurrency < 1 {
		return usageError{"--n, --keep, --max-per-dataset and --concurrency must be at least 1"}
	}
	if *maxFailed <= 0 || *maxFailed > 1 {
		return usageError{fmt.Sprintf("--max-failed-requests is %g: want a share in (0, 1]", *maxFailed)}
	}

	benches, err := parseBenchmarks(*bench)
	if err != nil {
		return err
	}
	if len(benches) == 0 {
		return usageError{"--bench names no benchmark"}
	}
	exs, err := eval.LoadBenchmarks(benches, path, *split, *limit, *seed)
	if err != nil {
		return err
	}
	var qs []rollout.Question
	examples := map[string]*eval.Example{}
	for i := range exs {
		ex := &exs[i]
		key := ex.Benchmark + "\x00" + ex.ID
		if examples[key] != nil {
			return fmt.Errorf("%s: question id %q appears twice", ex.Benchmark, ex.ID)
		}
		examples[key] = ex
		q := eval.PromptQuestion(ex)
		q.Gold = ex.Answer
		qs = append(qs, q)
	}

	var eps []rollout.EndpointConfig
	for _, u := range strings.Split(*endpoint, ",") {
		eps = append(eps, rollout.EndpointConfig{URL: strings.TrimSpace(u), Server: *server})
	}
	pool, err := rollout.NewPool(rollout.PoolConfig{Endpoints: eps, Model: *model, APIKeyEnv: *apiKeyEnv, MaxConcurrency: *concurrency * *n,
		RequestTimeout: *requestTimeout, StallTimeout: *stallTimeout}, nil)
	if err != nil {
		return err
	}
	defer pool.Close()
	if err := pool.Check(ctx, *healthTimeout); err != nil {
		return err
	}
	tm, err := rollout.LoadTemplates(rollout.TemplateConfig{PreviewRows: *preview})
	if err != nil {
		return err
	}
	sb, err := sandbox.NewPool(ctx, sandbox.PoolConfig{Workers: *workers, Python: sandbox.DefaultPython(e.getenv)})
	if err != nil {
		return err
	}
	defer sb.Close()

	f, err := os.Create(*out)
	if err != nil {
		return err
	}
	st, err := rollout.Distill(ctx, rollout.DistillConfig{
		MaxPerDataset: *maxPer, SamplesPerQuestion: *n, KeepPerQuestion: *keep, Chat: *chat, Concurrency: *concurrency,
		Sampling: rollout.Sampling{Temperature: *temperature, MaxTokens: *maxTokens},
		Limits:   sandbox.Limits{Wall: *wall},
	}, pool, tm, sb, evalGrader{examples}, qs, f)
	if cerr := f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("writing %s: %w", *out, cerr)
	}
	b, _ := json.Marshal(st)
	fmt.Fprintln(e.stdout, string(b))
	if err != nil {
		return err
	}
	return failedRequests("distill", st.FailedRequests, st.Questions-st.Skipped, *maxFailed, "")
}

// evalGrader grades a program's answer with the question's benchmark
// scorer, reading the answer into items and a prediction as the eval
// runner does.
type evalGrader struct{ examples map[string]*eval.Example }

func (g evalGrader) Correct(q rollout.Question, answer string) (bool, error) {
	ex := g.examples[q.Bench+"\x00"+q.ID]
	if ex == nil {
		return false, fmt.Errorf("no %s example with id %q", q.Bench, q.ID)
	}
	items := eval.AnswerItems(answer)
	if len(items) == 0 {
		return false, nil
	}
	o, err := eval.ScoreExample(ex, eval.PredictionFor(ex, items))
	return o.Correct, err
}
