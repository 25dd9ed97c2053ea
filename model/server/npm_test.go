package server

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestOfficialOpenAINpmClient drives the server with the official `openai`
// npm package, installed by npm into a temporary directory. Without npm
// (or without network access for npm) it skips, unless CI=true.
func TestOfficialOpenAINpmClient(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping the npm client test")
	}
	skipOrFail := func(format string, args ...any) {
		t.Helper()
		if os.Getenv("CI") == "true" {
			t.Fatalf(format, args...)
		}
		t.Skipf(format, args...)
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		skipOrFail("npm not found: install Node.js and npm to run the openai npm client test")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		skipOrFail("node not found")
	}
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	install := exec.CommandContext(ctx, npm, "install", "--no-audit", "--no-fund", "--silent", "--prefix", dir, "openai@4")
	if out, err := install.CombinedOutput(); err != nil {
		skipOrFail("npm install openai failed (no registry access?): %v\n%s", err, out)
	}
	script, err := os.ReadFile(filepath.Join("testdata", "openai_client.mjs"))
	if err != nil {
		t.Fatal(err)
	}
	scriptPath := filepath.Join(dir, "client.mjs")
	if err := os.WriteFile(scriptPath, script, 0o644); err != nil {
		t.Fatal(err)
	}

	m := testModel(t, 5)
	s, err := New(Config{ModelName: "tabler1-test", APIKey: "k-123"}, m)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- s.Serve(sctx, ln) }()
	defer func() {
		stop()
		if err := <-served; err != nil {
			t.Errorf("serve: %v", err)
		}
	}()

	cmd := exec.CommandContext(ctx, node, scriptPath)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "BASE_URL=http://"+ln.Addr().String()+"/v1", "API_KEY=k-123", "MODEL=tabler1-test")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("node client: %v\n%s", err, stderr.String())
	}
	var got struct {
		Models     []string `json:"models"`
		Completion struct {
			Choices []struct {
				Text           string `json:"text"`
				TokenIDs       []int  `json:"token_ids"`
				PromptTokenIDs []int  `json:"prompt_token_ids"`
				Logprobs       struct {
					Tokens        []string  `json:"tokens"`
					TokenLogprobs []float64 `json:"token_logprobs"`
				} `json:"logprobs"`
			} `json:"choices"`
		} `json:"completion"`
		Chat struct {
			Choices []struct {
				Message struct {
					Role    string `json:"role"`
					Content string `json:"content"`
				} `json:"message"`
				TokenIDs []int `json:"token_ids"`
				Logprobs struct {
					Content []struct {
						Logprob     float64 `json:"logprob"`
						TopLogprobs []any   `json:"top_logprobs"`
					} `json:"content"`
				} `json:"logprobs"`
			} `json:"choices"`
			PromptTokenIDs []int `json:"prompt_token_ids"`
		} `json:"chat"`
		ChatStream struct {
			Content string         `json:"content"`
			Finish  string         `json:"finish"`
			Usage   map[string]int `json:"usage"`
			Chunks  int            `json:"chunks"`
		} `json:"chatStream"`
		ChatPlain struct {
			Choices []struct {
				Message      struct{ Content string } `json:"message"`
				FinishReason string                   `json:"finish_reason"`
			} `json:"choices"`
			Usage map[string]int `json:"usage"`
		} `json:"chatPlain"`
		CompletionStream struct {
			Text   string `json:"text"`
			Finish string `json:"finish"`
		} `json:"completionStream"`
		CompletionPlain struct {
			Choices []struct {
				Text         string `json:"text"`
				FinishReason string `json:"finish_reason"`
			} `json:"choices"`
		} `json:"completionPlain"`
		BadRequest   struct{ Status int } `json:"badRequest"`
		Unauthorized struct{ Status int } `json:"unauthorized"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
		t.Fatalf("client output is not JSON: %v\n%s", err, stdout.String())
	}
	if len(got.Models) != 1 || got.Models[0] != "tabler1-test" {
		t.Fatalf("models: %v", got.Models)
	}
	if len(got.Completion.Choices) != 2 {
		t.Fatalf("completion choices: %d", len(got.Completion.Choices))
	}
	for i, ch := range got.Completion.Choices {
		want, err := m.Score(ch.PromptTokenIDs, ch.TokenIDs)
		if err != nil {
			t.Fatal(err)
		}
		if len(ch.TokenIDs) == 0 || len(ch.Logprobs.TokenLogprobs) != len(ch.TokenIDs) || len(ch.Logprobs.Tokens) != len(ch.TokenIDs) {
			t.Fatalf("choice %d: %d ids, %d logprobs", i, len(ch.TokenIDs), len(ch.Logprobs.TokenLogprobs))
		}
		for k := range want {
			if math.Abs(ch.Logprobs.TokenLogprobs[k]-want[k]) > 1e-9 {
				t.Fatalf("choice %d token %d: served %v, scored %v", i, k, ch.Logprobs.TokenLogprobs[k], want[k])
			}
		}
	}
	chat := got.Chat.Choices
	if len(chat) != 1 || chat[0].Message.Role != "assistant" || len(chat[0].Logprobs.Content) != len(chat[0].TokenIDs) {
		t.Fatalf("chat: %+v", got.Chat)
	}
	want, _ := m.Score(got.Chat.PromptTokenIDs, chat[0].TokenIDs)
	for k, c := range chat[0].Logprobs.Content {
		if math.Abs(c.Logprob-want[k]) > 1e-9 || len(c.TopLogprobs) != 2 {
			t.Fatalf("chat token %d: served %v (%d top), scored %v", k, c.Logprob, len(c.TopLogprobs), want[k])
		}
	}
	// Streamed and plain greedy responses agree; usage comes in the last chunk.
	cs, cp := got.ChatStream, got.ChatPlain
	if len(cp.Choices) != 1 || cs.Content != cp.Choices[0].Message.Content || cs.Finish != cp.Choices[0].FinishReason ||
		cs.Chunks < 2 || cs.Usage["total_tokens"] == 0 || cs.Usage["total_tokens"] != cp.Usage["total_tokens"] {
		t.Fatalf("chat stream %+v, plain %+v", cs, cp)
	}
	ps, pp := got.CompletionStream, got.CompletionPlain
	if len(pp.Choices) != 1 || ps.Text != pp.Choices[0].Text || ps.Finish != pp.Choices[0].FinishReason || ps.Finish == "" {
		t.Fatalf("completion stream %+v, plain %+v", ps, pp)
	}
	if got.BadRequest.Status != 400 || got.Unauthorized.Status != 401 {
		t.Fatalf("error statuses: bad request %d, unauthorized %d", got.BadRequest.Status, got.Unauthorized.Status)
	}
}
