package eval

import (
	"context"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	openai "github.com/sashabaranov/go-openai"

	"tabler1/rollout"
	"tabler1/rollout/openaitest"
	"tabler1/sandbox/execution"
)

// fakeExecutor stands in for the sandbox: print("X") prints X; a program
// containing RAISE fails at run time, SYNTAX does not parse, SLOW times out
// and SILENT prints nothing.
type fakeExecutor struct{}

var printRE = regexp.MustCompile(`print\((.*)\)`)

func (fakeExecutor) Run(ctx context.Context, job execution.Job) execution.Result {
	switch {
	case job.Table == nil:
		return execution.Result{Status: execution.StatusSandboxError, Detail: "no table"}
	case strings.Contains(job.Code, "RAISE"):
		return execution.Result{Status: execution.StatusRuntimeError, ExceptionType: "KeyError", ErrorLine: 1, Stderr: "KeyError: 'x'"}
	case strings.Contains(job.Code, "SYNTAX"):
		return execution.Result{Status: execution.StatusSyntaxError, ExceptionType: "SyntaxError", ErrorLine: 1}
	case strings.Contains(job.Code, "SLOW"):
		return execution.Result{Status: execution.StatusTimeout, Detail: "wall-clock limit of 10s reached"}
	case strings.Contains(job.Code, "SILENT"):
		return execution.Result{Status: execution.StatusOK}
	}
	m := printRE.FindStringSubmatch(job.Code)
	if m == nil {
		return execution.Result{Status: execution.StatusOK}
	}
	var s string
	if json.Unmarshal([]byte(m[1]), &s) != nil {
		s = m[1]
	}
	return execution.Result{Status: execution.StatusOK, Stdout: s + "\n", Wall: time.Millisecond}
}

// scriptServer answers by the question in the prompt: answer(ex, i) gives
// choice i's text.
func scriptServer(t *testing.T, exs []Example, answer func(ex *Example, i int) string) *openaitest.Server {
	t.Helper()
	byQuestion := map[string]*Example{}
	for i := range exs {
		byQuestion[promptQuestion(&exs[i])] = &exs[i]
	}
	srv := openaitest.NewServer(openaitest.Config{Script: func(req openaitest.Request, i int) openaitest.Choice {
		for q, ex := range byQuestion {
			if strings.Contains(req.Prompt, "Question: "+q+"\n") || strings.Contains(req.Prompt, "Statement: "+q+"\n") || strings.Contains(req.Prompt, q) {
				return openaitest.Choice{Text: answer(ex, i)}
			}
		}
		return openaitest.Choice{Text: "no idea"}
	}})
	t.Cleanup(srv.Close)
	return srv
}

func pool(t *testing.T, srv *openaitest.Server) *rollout.Pool {
	t.Helper()
	p, err := rollout.NewPool(rollout.PoolConfig{Endpoints: []rollout.EndpointConfig{{URL: srv.URL, Server: "embedded"}},
		Model: "fake-model", MaxRetries: 1, RetryBackoff: time.Millisecond}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func goldJSON(ex *Example) string {
	b, _ := json.Marshal(ex.Answer)
	return string(b)
}

func TestRunnerTextMode(t *testing.T) {
	exs := loadBench(t, WTQ)[:20]
	srv := scriptServer(t, exs, func(ex *Example, i int) string {
		if idx := indexOf(exs, ex.ID); idx%2 == 0 {
			return "Let me think.\nAnswer: " + goldJSON(ex)
		}
		return "Answer: certainly wrong"
	})
	r, err := NewRunner(pool(t, srv), Config{Mode: ModeText, Concurrency: 4})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := r.Run(context.Background(), exs)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Benchmarks) != 1 || rep.Benchmarks[0].Metrics["accuracy"] != 0.5 {
		t.Fatalf("report %+v: want WTQ accuracy 0.5", rep.Benchmarks)
	}
	if st := rep.Benchmarks[0].Paradigms["text"]; st.Samples != 20 || st.Accuracy != 0.5 {
		t.Errorf("text paradigm stats %+v, want 20 samples at 0.5", st)
	}
}

func indexOf(exs []Example, id string) int {
	for i := range exs {
		if exs[i].ID == id {
			return i
		}
	}
	return -1
}

func TestRunnerProgramModeFailuresAndResume(t *testing.T) {
	exs := append(loadBench(t, WTQ)[:8], loadBench(t, TabFact)[:4]...)
	kinds := []string{"", "RAISE", "SYNTAX", "SLOW", "SILENT", "", "", ""}
	srv := scriptServer(t, exs, func(ex *Example, i int) string {
		if ex.Benchmark == TabFact {
			return "```python\nprint(\"" + ex.Answer[0] + "\")\n```"
		}
		k := kinds[indexOf(exs, ex.ID)%len(kinds)]
		if k == "" {
			b, _ := json.Marshal(goldJSON(ex))
			return "```python\nprint(" + string(b) + ")\n```"
		}
		return "```python\n# " + k + "\nprint(1)\n```"
	})
	dir := t.TempDir()
	cache, err := OpenCache(dir, map[string]any{"model": "fake", "mode": "program"})
	if err != nil {
		t.Fatal(err)
	}
	var progressOut strings.Builder
	cfg := Config{Mode: ModeProgram, Executor: fakeExecutor{}, Cache: cache, Progress: &progressOut}
	r, err := NewRunner(pool(t, srv), cfg)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := r.Run(context.Background(), exs)
	if err != nil {
		t.Fatal(err)
	}
	cache.Close()
	byBench := map[string]BenchReport{}
	for _, b := range rep.Benchmarks {
		byBench[b.Benchmark] = b
	}
	if got := byBench[WTQ].Metrics["accuracy"]; got != 4.0/8 {
		t.Errorf("WTQ accuracy %v, want 0.5", got)
	}
	if got := byBench[TabFact].Metrics["accuracy"]; got != 1 {
		t.Errorf("TabFact accuracy %v, want 1", got)
	}
	wantFail := map[string]int{"runtime_error": 1, "syntax_error": 1, "timeout": 1, FailNoOutput: 1}
	for k, n := range wantFail {
		if byBench[WTQ].Failures[k] != n || len(byBench[WTQ].FailureExamples[k]) != n {
			t.Errorf("failures %v / examples %v: want %s = %d", byBench[WTQ].Failures, byBench[WTQ].FailureExamples, k, n)
		}
	}
	if !strings.Contains(progressOut.String(), "12/12 samples") {
		t.Errorf("progress output %q lacks the final count", progressOut.String())
	}
	if err := rep.WriteFiles(dir); err != nil {
		t.Fatal(err)
	}
	if err := WritePredictionFiles(dir, rep.Samples); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		ReportHTML: "<svg", ReportMarkdown: "runtime_error", ReportJSON: `"failures"`,
		"wtq.predictions.tsv": exs[0].ID + "\t", "tabfact.predictions.json": `"` + exs[8].ID + `": `, "wtq.predictions.jsonl": `"prediction"`,
	} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil || !strings.Contains(string(b), want) {
			t.Errorf("%s: %v; want it to contain %q", name, err, want)
		}
	}
	html, _ := os.ReadFile(filepath.Join(dir, ReportHTML))
	if strings.Contains(string(html), "<script") || strings.Contains(string(html), "src=") || strings.Contains(string(html), "<link") {
		t.Error("report.html loads external assets or scripts; want a self-contained page")
	}
	// The official-format WTQ predictions score the same with tabler1 score.
	preds, err := LoadPredictions(filepath.Join(dir, "wtq.predictions.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := ScorePredictions(WTQ, exs[:8], preds)
	if err != nil || res.Metrics["accuracy"] != 0.5 {
		t.Errorf("rescoring the written predictions: %v, accuracy %v; want 0.5", err, res.Metrics["accuracy"])
	}

	// A rerun finds every sample cached and sends no request.
	before := srv.Stats().Requests
	cache2, err := OpenCache(dir, map[string]any{"model": "fake", "mode": "program"})
	if err != nil {
		t.Fatal(err)
	}
	defer cache2.Close()
	if cache2.Len() != 12 {
		t.Fatalf("cache holds %d samples, want 12", cache2.Len())
	}
	cfg.Cache = cache2
	r2, _ := NewRunner(pool(t, srv), cfg)
	rep2, err := r2.Run(context.Background(), exs)
	if err != nil {
		t.Fatal(err)
	}
	if srv.Stats().Requests != before {
		t.Errorf("rerun sent %d requests, want 0", srv.Stats().Requests-before)
	}
	if rep2.Benchmarks[0].Metrics["accuracy"] != rep.Benchmarks[0].Metrics["accuracy"] {
		t.Errorf("rerun accuracy %v, first run %v", rep2.Benchmarks[0].Metrics["accuracy"], rep.Benchmarks[0].Metrics["accuracy"])
	}
	if _, err := OpenCache(dir, map[string]any{"model": "other"}); err == nil || !strings.Contains(err.Error(), "other settings") {
		t.Errorf("a cache made with other settings: err %v, want a refusal", err)
	}
}

func TestRunnerPassAtK(t *testing.T) {
	exs := loadBench(t, HiTab)[:6]
	srv := scriptServer(t, exs, func(ex *Example, i int) string {
		if i == 0 {
			return "Answer: " + goldJSON(ex)
		}
		return "Answer: -1234567"
	})
	r, err := NewRunner(pool(t, srv), Config{Mode: ModeText, K: 4, Temperature: 1})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := r.Run(context.Background(), exs)
	if err != nil {
		t.Fatal(err)
	}
	b := rep.Benchmarks[0]
	if b.PassAtK != 1 || b.AvgAtK != 0.25 || b.Metrics["accuracy"] != 0.25 || b.Samples != 24 {
		t.Errorf("pass@4 %v avg@4 %v accuracy %v samples %d; want 1, 0.25, 0.25, 24", b.PassAtK, b.AvgAtK, b.Metrics["accuracy"], b.Samples)
	}
	// One correct sample of four per example: pass@1 1/4, pass@2 1 - C(3,2)/C(4,2).
	if want := map[int]float64{1: 0.25, 2: 0.5, 4: 1}; !maps.Equal(b.PassAt, want) {
		t.Errorf("pass_at %v, want %v", b.PassAt, want)
	}
	md := rep.Markdown()
	if !strings.Contains(md, "| 25.00 | 100.00 | 25.00 |") {
		t.Errorf("markdown lacks pass@1, pass@4 and avg@4 cells:\n%s", md)
	}
	if _, err := NewRunner(pool(t, srv), Config{Mode: ModeText, K: 4}); err == nil {
		t.Error("K=4 with greedy decoding: want an error")
	}
	if _, err := NewRunner(pool(t, srv), Config{Mode: ModeProgram}); err == nil {
		t.Error("program mode without an executor: want an error")
	}
}

func TestRunnerRequestFailure(t *testing.T) {
	exs := loadBench(t, WTQ)[:3]
	srv := openaitest.NewServer(openaitest.Config{FaultRate: 1, FaultKinds: []openaitest.Fault{openaitest.Fault500}})
	defer srv.Close()
	r, _ := NewRunner(pool(t, srv), Config{Mode: ModeText})
	rep, err := r.Run(context.Background(), exs)
	if err != nil {
		t.Fatal(err)
	}
	if b := rep.Benchmarks[0]; b.Failures[FailRequest] != 3 || b.Metrics["accuracy"] != 0 {
		t.Errorf("failures %v accuracy %v; want 3 request errors and 0", b.Failures, b.Metrics["accuracy"])
	}
}

func TestHook(t *testing.T) {
	data := filepath.Join(sharedData(t), "wtq.dev.jsonl")
	h, err := NewHook(HookConfig{Every: 5, Data: data, Benchmarks: []string{WTQ}, Subset: 7, Seed: 3, Mode: "text"}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	h2, _ := NewHook(HookConfig{Every: 5, Data: data, Benchmarks: []string{WTQ}, Subset: 7, Seed: 3, Mode: "text"}, nil, nil)
	if len(h.Examples()) != 7 || h.Examples()[3].ID != h2.Examples()[3].ID {
		t.Fatalf("subset of %d examples, not reproducible from the seed", len(h.Examples()))
	}
	srv := scriptServer(t, h.Examples(), func(ex *Example, i int) string { return "Answer: " + goldJSON(ex) })
	p := pool(t, srv)
	for _, step := range []int{0, 3, 7} {
		if rep, err := h.MaybeRun(context.Background(), step, p); rep != nil || err != nil {
			t.Errorf("step %d: ran (%v, %v), want nothing", step, rep, err)
		}
	}
	rep, err := h.MaybeRun(context.Background(), 10, p)
	if err != nil || rep == nil {
		t.Fatalf("step 10: %v, %v", rep, err)
	}
	if f := rep.Flat(); f["wtq/accuracy"] != 1 || f["wtq/n"] != 7 {
		t.Errorf("flat report %v: want wtq/accuracy 1 over 7", f)
	}
	if _, err := NewHook(HookConfig{Every: 5, Data: data, Mode: "program"}, nil, nil); err == nil {
		t.Error("program mode without an executor: want an error")
	}
}

// The official-format files eval writes read back through
// LoadPredictionsFile and score as the JSONL does.
func TestOfficialFormatsRoundTrip(t *testing.T) {
	dir := t.TempDir()
	var samples []Sample
	for _, bench := range []string{WTQ, TATQA, TabFact} {
		exs := loadBench(t, bench)
		for _, p := range goldPredictions(exs) {
			samples = append(samples, Sample{Bench: bench, ID: p.ID, Prediction: p})
		}
	}
	if err := WritePredictionFiles(dir, samples); err != nil {
		t.Fatal(err)
	}
	for bench, file := range map[string]string{WTQ: "wtq.predictions.tsv", TATQA: "tatqa.predictions.json", TabFact: "tabfact.predictions.json"} {
		exs := loadBench(t, bench)
		official, err := LoadPredictionsFile(filepath.Join(dir, file))
		if err != nil {
			t.Fatal(err)
		}
		jsonl, err := LoadPredictionsFile(filepath.Join(dir, bench+".predictions.jsonl"))
		if err != nil {
			t.Fatal(err)
		}
		a, _ := ScorePredictions(bench, exs, official)
		b, _ := ScorePredictions(bench, exs, jsonl)
		if a.Metrics["accuracy"] != b.Metrics["accuracy"] || a.N != b.N || a.Metrics["accuracy"] < 0.99 {
			t.Errorf("%s: official file accuracy %v (n %d), JSONL %v (n %d)", bench, a.Metrics["accuracy"], a.N, b.Metrics["accuracy"], b.N)
		}
	}
}

func TestRunnerChat(t *testing.T) {
	exs := loadBench(t, AITQA)[:4]
	// Answer chat requests only, keyed on the one user message.
	chat := openaitest.NewServer(openaitest.Config{Script: func(req openaitest.Request, i int) openaitest.Choice {
		if req.Path != "/v1/chat/completions" || len(req.Messages) != 1 {
			return openaitest.Choice{Text: "wrong endpoint"}
		}
		for j := range exs {
			if strings.Contains(req.Messages[0].Content, exs[j].Question) {
				return openaitest.Choice{Text: "Answer: " + exs[j].Answer[0]}
			}
		}
		return openaitest.Choice{Text: "no idea"}
	}})
	defer chat.Close()
	r, err := NewRunner(pool(t, chat), Config{Mode: ModeText, Chat: true})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := r.Run(context.Background(), exs)
	if err != nil {
		t.Fatal(err)
	}
	if got := rep.Benchmarks[0].Metrics["accuracy"]; got != 1 {
		t.Errorf("chat mode accuracy %v, want 1", got)
	}
}

func TestRejectedRequests(t *testing.T) {
	for status, want := range map[int]bool{400: true, 404: true, 413: true, 408: false, 429: false, 500: false, 503: false} {
		err := &rollout.RequestError{Err: &openai.APIError{HTTPStatusCode: status}}
		if got := rejected(err); got != want {
			t.Errorf("HTTP %d: rejected %v, want %v", status, got, want)
		}
	}
	if rejected(context.DeadlineExceeded) {
		t.Error("a deadline counted as a rejection")
	}
}
