package openaitest

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func post(t *testing.T, url, body string) (int, string) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, "read error: " + err.Error()
	}
	return resp.StatusCode, string(b)
}

func TestCompletionFormats(t *testing.T) {
	s := NewServer(Config{Script: func(r Request, i int) Choice { return Choice{Text: "a\"b\n"} }})
	defer s.Close()
	tests := []struct {
		name, path, body string
		want             []string
	}{
		{"plain", "/completions", `{"model":"m","prompt":"hi","n":2}`, []string{`"text":"a\"b\n"`, `"index":1`, `"logprobs":null`}},
		{"vllm token ids", "/completions", `{"model":"m","prompt":"hi","logprobs":1,"return_tokens_as_token_ids":true,"return_token_ids":true}`,
			[]string{`"tokens":["token_id:100","token_id:37","token_id:101","token_id:13"]`, `"token_ids":[100,37,101,13]`, `"prompt_token_ids":[107,108]`}},
		{"text tokens", "/completions", `{"model":"m","prompt":"hi","logprobs":1}`, []string{`"tokens":["a","\"","b","\n"]`}},
		{"chat", "/chat/completions", `{"model":"m","messages":[{"role":"user","content":"x"}],"logprobs":true,"return_tokens_as_token_ids":true,"return_token_ids":true}`,
			[]string{`"message":{"role":"assistant","content":"a\"b\n"}`, `"content":[{"token":"token_id:100"`, `],"prompt_token_ids":[`}},
	}
	for _, tc := range tests {
		code, body := post(t, s.URL+tc.path, tc.body)
		if code != 200 {
			t.Fatalf("%s: status %d: %s", tc.name, code, body)
		}
		var v map[string]any
		if err := json.Unmarshal([]byte(body), &v); err != nil {
			t.Errorf("%s: invalid JSON %v: %s", tc.name, err, body)
		}
		for _, w := range tc.want {
			if !strings.Contains(body, w) {
				t.Errorf("%s: body lacks %s: %s", tc.name, w, body)
			}
		}
	}
	code, body := post(t, s.Root+"/tokenize", `{"model":"m","prompt":"ab"}`)
	if code != 200 || body != `{"tokens":[100,101],"count":2}` {
		t.Errorf("/tokenize: %d %s", code, body)
	}
	if code, _ := post(t, s.URL+"/completions", `{"prompt":`); code != 400 {
		t.Errorf("bad JSON: status %d, want 400", code)
	}
}

func TestFaults(t *testing.T) {
	for _, f := range []Fault{Fault429, Fault500, FaultDrop, FaultMalformed, FaultWrongN} {
		s := NewServer(Config{FaultFor: func(Request) Fault { return f }})
		code, body := post(t, s.URL+"/completions", `{"model":"m","prompt":"hi","n":2}`)
		var v struct {
			Choices []any `json:"choices"`
		}
		jsonErr := json.Unmarshal([]byte(body), &v)
		switch f {
		case Fault429, Fault500:
			if want := map[Fault]int{Fault429: 429, Fault500: 500}[f]; code != want || !strings.Contains(body, `"error"`) {
				t.Errorf("%s: %d %s", f, code, body)
			}
		case FaultDrop:
			if code != 0 {
				t.Errorf("drop: got a response %d %s", code, body)
			}
		case FaultMalformed:
			if code != 200 || jsonErr == nil {
				t.Errorf("malformed: %d, JSON error %v", code, jsonErr)
			}
		case FaultWrongN:
			if code != 200 || jsonErr != nil || len(v.Choices) != 1 {
				t.Errorf("wrong_n: %d %v %d choices", code, jsonErr, len(v.Choices))
			}
		}
		if st := s.Stats(); st.Faults[f] != 1 || st.Requests != 1 {
			t.Errorf("%s: stats %+v", f, st)
		}
		s.Close()
	}
}

// Close unblocks a hung request.
func TestHangEndsAtClose(t *testing.T) {
	s := NewServer(Config{FaultRate: 1, FaultKinds: []Fault{FaultHang}})
	done := make(chan int)
	go func() {
		code, _ := post(t, s.URL+"/completions", `{"model":"m","prompt":"hi"}`)
		done <- code
	}()
	for s.Stats().Requests == 0 {
		select {
		case code := <-done:
			t.Fatalf("hung request answered %d", code)
		case <-time.After(time.Millisecond):
		}
	}
	s.Close()
	<-done
}

func TestDownAndAPIKey(t *testing.T) {
	s := NewServer(Config{APIKey: "k"})
	defer s.Close()
	if code, _ := post(t, s.URL+"/completions", `{"model":"m","prompt":"hi"}`); code != 401 {
		t.Errorf("no key: %d, want 401", code)
	}
	req, _ := http.NewRequest("GET", s.URL+"/models", nil)
	req.Header.Set("Authorization", "Bearer k")
	s.SetDown(true)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 503 {
		t.Fatalf("down: %v %v", resp, err)
	}
	resp.Body.Close()
	s.SetDown(false)
	resp, err = http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("up: %v %v", resp, err)
	}
	resp.Body.Close()
}

func TestTokenize(t *testing.T) {
	if got := Tokenize("A\x00"); len(got) != 2 || got[0] != 68 || got[1] != 3 {
		t.Errorf("Tokenize = %v", got)
	}
}
