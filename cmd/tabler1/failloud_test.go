package main

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// refusingServer is an OpenAI-compatible server that lists its model and
// refuses (HTTP 400, as for a prompt over the context) the completion
// requests for which refuse returns true; it answers the others
// "Answer: entailed".
func refusingServer(t *testing.T, refuse func(prompt string) bool) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/v1/models":
			io.WriteString(w, `{"object":"list","data":[{"id":"m","object":"model","created":0,"owned_by":"test"}]}`)
		case "/v1/completions", "/v1/chat/completions":
			var req struct {
				Prompt   string `json:"prompt"`
				Messages []struct {
					Content string `json:"content"`
				} `json:"messages"`
			}
			_ = json.NewDecoder(r.Body).Decode(&req)
			if len(req.Messages) > 0 {
				req.Prompt = req.Messages[0].Content
			}
			if refuse(req.Prompt) {
				w.WriteHeader(http.StatusBadRequest)
				io.WriteString(w, `{"error":{"message":"the prompt is too long","type":"invalid_request_error","param":"prompt","code":null}}`)
				return
			}
			if r.URL.Path == "/v1/chat/completions" {
				io.WriteString(w, `{"id":"c","object":"chat.completion","created":0,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"Answer: entailed"},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}`)
				return
			}
			io.WriteString(w, `{"id":"c","object":"text_completion","created":0,"model":"m","choices":[{"index":0,"text":"Answer: entailed","finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}`)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// someRefused refuses about a third of the prompts, the same ones every run.
func someRefused(prompt string) bool {
	h := fnv.New32a()
	h.Write([]byte(prompt))
	return h.Sum32()%3 == 0
}

// tabler1 eval fails loudly: a dead endpoint within seconds, naming it;
// every request refused, or more than --max-failed-requests of them, exits
// 1 after writing the report, with the count on the CLI line and in
// report.json.
func TestEvalFailsLoudly(t *testing.T) {
	d := sharedDataDir(t)
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL + "/v1"
	dead.Close()
	all := refusingServer(t, func(string) bool { return true })
	some := refusingServer(t, someRefused)
	tests := []struct {
		name     string
		url      string
		extra    []string
		code     int
		stderr   string
		failedOf string // the CLI line's count, "" when no report
	}{
		{"dead endpoint", deadURL, nil, 1, deadURL, ""},
		{"every request refused", all.URL + "/v1", nil, 1, "30 of 30 requests failed", "failed requests 30/30"},
		{"a third refused, default threshold", some.URL + "/v1", nil, 1, "requests failed", "failed requests "},
		{"a third refused, threshold raised", some.URL + "/v1", []string{"--max-failed-requests", "0.6"}, 0, "", "failed requests "},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := t.TempDir()
			args := append([]string{"eval", "--endpoint", tc.url, "--model", "m", "--server", "openai", "--bench", "tabfact",
				"--data", filepath.Join(d, "tabfact.dev.jsonl"), "--mode", "text", "--limit", "30", "--seed", "2", "--out", out}, tc.extra...)
			start := time.Now()
			code, stdout, stderr := runCmd(t, args...)
			if took := time.Since(start); took > 30*time.Second {
				t.Errorf("took %v", took)
			}
			if code != tc.code || !strings.Contains(stderr, tc.stderr) {
				t.Fatalf("exit %d, stderr %q; want exit %d and %q", code, stderr, tc.code, tc.stderr)
			}
			if tc.failedOf == "" {
				if _, err := os.Stat(filepath.Join(out, "report.json")); err == nil {
					t.Error("a report was written for a dead endpoint")
				}
				return
			}
			if !strings.Contains(stdout, tc.failedOf) {
				t.Errorf("stdout %q lacks %q", stdout, tc.failedOf)
			}
			var rep struct {
				Benchmarks []struct {
					FailedRequests int `json:"failed_requests"`
					Samples        int `json:"samples"`
				} `json:"benchmarks"`
			}
			b, err := os.ReadFile(filepath.Join(out, "report.json"))
			if err != nil || json.Unmarshal(b, &rep) != nil || len(rep.Benchmarks) != 1 {
				t.Fatalf("report.json: %v", err)
			}
			br := rep.Benchmarks[0]
			if line := fmt.Sprintf("failed requests %d/%d", br.FailedRequests, br.Samples); !strings.Contains(stdout, line) || br.FailedRequests == 0 {
				t.Errorf("report.json counts %d failed of %d; stdout %q", br.FailedRequests, br.Samples, stdout)
			}
		})
	}
}

// tabler1 distill fails loudly too: a dead teacher before any request, and
// a teacher that refuses every request exits 1 with the count, after
// printing its statistics.
func TestDistillFailsLoudly(t *testing.T) {
	d := sharedDataDir(t)
	distillNeedsPandas(t)
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL + "/v1"
	dead.Close()
	all := refusingServer(t, func(string) bool { return true })
	for _, tc := range []struct {
		url, stderr, stdout string
	}{
		{deadURL, deadURL, ""},
		{all.URL + "/v1", "5 of 5 requests failed", `"failed_requests":5`},
	} {
		out := filepath.Join(t.TempDir(), "sft.jsonl")
		code, stdout, stderr := runCmd(t, "distill", "--endpoint", tc.url, "--model", "m", "--bench", "wtq", "--data", filepath.Join(d, "wtq.dev.jsonl"),
			"--limit", "5", "--sandbox-workers", "1", "--out", out)
		if code != 1 || !strings.Contains(stderr, tc.stderr) || !strings.Contains(stdout, tc.stdout) {
			t.Errorf("distill against %s: exit %d, stdout %q, stderr %q; want exit 1, %q and %q", tc.url, code, stdout, stderr, tc.stdout, tc.stderr)
		}
	}
}
