// Package rolloutbench measures the rollout package's endpoint pool
// against a bare net/http client (tabler1 bench rollout): both send the
// same requests to an in-process load target that answers at the least
// cost a server can have, so that the clients' costs dominate.
package rolloutbench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"tabler1/rollout"
)

// BenchConfig sizes the rollout benchmark. Zero fields take defaults.
type BenchConfig struct {
	InFlight int           // requests in flight (default 256)
	Duration time.Duration // per measured phase (default 1s); each client runs four phases, interleaved
	N        int           // completions per request (default 1)
	Tokens   int           // tokens per completion (default 32)
	Seed     uint64
}

// BenchResult is what the benchmark measured. CPU figures are of the whole
// process, which also runs the fake server: the difference between the two
// is what the pool's client costs over a bare net/http client.
type BenchResult struct {
	CompletionsPerS     float64 `json:"completions_per_s"`
	BareCompletionsPerS float64 `json:"bare_completions_per_s"`
	Ratio               float64 `json:"ratio"`
	InFlight            int     `json:"in_flight"`
	N                   int     `json:"n"`
	Tokens              int     `json:"tokens_per_completion"`
	CPUPerRequestUS     float64 `json:"cpu_per_request_us"`
	BareCPUPerRequestUS float64 `json:"bare_cpu_per_request_us"`
	ClientOverheadUS    float64 `json:"client_overhead_cpu_us"`
	Requests            int64   `json:"requests"`
	BareRequests        int64   `json:"bare_requests"`
	Errors              int64   `json:"errors"`
}

// Bench measures the pool against a fake server (token data on, as in
// training) next to a bare net/http client sending the same requests and
// decoding the same answers, in the same process.
func Bench(ctx context.Context, cfg BenchConfig) (BenchResult, error) {
	if cfg.InFlight <= 0 {
		cfg.InFlight = 256
	}
	if cfg.Duration <= 0 {
		cfg.Duration = time.Second
	}
	cfg.N = max(cfg.N, 1)
	if cfg.Tokens <= 0 {
		cfg.Tokens = 32
	}
	text := strings.Repeat("x", cfg.Tokens-1) + "\n"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return BenchResult{}, fmt.Errorf("rolloutbench: listening for the load target: %w", err)
	}
	srv := &http.Server{Handler: target(text), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	url := "http://" + ln.Addr().String() + "/v1"
	pool, err := rollout.NewPool(rollout.PoolConfig{
		Endpoints:      []rollout.EndpointConfig{{URL: url, MaxConcurrency: cfg.InFlight}},
		Model:          "fake-model",
		MaxConcurrency: cfg.InFlight,
		Seed:           cfg.Seed,
	}, nil)
	if err != nil {
		return BenchResult{}, err
	}
	defer pool.Close()
	bare := newBareClient(url, cfg.InFlight)
	prompt := "Question: how many rows does the table have?\nAnswer:"
	req := rollout.CompletionRequest{Prompt: prompt, Sampling: rollout.Sampling{N: cfg.N, Temperature: 1, MaxTokens: cfg.Tokens}, TokenData: true}
	var errs atomic.Int64
	poolCall := func(ctx context.Context) bool {
		cs, err := pool.Complete(ctx, req)
		if err != nil || len(cs) != cfg.N || len(cs[0].TokenIDs) != cfg.Tokens {
			if ctx.Err() == nil {
				errs.Add(1)
			}
			return false
		}
		return true
	}
	bareCall := func(ctx context.Context) bool {
		ok, err := bare.complete(ctx, prompt, cfg.N, cfg.Tokens)
		if err != nil || !ok {
			if ctx.Err() == nil {
				errs.Add(1)
			}
			return false
		}
		return true
	}
	// Warm both clients' connection pools, then interleave phases so that
	// drift in the machine's load hits both alike.
	for _, f := range []func(context.Context) bool{bareCall, poolCall} {
		if _, _, err := phase(ctx, cfg.InFlight, 200*time.Millisecond, f); err != nil {
			return BenchResult{}, err
		}
	}
	var pr, br int64
	var pcpu, bcpu, pt, bt time.Duration
	for round := 0; round < 4; round++ {
		n, c, err := phase(ctx, cfg.InFlight, cfg.Duration, bareCall)
		if err != nil {
			return BenchResult{}, err
		}
		br, bcpu, bt = br+n, bcpu+c, bt+cfg.Duration
		n, c, err = phase(ctx, cfg.InFlight, cfg.Duration, poolCall)
		if err != nil {
			return BenchResult{}, err
		}
		pr, pcpu, pt = pr+n, pcpu+c, pt+cfg.Duration
	}
	res := BenchResult{
		InFlight: cfg.InFlight, N: cfg.N, Tokens: cfg.Tokens,
		Requests: pr, BareRequests: br, Errors: errs.Load(),
		CompletionsPerS:     float64(pr*int64(cfg.N)) / pt.Seconds(),
		BareCompletionsPerS: float64(br*int64(cfg.N)) / bt.Seconds(),
	}
	if res.BareCompletionsPerS > 0 {
		res.Ratio = res.CompletionsPerS / res.BareCompletionsPerS
	}
	if pr > 0 {
		res.CPUPerRequestUS = float64(pcpu.Microseconds()) / float64(pr)
	}
	if br > 0 {
		res.BareCPUPerRequestUS = float64(bcpu.Microseconds()) / float64(br)
	}
	res.ClientOverheadUS = res.CPUPerRequestUS - res.BareCPUPerRequestUS
	if res.Errors > 0 {
		return res, fmt.Errorf("rollout bench: %d requests failed against a fault-free fake server", res.Errors)
	}
	return res, nil
}

// phase keeps inFlight calls going for d and counts those that succeeded,
// with the process CPU time spent.
func phase(ctx context.Context, inFlight int, d time.Duration, call func(context.Context) bool) (int64, time.Duration, error) {
	pctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var done atomic.Int64
	var wg sync.WaitGroup
	cpu0 := processCPU()
	for range inFlight {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for pctx.Err() == nil {
				if call(pctx) {
					done.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	cpu := processCPU() - cpu0
	return done.Load(), cpu, ctx.Err()
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// bareClient is the limit the pool is measured against: net/http and
// encoding/json, sending the same request and decoding the same fields.
type bareClient struct {
	url string
	hc  *http.Client
}

func newBareClient(base string, conns int) *bareClient {
	return &bareClient{url: base + "/completions", hc: &http.Client{Transport: &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
		MaxIdleConnsPerHost: conns,
		DisableCompression:  true,
	}}}
}

type bareRequest struct {
	Model                  string  `json:"model"`
	Prompt                 string  `json:"prompt"`
	N                      int     `json:"n"`
	MaxTokens              int     `json:"max_tokens"`
	Temperature            float64 `json:"temperature"`
	Logprobs               int     `json:"logprobs"`
	ReturnTokensAsTokenIDs bool    `json:"return_tokens_as_token_ids"`
	ReturnTokenIDs         bool    `json:"return_token_ids"`
}

// bareResponse is what a plain client would decode, and what the load
// target sends: the text, the finish reason and the token data, as vLLM
// sends them.
type bareResponse struct {
	Choices []bareChoice `json:"choices"`
}

type bareChoice struct {
	Index          int    `json:"index"`
	Text           string `json:"text"`
	FinishReason   string `json:"finish_reason"`
	TokenIDs       []int  `json:"token_ids"`
	PromptTokenIDs []int  `json:"prompt_token_ids"`
	Logprobs       *struct {
		Tokens        []string  `json:"tokens"`
		TokenLogprobs []float64 `json:"token_logprobs"`
	} `json:"logprobs"`
}

// target is the load target: every request to /v1/completions gets n
// completions of text, one token per byte, with vLLM's token data.
func target(text string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req bareRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		ch := bareChoice{Text: text, FinishReason: "length", TokenIDs: make([]int, len(text)), PromptTokenIDs: make([]int, len(req.Prompt))}
		ch.Logprobs = &struct {
			Tokens        []string  `json:"tokens"`
			TokenLogprobs []float64 `json:"token_logprobs"`
		}{Tokens: make([]string, len(text)), TokenLogprobs: make([]float64, len(text))}
		for i := range text {
			ch.TokenIDs[i], ch.Logprobs.Tokens[i], ch.Logprobs.TokenLogprobs[i] = int(text[i]), text[i:i+1], -0.5
		}
		for i := range req.Prompt {
			ch.PromptTokenIDs[i] = int(req.Prompt[i])
		}
		resp := bareResponse{Choices: make([]bareChoice, max(req.N, 1))}
		for i := range resp.Choices {
			resp.Choices[i] = ch
			resp.Choices[i].Index = i
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(resp)
	})
}

func (b *bareClient) complete(ctx context.Context, prompt string, n, tokens int) (bool, error) {
	body, err := json.Marshal(bareRequest{Model: "fake-model", Prompt: prompt, N: n, MaxTokens: tokens, Temperature: 1, Logprobs: 1, ReturnTokensAsTokenIDs: true, ReturnTokenIDs: true})
	if err != nil {
		return false, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, b.url, bytes.NewReader(body))
	if err != nil {
		return false, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := b.hc.Do(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		return false, err
	}
	var r bareResponse
	if err := json.Unmarshal(raw, &r); err != nil {
		return false, err
	}
	return len(r.Choices) == n && len(r.Choices[0].TokenIDs) == tokens, nil
}
