package server

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	openai "github.com/sashabaranov/go-openai"
)

// readSSE reads a server-sent events body: the data of each event, up to
// and including [DONE].
func readSSE(t *testing.T, r io.Reader) []string {
	t.Helper()
	var out []string
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			continue
		}
		data, ok := strings.CutPrefix(line, "data: ")
		if !ok {
			t.Fatalf("not an SSE data line: %q", line)
		}
		out = append(out, data)
	}
	return out
}

// A streamed response carries, per choice, the same text, finish reason and
// (in the last chunk, when asked) usage as the non-streamed one with the
// same seed, then data: [DONE].
func TestStreamMatchesNonStreamed(t *testing.T) {
	_, hs := newTestServer(t, Config{ModelName: "tiny"})
	msgs := []any{map[string]any{"role": "user", "content": "Say hi"}}
	for _, tc := range []struct {
		name, path string
		body       map[string]any
	}{
		{"completions", "/v1/completions", map[string]any{"model": "tiny", "prompt": "Q: rows?\nA:", "max_tokens": 20, "n": 2, "seed": 3, "temperature": 1}},
		{"chat", "/v1/chat/completions", map[string]any{"model": "tiny", "messages": msgs, "max_tokens": 20, "n": 2, "seed": 3, "temperature": 1}},
	} {
		for _, usage := range []bool{false, true} {
			t.Run(tc.name, func(t *testing.T) {
				_, plain := post(t, hs.URL+tc.path, "", tc.body)
				body := map[string]any{"stream": true}
				for k, v := range tc.body {
					body[k] = v
				}
				if usage {
					body["stream_options"] = map[string]any{"include_usage": true}
				}
				b, _ := json.Marshal(body)
				resp, err := http.Post(hs.URL+tc.path, "application/json", strings.NewReader(string(b)))
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				if ct := resp.Header.Get("Content-Type"); resp.StatusCode != 200 || ct != "text/event-stream" {
					t.Fatalf("status %d, content type %q", resp.StatusCode, ct)
				}
				events := readSSE(t, resp.Body)
				if len(events) == 0 || events[len(events)-1] != "[DONE]" {
					t.Fatalf("stream does not end with [DONE]: %q", events)
				}
				text := map[int]string{}
				finish := map[int]string{}
				var gotUsage map[string]any
				for i, e := range events[:len(events)-1] {
					var c struct {
						Object  string `json:"object"`
						Choices []struct {
							Index        int    `json:"index"`
							Text         string `json:"text"`
							Delta        struct{ Content string }
							FinishReason *string `json:"finish_reason"`
						} `json:"choices"`
						Usage map[string]any `json:"usage"`
					}
					if err := json.Unmarshal([]byte(e), &c); err != nil {
						t.Fatalf("event %d %q: %v", i, e, err)
					}
					if !strings.HasSuffix(c.Object, "chunk") && c.Object != "text_completion" {
						t.Errorf("event %d: object %q", i, c.Object)
					}
					if c.Usage != nil {
						if i != len(events)-2 || len(c.Choices) != 0 {
							t.Errorf("usage in event %d of %d, with %d choices: want it last, alone", i, len(events)-1, len(c.Choices))
						}
						gotUsage = c.Usage
					}
					for _, ch := range c.Choices {
						text[ch.Index] += ch.Text + ch.Delta.Content
						if ch.FinishReason != nil {
							finish[ch.Index] = *ch.FinishReason
						}
					}
				}
				choices := plain["choices"].([]any)
				if len(text) != len(choices) {
					t.Fatalf("streamed %d choices, want %d", len(text), len(choices))
				}
				for i, c := range choices {
					c := c.(map[string]any)
					want, _ := c["text"].(string)
					if m, ok := c["message"].(map[string]any); ok {
						want = m["content"].(string)
					}
					if text[i] != want || finish[i] != c["finish_reason"] {
						t.Errorf("choice %d: streamed %q (%s), want %q (%s)", i, text[i], finish[i], want, c["finish_reason"])
					}
				}
				if usage != (gotUsage != nil) {
					t.Fatalf("include_usage %v, usage chunk %v", usage, gotUsage)
				}
				if usage && gotUsage["total_tokens"] != plain["usage"].(map[string]any)["total_tokens"] {
					t.Errorf("usage %v, want %v", gotUsage, plain["usage"])
				}
			})
		}
	}
}

// go-openai's streaming client reads the stream to io.EOF.
func TestStreamGoOpenAIClient(t *testing.T) {
	_, hs := newTestServer(t, Config{ModelName: "tiny"})
	cfg := openai.DefaultConfig("")
	cfg.BaseURL = hs.URL + "/v1"
	c := openai.NewClientWithConfig(cfg)
	st, err := c.CreateChatCompletionStream(context.Background(), openai.ChatCompletionRequest{Model: "tiny", MaxCompletionTokens: 12,
		Messages: []openai.ChatCompletionMessage{{Role: "user", Content: "hi"}}, StreamOptions: &openai.StreamOptions{IncludeUsage: true}})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var text string
	var usage *openai.Usage
	for {
		r, err := st.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, ch := range r.Choices {
			text += ch.Delta.Content
		}
		if r.Usage != nil {
			usage = r.Usage
		}
	}
	if usage == nil || usage.CompletionTokens == 0 || usage.CompletionTokens < len([]rune(text)) {
		t.Errorf("usage %+v for text %q", usage, text)
	}
}
