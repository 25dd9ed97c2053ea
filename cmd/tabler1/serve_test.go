package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"tabler1/model"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// tabler1 serve loads a checkpoint, answers OpenAI requests with the API key
// from the environment, and exits 0 when interrupted.
func TestServeCommand(t *testing.T) {
	m, err := model.New(model.Config{Layers: 1, Width: 16, Heads: 2, Context: 64}, 1)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := m.Save(dir); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errb bytes.Buffer
	e := &env{stdout: &out, stderr: &errb, getenv: func(k string) string {
		if k == "TABLER1_API_KEY" {
			return "from-env"
		}
		return ""
	}}
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, e, []string{"serve", "--checkpoint", dir, "--addr", addr, "--model-name", "t"})
	}()
	var resp *http.Response
	for i := 0; i < 100; i++ {
		req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/v1/completions", strings.NewReader(`{"model":"t","prompt":"hi","max_tokens":3,"logprobs":0}`))
		req.Header.Set("Authorization", "Bearer from-env")
		resp, err = http.DefaultClient.Do(req)
		if err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("server never answered: %v (stderr %s)", err, errb.String())
	}
	var body struct {
		Choices []struct {
			TokenIDs []int `json:"token_ids"`
		} `json:"choices"`
	}
	if resp.StatusCode != 200 || json.NewDecoder(resp.Body).Decode(&body) != nil || len(body.Choices) != 1 || len(body.Choices[0].TokenIDs) == 0 {
		t.Fatalf("completion: status %d, body %+v", resp.StatusCode, body)
	}
	resp.Body.Close()
	unauth, err := http.Get("http://" + addr + "/v1/models")
	if err != nil || unauth.StatusCode != 401 {
		t.Fatalf("request without the key: %v %v", unauth, err)
	}
	unauth.Body.Close()
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errb.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop after interrupt")
	}
}

func TestServeCommandErrors(t *testing.T) {
	tests := []struct {
		args []string
		code int
		in   string
	}{
		{[]string{"serve"}, 2, "--checkpoint is required"},
		{[]string{"serve", "--checkpoint", "/nonexistent/ckpt"}, 1, "checkpoint directory"},
		{[]string{"bench", "model", "--config", "huge"}, 2, `--config "huge"`},
		{[]string{"serve", "--checkpoint", "/nonexistent/ckpt", "--addr", "0.0.0.0:0"}, 1, "without an API key"},
		{[]string{"serve", "--checkpoint", "/nonexistent/ckpt", "--addr", ":8000"}, 1, "--insecure"},
		{[]string{"serve", "--checkpoint", "/nonexistent/ckpt", "--addr", "0.0.0.0:0", "--insecure"}, 1, "checkpoint directory"},
		{[]string{"serve", "--checkpoint", "/nonexistent/ckpt", "--addr", "0.0.0.0:0", "--api-key", "k"}, 1, "checkpoint directory"},
		{[]string{"serve", "--checkpoint", "/nonexistent/ckpt", "--addr", "[::1]:0"}, 1, "checkpoint directory"},
		{[]string{"serve", "--checkpoint", "/nonexistent/ckpt", "--addr", "localhost:0"}, 1, "checkpoint directory"},
	}
	for _, tc := range tests {
		code, _, errs := runCmd(t, tc.args...)
		if code != tc.code || !strings.Contains(errs, tc.in) {
			t.Errorf("tabler1 %v: code %d stderr %q; want %d and %q", tc.args, code, errs, tc.code, tc.in)
		}
	}
}
