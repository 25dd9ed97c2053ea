package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	openai "github.com/sashabaranov/go-openai"

	"tabler1/model"
)

func testModel(t *testing.T, seed uint64) *model.Model {
	t.Helper()
	m, err := model.New(model.Config{Layers: 2, Width: 16, Heads: 2, MLP: 32, Context: 128}, seed)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func newTestServer(t *testing.T, cfg Config) (*Server, *httptest.Server) {
	t.Helper()
	s, err := New(cfg, testModel(t, 1))
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s)
	t.Cleanup(hs.Close)
	return s, hs
}

func post(t *testing.T, url, key string, body any) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case string:
		rd = strings.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
	}
	req, _ := http.NewRequest(http.MethodPost, url, rd)
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("%s: response is not JSON: %v", url, err)
	}
	return resp.StatusCode, out
}

func TestGoOpenAICompletionLogprobsMatchScore(t *testing.T) {
	s, hs := newTestServer(t, Config{ModelName: "tiny"})
	c := openai.DefaultConfig("unused")
	c.BaseURL = hs.URL + "/v1"
	client := openai.NewClientWithConfig(c)
	ctx := context.Background()
	models, err := client.ListModels(ctx)
	if err != nil || len(models.Models) != 1 || models.Models[0].ID != "tiny" {
		t.Fatalf("models: %+v, %v", models, err)
	}
	seed := 3
	resp, err := client.CreateCompletion(ctx, openai.CompletionRequest{Model: "tiny", Prompt: "Q: 2+2?\nA:", MaxTokens: 12, N: 3, LogProbs: 2, Temperature: 1, Seed: &seed})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Choices) != 3 {
		t.Fatalf("%d choices, want 3", len(resp.Choices))
	}
	// The raw body carries token ids; go-openai drops them, so ask again.
	code, raw := post(t, hs.URL+"/v1/completions", "", map[string]any{
		"model": "tiny", "prompt": "Q: 2+2?\nA:", "max_tokens": 12, "n": 3, "logprobs": 0, "seed": 3,
		"return_tokens_as_token_ids": true, "return_token_ids": true,
	})
	if code != 200 {
		t.Fatalf("status %d: %v", code, raw)
	}
	m := s.current.Load().m
	for i, ch := range raw["choices"].([]any) {
		choice := ch.(map[string]any)
		prompt := toInts(choice["prompt_token_ids"])
		toks := toInts(choice["token_ids"])
		lp := choice["logprobs"].(map[string]any)
		strs := lp["tokens"].([]any)
		lps := lp["token_logprobs"].([]any)
		if len(toks) == 0 || len(strs) != len(toks) || len(lps) != len(toks) {
			t.Fatalf("choice %d: %d ids, %d token strings, %d logprobs", i, len(toks), len(strs), len(lps))
		}
		want, err := m.Score(prompt, toks)
		if err != nil {
			t.Fatal(err)
		}
		for k := range toks {
			if strs[k] != "token_id:"+itoa(toks[k]) {
				t.Fatalf("token string %v for id %d", strs[k], toks[k])
			}
			if got := lps[k].(float64); math.Abs(got-want[k]) > 1e-9 {
				t.Fatalf("choice %d token %d: served logprob %v, model score %v", i, k, got, want[k])
			}
		}
		// Same seed, same request: same tokens as go-openai's call.
		if resp.Choices[i].Text != choice["text"] {
			t.Fatalf("choice %d: seeded requests differ: %q vs %q", i, resp.Choices[i].Text, choice["text"])
		}
	}
	chat, err := client.CreateChatCompletion(ctx, openai.ChatCompletionRequest{Model: "tiny", Messages: []openai.ChatCompletionMessage{{Role: "user", Content: "hi"}}, MaxCompletionTokens: 8, LogProbs: true, TopLogProbs: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(chat.Choices) != 1 || chat.Choices[0].Message.Role != "assistant" || chat.Choices[0].LogProbs == nil || len(chat.Choices[0].LogProbs.Content) == 0 {
		t.Fatalf("chat: %+v", chat)
	}
	if n := len(chat.Choices[0].LogProbs.Content[0].TopLogProbs); n != 2 {
		t.Fatalf("chat top_logprobs: %d, want 2", n)
	}
}

func toInts(v any) []int {
	var out []int
	for _, x := range v.([]any) {
		out = append(out, int(x.(float64)))
	}
	return out
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

func TestValidationErrors(t *testing.T) {
	_, hs := newTestServer(t, Config{ModelName: "tiny", MaxN: 4, MaxCompletions: 6, MaxBodyBytes: 2048})
	long := strings.Repeat("x", 200)
	tests := []struct {
		name   string
		path   string
		body   any
		status int
		param  string
	}{
		{"bad json", "/v1/completions", "{", 400, ""},
		{"wrong model", "/v1/completions", map[string]any{"model": "gpt-4", "prompt": "a"}, 404, "model"},
		{"no prompt", "/v1/completions", map[string]any{"model": "tiny"}, 400, "prompt"},
		{"n too big", "/v1/completions", map[string]any{"model": "tiny", "prompt": "a", "n": 5}, 400, "n"},
		{"too many completions", "/v1/completions", map[string]any{"model": "tiny", "prompt": []string{"a", "b"}, "n": 4}, 400, "n"},
		{"n zero", "/v1/completions", map[string]any{"model": "tiny", "prompt": "a", "n": 0}, 400, "n"},
		{"max_tokens too big", "/v1/completions", map[string]any{"model": "tiny", "prompt": "a", "max_tokens": 100000}, 400, "max_tokens"},
		{"temperature", "/v1/completions", map[string]any{"model": "tiny", "prompt": "a", "temperature": -1}, 400, "temperature"},
		{"top_p", "/v1/completions", map[string]any{"model": "tiny", "prompt": "a", "top_p": 0}, 400, "top_p"},
		{"stream_options without stream", "/v1/completions", map[string]any{"model": "tiny", "prompt": "a", "stream_options": map[string]any{"include_usage": true}}, 400, "stream_options"},
		{"stream with logprobs", "/v1/completions", map[string]any{"model": "tiny", "prompt": "a", "stream": true, "logprobs": 1}, 400, "logprobs"},
		{"chat stream with logprobs", "/v1/chat/completions", map[string]any{"model": "tiny", "messages": []any{map[string]any{"role": "user", "content": "x"}}, "stream": true, "logprobs": true}, 400, "logprobs"},
		{"echo", "/v1/completions", map[string]any{"model": "tiny", "prompt": "a", "echo": true}, 400, "echo"},
		{"logprobs", "/v1/completions", map[string]any{"model": "tiny", "prompt": "a", "logprobs": 99}, 400, "logprobs"},
		{"stop type", "/v1/completions", map[string]any{"model": "tiny", "prompt": "a", "stop": 3}, 400, "stop"},
		{"token out of vocab", "/v1/completions", map[string]any{"model": "tiny", "prompt": []int{1, 9999}}, 400, "prompt"},
		{"prompt too long", "/v1/completions", map[string]any{"model": "tiny", "prompt": long}, 400, "prompt"},
		{"body too large", "/v1/completions", map[string]any{"model": "tiny", "prompt": strings.Repeat("y", 4000)}, 413, ""},
		{"chat no messages", "/v1/chat/completions", map[string]any{"model": "tiny", "messages": []any{}}, 400, "messages"},
		{"chat bad role", "/v1/chat/completions", map[string]any{"model": "tiny", "messages": []any{map[string]any{"role": "wizard", "content": "x"}}}, 400, "messages"},
		{"detokenize bad id", "/detokenize", map[string]any{"tokens": []int{-1}}, 400, "tokens"},
		{"tokenize nothing", "/tokenize", map[string]any{}, 400, "prompt"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, body := post(t, hs.URL+tc.path, "", tc.body)
			if code != tc.status {
				t.Fatalf("status %d, want %d: %v", code, tc.status, body)
			}
			e, ok := body["error"].(map[string]any)
			if !ok || e["message"] == "" || e["type"] == "" {
				t.Fatalf("no OpenAI error body: %v", body)
			}
			if tc.param != "" && e["param"] != tc.param {
				t.Fatalf("param %v, want %q", e["param"], tc.param)
			}
		})
	}
}

func TestUnknownRouteAndMethod(t *testing.T) {
	_, hs := newTestServer(t, Config{ModelName: "tiny"})
	for _, tc := range []struct {
		method, path string
		status       int
	}{
		{http.MethodGet, "/v1/engines", 404},
		{http.MethodGet, "/v1/completions", 405},
		{http.MethodPost, "/v1/models", 405},
	} {
		req, _ := http.NewRequest(tc.method, hs.URL+tc.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body map[string]map[string]any
		err = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != tc.status || err != nil || body["error"]["message"] == "" {
			t.Errorf("%s %s: status %d, body %v (%v)", tc.method, tc.path, resp.StatusCode, body, err)
		}
	}
}

func TestAuth(t *testing.T) {
	_, hs := newTestServer(t, Config{ModelName: "tiny", APIKey: "sekret"})
	for _, key := range []string{"", "wrong", "sekre", "sekrett"} {
		code, body := post(t, hs.URL+"/tokenize", key, map[string]any{"prompt": "a"})
		if code != 401 {
			t.Fatalf("key %q: status %d %v", key, code, body)
		}
	}
	if code, body := post(t, hs.URL+"/tokenize", "sekret", map[string]any{"prompt": "a"}); code != 200 {
		t.Fatalf("right key: %d %v", code, body)
	}
	resp, err := http.Get(hs.URL + "/health")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("health must not need the key: %v %v", resp, err)
	}
	resp.Body.Close()
}

func TestTokenizeDetokenize(t *testing.T) {
	_, hs := newTestServer(t, Config{ModelName: "tiny"})
	code, body := post(t, hs.URL+"/tokenize", "", map[string]any{"model": "tiny", "prompt": "ab<|im_end|>"})
	if code != 200 {
		t.Fatal(code, body)
	}
	toks := toInts(body["tokens"])
	want := []int{model.BOS, 'a', 'b', model.IMEnd}
	if len(toks) != len(want) || body["count"].(float64) != 4 || body["max_model_len"].(float64) != 128 {
		t.Fatalf("tokenize: %v", body)
	}
	for i := range want {
		if toks[i] != want[i] {
			t.Fatalf("tokens %v, want %v", toks, want)
		}
	}
	code, body = post(t, hs.URL+"/detokenize", "", map[string]any{"model": "tiny", "tokens": toks})
	if code != 200 || body["prompt"] != "<|bos|>ab<|im_end|>" {
		t.Fatalf("detokenize: %d %v", code, body)
	}
	code, body = post(t, hs.URL+"/tokenize", "", map[string]any{"messages": []any{map[string]any{"role": "user", "content": "hi"}}})
	if code != 200 || int(body["count"].(float64)) != len(model.ChatPrompt([]model.ChatMessage{{Role: "user", Content: "hi"}})) {
		t.Fatalf("tokenize messages: %d %v", code, body)
	}
}

// TestPublishKeepsRequestsInFlight swaps the model while requests run: every
// request succeeds, and each answer's logprobs are those of exactly one of
// the two models (the one its version header names).
func TestPublishKeepsRequestsInFlight(t *testing.T) {
	s, hs := newTestServer(t, Config{ModelName: "tiny"})
	models := map[string]*model.Model{"1": s.current.Load().m, "2": testModel(t, 2)}
	type answer struct {
		version string
		body    map[string]any
		err     error
	}
	answers := make(chan answer, 16)
	for i := 0; i < 16; i++ {
		go func(i int) {
			j, _ := json.Marshal(map[string]any{"model": "tiny", "prompt": "swap", "max_tokens": 30, "logprobs": 0, "seed": i})
			resp, err := http.Post(hs.URL+"/v1/completions", "application/json", bytes.NewReader(j))
			if err != nil {
				answers <- answer{err: err}
				return
			}
			defer resp.Body.Close()
			var body map[string]any
			err = json.NewDecoder(resp.Body).Decode(&body)
			if resp.StatusCode != 200 {
				err = errors.New(resp.Status)
			}
			answers <- answer{resp.Header.Get("X-Tabler1-Model-Version"), body, err}
		}(i)
		if i == 8 {
			if v, err := s.Publish(models["2"]); err != nil || v != 2 {
				t.Fatalf("publish: %v %v", v, err)
			}
		}
	}
	seen := map[string]int{}
	for i := 0; i < 16; i++ {
		a := <-answers
		if a.err != nil {
			t.Fatal(a.err)
		}
		m := models[a.version]
		if m == nil {
			t.Fatalf("version header %q", a.version)
		}
		seen[a.version]++
		ch := a.body["choices"].([]any)[0].(map[string]any)
		toks := toInts(ch["token_ids"])
		want, _ := m.Score(toInts(ch["prompt_token_ids"]), toks)
		got := ch["logprobs"].(map[string]any)["token_logprobs"].([]any)
		for k := range want {
			if math.Abs(got[k].(float64)-want[k]) > 1e-9 {
				t.Fatalf("version %s: logprob %v, model %v", a.version, got[k], want[k])
			}
		}
	}
	if seen["2"] == 0 {
		t.Fatalf("no request saw the published model: %v", seen)
	}
	if s.Version() != 2 {
		t.Fatalf("version %d", s.Version())
	}
}

func TestStopAndMultiplePrompts(t *testing.T) {
	_, hs := newTestServer(t, Config{ModelName: "tiny"})
	code, body := post(t, hs.URL+"/v1/completions", "", map[string]any{"model": "tiny", "prompt": []string{"a", "b"}, "n": 2, "max_tokens": 5, "stop": []string{"\n"}})
	if code != 200 {
		t.Fatal(code, body)
	}
	chs := body["choices"].([]any)
	if len(chs) != 4 {
		t.Fatalf("%d choices, want 4", len(chs))
	}
	for i, c := range chs {
		ch := c.(map[string]any)
		if int(ch["index"].(float64)) != i || strings.Contains(ch["text"].(string), "\n") {
			t.Fatalf("choice %d: %v", i, ch)
		}
		if ch["logprobs"] != nil {
			t.Fatalf("logprobs returned without being asked for")
		}
	}
	u := body["usage"].(map[string]any)
	if u["prompt_tokens"].(float64) != 4 {
		t.Fatalf("usage %v", u)
	}
}
