package embeddedtest

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"tabler1/model"
	"tabler1/model/server"
	"tabler1/rollout"
)

// The round trip of token data against the embedded model's server: the
// ids the pool returns are the server's tokenization of the prompt and of
// the completion, and the logprobs are the model's own scores of them.
func TestEmbeddedServerRoundTrip(t *testing.T) {
	m, err := model.New(model.Config{Layers: 1, Width: 16, Heads: 2, MLP: 32, Context: 128}, 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("TABLER1_TEST_EMBEDDED_KEY", "k")
	s, err := server.New(server.Config{ModelName: "tiny", APIKey: "k"}, m)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s)
	defer hs.Close()
	p, err := rollout.NewPool(rollout.PoolConfig{Endpoints: []rollout.EndpointConfig{{URL: hs.URL + "/v1", Server: rollout.ServerEmbedded}},
		Model: "tiny", APIKeyEnv: "TABLER1_TEST_EMBEDDED_KEY", RequestTimeout: 30 * time.Second}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	seed := 5
	const prompt = "Q: how many rows?\nA:"
	cs, err := p.Complete(context.Background(), rollout.CompletionRequest{Prompt: prompt, TokenData: true, Sampling: rollout.Sampling{N: 3, Temperature: 1, MaxTokens: 10, Seed: &seed}})
	if err != nil {
		t.Fatal(err)
	}
	// The prompt ids agree with /tokenize.
	body, _ := json.Marshal(map[string]any{"model": "tiny", "prompt": prompt})
	req, _ := http.NewRequest(http.MethodPost, hs.URL+"/tokenize", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer k")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		Tokens []int `json:"tokens"`
	}
	err = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range cs {
		if !equalInts(c.PromptTokenIDs, tok.Tokens) {
			t.Errorf("choice %d: prompt ids %v, /tokenize %v", i, c.PromptTokenIDs, tok.Tokens)
		}
		if len(c.TokenIDs) == 0 || len(c.Logprobs) != len(c.TokenIDs) {
			t.Fatalf("choice %d: %d ids, %d logprobs", i, len(c.TokenIDs), len(c.Logprobs))
		}
		want, err := m.Score(c.PromptTokenIDs, c.TokenIDs)
		if err != nil {
			t.Fatal(err)
		}
		for k := range want {
			if math.Abs(want[k]-c.Logprobs[k]) > 1e-6 {
				t.Fatalf("choice %d token %d: logprob %v, model score %v", i, k, c.Logprobs[k], want[k])
			}
		}
	}
	chat, err := p.Chat(context.Background(), rollout.ChatRequest{Messages: []rollout.ChatMessage{{Role: "user", Content: "hi"}}, TokenData: true, Sampling: rollout.Sampling{N: 2, Temperature: 1, MaxTokens: 6}})
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range chat {
		if len(c.PromptTokenIDs) == 0 || len(c.TokenIDs) == 0 || len(c.Logprobs) != len(c.TokenIDs) {
			t.Errorf("chat choice %d lacks token data: %+v", i, c)
		}
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
