package rollout

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	openai "github.com/sashabaranov/go-openai"

	"tabler1/episode"
)

// CompletionRequest is one raw-prompt request to /v1/completions: what
// training uses, since the prompt's tokens are exactly what the policy sees.
type CompletionRequest struct {
	Prompt   string
	Sampling Sampling
	// TokenData asks for prompt and completion token ids and per-token
	// sampler logprobs, and makes their absence an error
	// (*MissingTokenDataError).
	TokenData bool
	// Extra adds request fields the server understands beyond the OpenAI
	// ones (e.g. "top_k", "min_p" for vLLM); they are sent as given.
	Extra map[string]any
}

// ChatMessage is one message of a chat request.
type ChatMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// ChatRequest is one request to /v1/chat/completions, where the server
// applies the model's chat template: for evaluating instruct models.
type ChatRequest struct {
	Messages  []ChatMessage
	Sampling  Sampling
	TokenData bool
	Extra     map[string]any
}

// Complete asks for Sampling.N completions of a raw prompt. It retries as
// configured and returns exactly N completions or an error: a
// *RequestError, a *MissingTokenDataError (inside a *RequestError), a
// *StalledError, or ctx's error.
func (p *Pool) Complete(ctx context.Context, req CompletionRequest) ([]episode.Completion, error) {
	n := max(req.Sampling.N, 1)
	var out []episode.Completion
	var lat time.Duration
	e, attempts, err := p.do(ctx, func(actx context.Context, e *endpoint) error {
		s := req.Sampling
		r := openai.CompletionRequest{
			Model: p.cfg.Model, Prompt: req.Prompt, N: n,
			Temperature: float32(s.Temperature), TopP: float32(s.TopP),
			MaxTokens: s.MaxTokens, Stop: s.Stop, Seed: s.Seed,
		}
		if req.TokenData {
			r.LogProbs = 1
		}
		h := &bodyHook{extra: p.members(e, req.TokenData, s, req.Extra)}
		start := time.Now()
		if _, err := e.client.CreateCompletion(withHook(actx, h), r); err != nil {
			return err
		}
		cs, err := p.finish(actx, e, h.body, false, n, req.TokenData, req.Prompt, nil)
		lat = time.Since(start)
		out = cs
		return err
	})
	return stamp(out, e, lat, attempts), err
}

// Chat is Complete for chat messages, through /v1/chat/completions.
func (p *Pool) Chat(ctx context.Context, req ChatRequest) ([]episode.Completion, error) {
	n := max(req.Sampling.N, 1)
	msgs := make([]openai.ChatCompletionMessage, len(req.Messages))
	for i, m := range req.Messages {
		msgs[i] = openai.ChatCompletionMessage{Role: m.Role, Content: m.Content}
	}
	var out []episode.Completion
	var lat time.Duration
	e, attempts, err := p.do(ctx, func(actx context.Context, e *endpoint) error {
		s := req.Sampling
		r := openai.ChatCompletionRequest{
			Model: p.cfg.Model, Messages: msgs, N: n,
			Temperature: float32(s.Temperature), TopP: float32(s.TopP),
			Stop: s.Stop, Seed: s.Seed, LogProbs: req.TokenData,
		}
		//lint:ignore SA1019 llama.cpp, Ollama and older vLLM read max_tokens, not max_completion_tokens
		r.MaxTokens = s.MaxTokens
		h := &bodyHook{extra: p.members(e, req.TokenData, s, req.Extra)}
		start := time.Now()
		if _, err := e.client.CreateChatCompletion(withHook(actx, h), r); err != nil {
			return err
		}
		cs, err := p.finish(actx, e, h.body, true, n, req.TokenData, "", req.Messages)
		lat = time.Since(start)
		out = cs
		return err
	})
	return stamp(out, e, lat, attempts), err
}

func stamp(cs []episode.Completion, e *endpoint, lat time.Duration, attempts int) []episode.Completion {
	if e == nil {
		return cs
	}
	for i := range cs {
		cs[i].Endpoint, cs[i].Latency, cs[i].Attempts = e.cfg.URL, lat, attempts
	}
	return cs
}

// members builds the JSON members the transport adds to a request.
func (p *Pool) members(e *endpoint, tokenData bool, s Sampling, extra map[string]any) []byte {
	if !tokenData && s.Temperature != 0 && len(extra) == 0 {
		return nil
	}
	var b []byte
	sep := func() {
		if len(b) > 0 {
			b = append(b, ',')
		}
	}
	if tokenData && len(e.extra) > 0 {
		b = append(b, e.extra...)
	}
	if s.Temperature == 0 {
		sep()
		b = append(b, `"temperature":0`...)
	}
	for k, v := range extra {
		vb, err := json.Marshal(v)
		if err != nil {
			continue // validated by the caller's config; an unencodable value is dropped
		}
		kb, _ := json.Marshal(k)
		sep()
		b = append(b, kb...)
		b = append(b, ':')
		b = append(b, vb...)
	}
	return b
}

// finish decodes a kept body, checks the number of choices and the token
// data, and fetches prompt ids from /tokenize where the answer lacks them.
func (p *Pool) finish(ctx context.Context, e *endpoint, body []byte, chat bool, n int, tokenData bool, prompt string, msgs []ChatMessage) ([]episode.Completion, error) {
	if body == nil {
		return nil, fmt.Errorf("%w: no response body kept (transport hook missing)", errMalformed)
	}
	cs, err := decodeChoices(body, chat)
	if err != nil {
		return nil, err
	}
	if len(cs) != n {
		return nil, fmt.Errorf("%w: asked for n=%d completions, got %d", errMalformed, n, len(cs))
	}
	if !tokenData {
		return cs, nil
	}
	if len(cs[0].PromptTokenIDs) == 0 {
		ids, err := p.tokenize(ctx, e, prompt, msgs)
		if err == nil {
			for i := range cs {
				cs[i].PromptTokenIDs = ids
			}
		}
	}
	for i := range cs {
		if miss := checkTokenData(&cs[i]); miss != "" {
			return nil, &MissingTokenDataError{Endpoint: e.cfg.URL, Server: e.cfg.Server, Missing: miss}
		}
	}
	return cs, nil
}

// tokenize asks the server's /tokenize route (vLLM, SGLang, the embedded
// server) for a prompt's token ids.
func (p *Pool) tokenize(ctx context.Context, e *endpoint, prompt string, msgs []ChatMessage) ([]int, error) {
	body := map[string]any{"model": p.cfg.Model}
	if msgs != nil {
		body["messages"] = msgs
		body["add_generation_prompt"] = true
	} else {
		body["prompt"] = prompt
	}
	b, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.root+"/tokenize", bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if e.key != "" {
		req.Header.Set("Authorization", "Bearer "+e.key)
	}
	resp, err := e.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer drain(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("POST %s/tokenize: status %s", e.root, strconv.Itoa(resp.StatusCode))
	}
	var out struct {
		Tokens []int `json:"tokens"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return nil, fmt.Errorf("POST %s/tokenize: %w", e.root, err)
	}
	return out.Tokens, nil
}
