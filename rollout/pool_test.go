package rollout

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
	"go.yaml.in/yaml/v3"

	"tabler1/rollout/openaitest"
)

// fastPool is a pool with test-sized timings.
func fastPool(t *testing.T, cfg PoolConfig) *Pool {
	t.Helper()
	if cfg.Model == "" {
		cfg.Model = "fake-model"
	}
	if cfg.RetryBackoff == 0 {
		cfg.RetryBackoff = time.Millisecond
	}
	if cfg.RetryMaxBackoff == 0 {
		cfg.RetryMaxBackoff = 5 * time.Millisecond
	}
	if cfg.ProbeInterval == 0 {
		cfg.ProbeInterval = 10 * time.Millisecond
	}
	if cfg.RequestTimeout == 0 {
		cfg.RequestTimeout = 2 * time.Second
	}
	p, err := NewPool(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

func endpoints(srvs ...*openaitest.Server) []EndpointConfig {
	var out []EndpointConfig
	for _, s := range srvs {
		out = append(out, EndpointConfig{URL: s.URL})
	}
	return out
}

func TestCompleteTokenData(t *testing.T) {
	var got openaitest.Request
	var mu sync.Mutex
	srv := openaitest.NewServer(openaitest.Config{Script: func(r openaitest.Request, i int) openaitest.Choice {
		mu.Lock()
		got = r
		mu.Unlock()
		return openaitest.Choice{Text: []string{"Answer: 1", "Answer: two"}[i], FinishReason: []string{"stop", "length"}[i]}
	}})
	defer srv.Close()
	p := fastPool(t, PoolConfig{Endpoints: endpoints(srv)})
	seed := 7
	cs, err := p.Complete(context.Background(), CompletionRequest{
		Prompt: "Q?", TokenData: true,
		Sampling: Sampling{N: 2, Temperature: 0, TopP: 0.9, MaxTokens: 64, Stop: []string{"\n\n"}, Seed: &seed},
		Extra:    map[string]any{"top_k": 5},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 2 || cs[0].Text != "Answer: 1" || cs[1].FinishReason != "length" {
		t.Fatalf("completions %+v", cs)
	}
	for i, c := range cs {
		want := openaitest.Tokenize(c.Text)
		if !equalInts(c.TokenIDs, want) || len(c.Logprobs) != len(want) || !equalInts(c.PromptTokenIDs, openaitest.Tokenize("Q?")) {
			t.Errorf("choice %d token data: ids %v (want %v), %d logprobs, prompt ids %v", i, c.TokenIDs, want, len(c.Logprobs), c.PromptTokenIDs)
		}
		if c.Endpoint != srv.URL || c.Attempts != 1 || c.Latency <= 0 {
			t.Errorf("choice %d: endpoint %q attempts %d latency %v", i, c.Endpoint, c.Attempts, c.Latency)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if got.Temperature == nil || *got.Temperature != 0 {
		t.Errorf("temperature 0 not sent: %v", got.Temperature)
	}
	if got.TopP == nil || *got.TopP < 0.89 || got.MaxTokens != 64 || got.N != 2 || got.Seed == nil || *got.Seed != 7 || len(got.Stop) != 1 {
		t.Errorf("sampling not sent as asked: %+v", got)
	}
	if !got.Logprobs || !got.ReturnTokenIDs || !got.ReturnTokensAsTokenIDs {
		t.Errorf("token data not asked for: %+v", got)
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Older vLLM: tokens as "token_id:N" in logprobs, no token_ids field, and
// the prompt ids from /tokenize.
func TestCompleteTokenIDsFromLogprobsAndTokenize(t *testing.T) {
	srv := openaitest.NewServer(openaitest.Config{})
	defer srv.Close()
	p := fastPool(t, PoolConfig{Endpoints: []EndpointConfig{{URL: srv.URL, Server: ServerVLLM}}})
	// Parse a body in the older format directly, and check /tokenize.
	body := []byte(`{"choices":[{"index":0,"text":"ab","finish_reason":"stop","logprobs":{"tokens":["token_id:100","token_id:101"],"token_logprobs":[-0.5,-1.25]}}]}`)
	cs, err := p.finish(context.Background(), p.eps[0], body, false, 1, true, "xyz", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !equalInts(cs[0].TokenIDs, []int{100, 101}) || cs[0].Logprobs[1] != -1.25 || !equalInts(cs[0].PromptTokenIDs, openaitest.Tokenize("xyz")) {
		t.Errorf("got %+v", cs[0])
	}
	if srv.Stats().Tokenize != 1 {
		t.Errorf("/tokenize called %d times, want 1", srv.Stats().Tokenize)
	}
}

func TestChatTokenData(t *testing.T) {
	srv := openaitest.NewServer(openaitest.Config{})
	defer srv.Close()
	p := fastPool(t, PoolConfig{Endpoints: endpoints(srv)})
	cs, err := p.Chat(context.Background(), ChatRequest{Messages: []ChatMessage{{Role: "user", Content: "hi"}}, Sampling: Sampling{N: 3, Temperature: 1}, TokenData: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 3 || cs[2].Text != "Answer: 42" || !equalInts(cs[0].TokenIDs, openaitest.Tokenize("Answer: 42")) || len(cs[0].Logprobs) != len(cs[0].TokenIDs) || len(cs[0].PromptTokenIDs) == 0 {
		t.Fatalf("chat completions %+v", cs)
	}
}

func TestMissingTokenData(t *testing.T) {
	srv := openaitest.NewServer(openaitest.Config{NoTokenIDs: true})
	defer srv.Close()
	for _, server := range []string{ServerLlamaCpp, ServerVLLM, ServerSGLang} {
		p := fastPool(t, PoolConfig{Endpoints: []EndpointConfig{{URL: srv.URL, Server: server}}})
		_, err := p.Complete(context.Background(), CompletionRequest{Prompt: "x", TokenData: true})
		var mt *MissingTokenDataError
		if !errors.As(err, &mt) || mt.Server != server || !strings.Contains(err.Error(), srv.URL) || !strings.Contains(err.Error(), "completion token ids") {
			t.Errorf("%s: err = %v, want a MissingTokenDataError naming the endpoint and what is missing", server, err)
		}
		// Without TokenData the same server is fine (evaluation).
		if _, err := p.Complete(context.Background(), CompletionRequest{Prompt: "x"}); err != nil {
			t.Errorf("%s without token data: %v", server, err)
		}
	}
	if want := "return_tokens_as_token_ids"; !strings.Contains(tokenDataHint(ServerVLLM), want) {
		t.Errorf("vLLM hint lacks %q", want)
	}
}

func TestAPIKeyFromEnvNeverLogged(t *testing.T) {
	const key = "sk-test-secret-123"
	t.Setenv("TABLER1_TEST_KEY", key)
	srv := openaitest.NewServer(openaitest.Config{APIKey: key, FaultFor: func(r openaitest.Request) openaitest.Fault {
		if r.Prompt == "fail" {
			return openaitest.Fault500
		}
		return openaitest.FaultNone
	}})
	defer srv.Close()
	core, logs := observer.New(zap.DebugLevel)
	cfg := PoolConfig{Endpoints: endpoints(srv), Model: "m", APIKeyEnv: "TABLER1_TEST_KEY", RetryBackoff: time.Millisecond, MaxRetries: 3, FailureThreshold: 2, ProbeInterval: 5 * time.Millisecond}
	p, err := NewPool(cfg, zap.New(core))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if _, err := p.Complete(context.Background(), CompletionRequest{Prompt: "ok"}); err != nil {
		t.Fatalf("with the key: %v", err)
	}
	_, err = p.Complete(context.Background(), CompletionRequest{Prompt: "fail"})
	if err == nil {
		t.Fatal("a failing request succeeded")
	}
	var all bytes.Buffer
	for _, e := range logs.All() {
		all.WriteString(e.Message)
		for k, v := range e.ContextMap() {
			all.WriteString(k)
			all.WriteString(strings.ReplaceAll(strings.ReplaceAll(toString(v), "\n", " "), "\t", " "))
		}
	}
	all.WriteString(err.Error())
	if strings.Contains(all.String(), key) {
		t.Errorf("the API key appears in logs or errors: %s", all.String())
	}
	if logs.Len() == 0 {
		t.Error("nothing was logged: the check above proves nothing")
	}
	t.Setenv("TABLER1_TEST_KEY", "")
	if _, err := NewPool(cfg, nil); err == nil || !strings.Contains(err.Error(), "TABLER1_TEST_KEY") {
		t.Errorf("empty key variable: err = %v", err)
	}
}

func toString(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	if e, ok := v.(error); ok {
		return e.Error()
	}
	return ""
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  PoolConfig
		want string
	}{
		{"no endpoints", PoolConfig{Model: "m"}, "no endpoints"},
		{"no model", PoolConfig{Endpoints: []EndpointConfig{{URL: "http://127.0.0.1:1/v1"}}}, "model is empty"},
		{"bad url", PoolConfig{Model: "m", Endpoints: []EndpointConfig{{URL: "ftp://x"}}}, "not an http(s) URL"},
		{"dup", PoolConfig{Model: "m", Endpoints: []EndpointConfig{{URL: "http://a/v1"}, {URL: "http://a/v1"}}}, "twice"},
		{"server", PoolConfig{Model: "m", Endpoints: []EndpointConfig{{URL: "http://a/v1", Server: "tgi"}}}, `server "tgi" unknown`},
		{"retries", PoolConfig{Model: "m", Endpoints: []EndpointConfig{{URL: "http://a/v1"}}, MaxRetries: -1}, "max_retries"},
		{"stall", PoolConfig{Model: "m", Endpoints: []EndpointConfig{{URL: "http://a/v1"}}, StallTimeout: time.Second, RequestTimeout: time.Minute}, "stall_timeout"},
	}
	for _, tc := range tests {
		_, err := NewPool(tc.cfg, nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want one mentioning %q", tc.name, err, tc.want)
		}
	}
}

// Every kind of fault is retried until an answer comes.
func TestRetriesEveryFault(t *testing.T) {
	for _, f := range openaitest.AllFaults {
		t.Run(string(f), func(t *testing.T) {
			var calls atomic.Int64
			srv := openaitest.NewServer(openaitest.Config{FaultFor: func(openaitest.Request) openaitest.Fault {
				if calls.Add(1) <= 2 {
					return f
				}
				return openaitest.FaultNone
			}})
			defer srv.Close()
			p := fastPool(t, PoolConfig{Endpoints: endpoints(srv), RequestTimeout: time.Second, FailureThreshold: 10})
			cs, err := p.Complete(context.Background(), CompletionRequest{Prompt: "q", Sampling: Sampling{N: 2}, TokenData: true})
			if err != nil {
				t.Fatalf("after two %s faults: %v", f, err)
			}
			if len(cs) != 2 || cs[0].Attempts != 3 {
				t.Errorf("got %d completions after %d attempts, want 2 after 3", len(cs), cs[0].Attempts)
			}
		})
	}
}

func TestRetriesExhaustedAndNotRetried(t *testing.T) {
	srv := openaitest.NewServer(openaitest.Config{FaultRate: 1, FaultKinds: []openaitest.Fault{openaitest.Fault500}})
	defer srv.Close()
	p := fastPool(t, PoolConfig{Endpoints: endpoints(srv), MaxRetries: 2, FailureThreshold: 100})
	_, err := p.Complete(context.Background(), CompletionRequest{Prompt: "q"})
	var re *RequestError
	if !errors.As(err, &re) || re.Attempts != 3 || srv.Stats().Requests != 3 {
		t.Errorf("err = %v (attempts %v), server saw %d requests; want a RequestError after 3", err, re, srv.Stats().Requests)
	}
	// A 4xx is the request's fault: not retried.
	bad := openaitest.NewServer(openaitest.Config{APIKey: "k"})
	defer bad.Close()
	p2 := fastPool(t, PoolConfig{Endpoints: endpoints(bad)})
	_, err = p2.Complete(context.Background(), CompletionRequest{Prompt: "q"})
	if !errors.As(err, &re) || re.Attempts != 1 || !strings.Contains(err.Error(), "401") {
		t.Errorf("401: err = %v; want one attempt", err)
	}
}

func TestLeastOutstandingAcrossEndpoints(t *testing.T) {
	a := openaitest.NewServer(openaitest.Config{Latency: 5 * time.Millisecond})
	b := openaitest.NewServer(openaitest.Config{Latency: 5 * time.Millisecond})
	defer a.Close()
	defer b.Close()
	p := fastPool(t, PoolConfig{Endpoints: []EndpointConfig{{URL: a.URL, MaxConcurrency: 4}, {URL: b.URL, MaxConcurrency: 4}}, MaxConcurrency: 6})
	var wg sync.WaitGroup
	for range 60 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := p.Complete(context.Background(), CompletionRequest{Prompt: "q"}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	sa, sb := a.Stats(), b.Stats()
	if sa.Answered == 0 || sb.Answered == 0 {
		t.Errorf("one endpoint got nothing: %d and %d", sa.Answered, sb.Answered)
	}
	if sa.MaxInFlight > 4 || sb.MaxInFlight > 4 || sa.MaxInFlight+sb.MaxInFlight > 8 {
		t.Errorf("per-endpoint bound broken: %d and %d in flight", sa.MaxInFlight, sb.MaxInFlight)
	}
	st := p.Status()
	if len(st) != 2 || st[0].Served+st[1].Served != 60 || st[0].InFlight != 0 {
		t.Errorf("status %+v", st)
	}
}

func TestGlobalConcurrencyBound(t *testing.T) {
	srv := openaitest.NewServer(openaitest.Config{Latency: 5 * time.Millisecond})
	defer srv.Close()
	p := fastPool(t, PoolConfig{Endpoints: []EndpointConfig{{URL: srv.URL, MaxConcurrency: 100}}, MaxConcurrency: 3})
	var wg sync.WaitGroup
	for range 30 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _ = p.Complete(context.Background(), CompletionRequest{Prompt: "q"})
		}()
	}
	wg.Wait()
	if m := srv.Stats().MaxInFlight; m > 3 || m == 0 {
		t.Errorf("server saw %d requests at once, want 1..3", m)
	}
}

// A down endpoint gets no requests until a probe finds it back.
func TestHealthDownAndBack(t *testing.T) {
	a := openaitest.NewServer(openaitest.Config{})
	b := openaitest.NewServer(openaitest.Config{})
	defer a.Close()
	defer b.Close()
	a.SetDown(true)
	p := fastPool(t, PoolConfig{Endpoints: endpoints(a, b), FailureThreshold: 2, ProbeInterval: time.Hour})
	for range 10 {
		if _, err := p.Complete(context.Background(), CompletionRequest{Prompt: "q"}); err != nil {
			t.Fatal(err)
		}
	}
	if got := a.Stats().Requests; got != 2 {
		t.Errorf("down endpoint got %d requests, want exactly the 2 that marked it down", got)
	}
	if st := p.Status(); st[0].Up || !st[1].Up {
		t.Fatalf("status %+v, want a down and b up", st)
	}
	a.SetDown(false)
	p.probeOnce()
	if st := p.Status(); !st[0].Up {
		t.Fatalf("a still down after a good probe: %+v", st)
	}
}

// With every endpoint down, the pool fails loudly after stall_timeout.
func TestStallFailsLoudly(t *testing.T) {
	srv := openaitest.NewServer(openaitest.Config{})
	defer srv.Close()
	srv.SetDown(true)
	p := fastPool(t, PoolConfig{Endpoints: endpoints(srv), FailureThreshold: 1, MaxRetries: 1000, StallTimeout: 150 * time.Millisecond, RequestTimeout: 100 * time.Millisecond})
	done := make(chan error, 4)
	for range 4 {
		go func() {
			_, err := p.Complete(context.Background(), CompletionRequest{Prompt: "q"})
			done <- err
		}()
	}
	for range 4 {
		select {
		case err := <-done:
			var st *StalledError
			if !errors.As(err, &st) || !strings.Contains(err.Error(), srv.URL) || !strings.Contains(err.Error(), "stall_timeout") {
				t.Errorf("err = %v, want a StalledError naming the endpoint", err)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("requests hung with every endpoint down")
		}
	}
	if p.Err() == nil {
		t.Error("Err() is nil after a stall")
	}
	if _, err := p.Complete(context.Background(), CompletionRequest{Prompt: "q"}); err == nil {
		t.Error("a stalled pool served a request")
	}
}

// An idle pool does not stall: the clock runs only while requests wait.
func TestIdlePoolDoesNotStall(t *testing.T) {
	srv := openaitest.NewServer(openaitest.Config{})
	defer srv.Close()
	p := fastPool(t, PoolConfig{Endpoints: endpoints(srv), StallTimeout: 500 * time.Millisecond, RequestTimeout: 500 * time.Millisecond})
	time.Sleep(600 * time.Millisecond) // idle longer than stall_timeout
	if _, err := p.Complete(context.Background(), CompletionRequest{Prompt: "q"}); err != nil {
		t.Fatalf("after an idle spell: %v", err)
	}
}

func TestHungRequestHitsDeadline(t *testing.T) {
	srv := openaitest.NewServer(openaitest.Config{FaultRate: 1, FaultKinds: []openaitest.Fault{openaitest.FaultHang}})
	defer srv.Close()
	p := fastPool(t, PoolConfig{Endpoints: endpoints(srv), RequestTimeout: 50 * time.Millisecond, MaxRetries: 1, FailureThreshold: 100})
	_, err := p.Complete(context.Background(), CompletionRequest{Prompt: "q"})
	if err == nil || !strings.Contains(err.Error(), "request_timeout") {
		t.Errorf("err = %v, want one naming request_timeout", err)
	}
}

func TestCallerCancel(t *testing.T) {
	srv := openaitest.NewServer(openaitest.Config{FaultRate: 1, FaultKinds: []openaitest.Fault{openaitest.FaultHang}})
	defer srv.Close()
	p := fastPool(t, PoolConfig{Endpoints: endpoints(srv)})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	_, err := p.Complete(ctx, CompletionRequest{Prompt: "q"})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want the caller's deadline", err)
	}
	if st := p.Status(); st[0].Fails != 0 {
		t.Errorf("the caller's cancellation counted against the endpoint: %+v", st)
	}
}

func TestSpliceMembers(t *testing.T) {
	tests := []struct{ obj, members, want string }{
		{`{"a":1}`, `"b":2`, `{"a":1,"b":2}`},
		{`{}`, `"b":2`, `{"b":2}`},
		{"{\"a\":1}\n", `"b":2`, "{\"a\":1,\"b\":2}\n"},
	}
	for _, tc := range tests {
		got, err := spliceMembers([]byte(tc.obj), []byte(tc.members))
		if err != nil || string(got) != tc.want {
			t.Errorf("spliceMembers(%q, %q) = %q, %v; want %q", tc.obj, tc.members, got, err, tc.want)
		}
	}
	if _, err := spliceMembers([]byte(`[1]`), []byte(`"b":2`)); err == nil {
		t.Error("a non-object body was accepted")
	}
}

// The config structs decode from YAML under their documented names.
func TestConfigYAML(t *testing.T) {
	src := `
model: qwen
api_key_env: VLLM_KEY
max_concurrency: 64
request_timeout: 90s
max_retries: 6
retry_backoff: 250ms
stall_timeout: 5m
endpoints:
  - url: http://10.0.0.1:8000/v1
    server: sglang
    max_concurrency: 32
    weight: 2
group:
  group_size: 16
  paradigm_policy: split
  program_samples: 12
sampling:
  n: 4
  temperature: 0.8
  top_p: 0.95
  max_tokens: 1024
  stop: ["</answer>"]
  seed: 3
templates:
  preview_rows: 5
  dir: prompts
`
	var cfg struct {
		PoolConfig `yaml:",inline"`
		Group      GroupConfig    `yaml:"group"`
		Sampling   Sampling       `yaml:"sampling"`
		Templates  TemplateConfig `yaml:"templates"`
	}
	if err := yaml.Unmarshal([]byte(src), &cfg); err != nil {
		t.Fatal(err)
	}
	p := cfg.PoolConfig
	if p.Model != "qwen" || p.APIKeyEnv != "VLLM_KEY" || p.MaxConcurrency != 64 || p.RequestTimeout != 90*time.Second ||
		p.MaxRetries != 6 || p.RetryBackoff != 250*time.Millisecond || p.StallTimeout != 5*time.Minute ||
		len(p.Endpoints) != 1 || p.Endpoints[0].Server != ServerSGLang || p.Endpoints[0].MaxConcurrency != 32 || p.Endpoints[0].Weight != 2 {
		t.Errorf("pool config %+v", p)
	}
	if d := p.WithDefaults(); d.Endpoints[0].APIKeyEnv != "VLLM_KEY" || d.FailureThreshold != 3 || d.Validate() != nil {
		t.Errorf("defaults %+v: %v", d, d.Validate())
	}
	if g := cfg.Group; g.Size != 16 || g.Policy != PolicySplit || g.ProgramSamples != 12 {
		t.Errorf("group %+v", g)
	}
	if s := cfg.Sampling; s.N != 4 || s.Temperature != 0.8 || s.TopP != 0.95 || s.MaxTokens != 1024 || len(s.Stop) != 1 || s.Seed == nil || *s.Seed != 3 {
		t.Errorf("sampling %+v", s)
	}
	if cfg.Templates.PreviewRows != 5 || cfg.Templates.Dir != "prompts" {
		t.Errorf("templates %+v", cfg.Templates)
	}
}

// Check names every endpoint that does not answer GET /v1/models, within
// its timeout, and passes when all answer.
func TestCheckNamesDeadEndpoints(t *testing.T) {
	up := openaitest.NewServer(openaitest.Config{})
	defer up.Close()
	down := openaitest.NewServer(openaitest.Config{})
	down.SetDown(true)
	defer down.Close()
	gone := openaitest.NewServer(openaitest.Config{})
	gone.Close()
	p := fastPool(t, PoolConfig{Endpoints: endpoints(up)})
	if err := p.Check(context.Background(), time.Second); err != nil {
		t.Errorf("Check of a live endpoint: %v", err)
	}
	p = fastPool(t, PoolConfig{Endpoints: endpoints(up, down, gone)})
	start := time.Now()
	err := p.Check(context.Background(), 2*time.Second)
	if err == nil {
		t.Fatal("Check passed with two dead endpoints")
	}
	for _, want := range []string{down.URL, gone.URL} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Check error %q does not name %s", err, want)
		}
	}
	if strings.Contains(err.Error(), up.URL+" ") {
		t.Errorf("Check error %q names the live endpoint", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("Check took %v", took)
	}
}
