package server

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// As the OpenAI API does, a body that is not valid UTF-8 or that has
// anything after its JSON value is a 400, on every JSON route.
func TestRejectsInvalidUTF8AndTrailingData(t *testing.T) {
	_, hs := newTestServer(t, Config{ModelName: "tiny"})
	good := `{"model":"tiny","prompt":"hi","max_tokens":2}`
	tests := []struct {
		name, path, body string
		status           int
	}{
		{"valid", "/v1/completions", good, 200},
		{"trailing white space", "/v1/completions", good + " \n", 200},
		{"invalid UTF-8 in a string", "/v1/completions", `{"model":"tiny","prompt":"h` + "\xff" + `i","max_tokens":2}`, 400},
		{"invalid UTF-8 in chat", "/v1/chat/completions", `{"model":"tiny","messages":[{"role":"user","content":"` + "\xc3\x28" + `"}]}`, 400},
		{"trailing garbage", "/v1/completions", good + `garbage`, 400},
		{"a second object", "/v1/completions", good + good, 400},
		{"trailing garbage on tokenize", "/tokenize", `{"prompt":"a"}]`, 400},
		{"invalid UTF-8 on detokenize", "/detokenize", `{"tokens":[1]}` + "\xff", 400},
	}
	for _, tc := range tests {
		status, body := post(t, hs.URL+tc.path, "", tc.body)
		if status != tc.status {
			t.Errorf("%s: status %d (%v), want %d", tc.name, status, body, tc.status)
		}
		if tc.status == 400 {
			if e, _ := body["error"].(map[string]any); e == nil || e["type"] != "invalid_request_error" {
				t.Errorf("%s: error body %v is not an OpenAI invalid_request_error", tc.name, body)
			}
		}
	}
}

// A generation that runs past WriteTimeout is cancelled and its connection
// closed: a client that never reads cannot hold the server's work or
// buffers for longer than that.
func TestWriteTimeoutEndsSlowRequests(t *testing.T) {
	s, err := New(Config{ModelName: "tiny", WriteTimeout: 100 * time.Millisecond, MaxConcurrent: 1}, testModel(t, 1))
	if err != nil {
		t.Fatal(err)
	}
	// Serve, not httptest: the http.Server's own write deadline is tested.
	addr := serveLoopback(t, s)
	// 4 prompts x 64 completions x 100 tokens: far longer than 100ms.
	body := `{"model":"tiny","prompt":["a","b","c","d"],"n":64,"max_tokens":100,"temperature":1}`
	start := time.Now()
	resp, err := http.Post("http://"+addr+"/v1/completions", "application/json", strings.NewReader(body))
	if err == nil {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Fatalf("a request past the write timeout was answered in full after %v (%d bytes)", time.Since(start), len(b))
		}
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("the connection was held %v past a 100ms write timeout", took)
	}
}

// serveLoopback runs s.Serve on a free loopback port until the test ends
// and returns its address.
func serveLoopback(t *testing.T, s *Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	t.Cleanup(func() { cancel(); <-done })
	return ln.Addr().String()
}
