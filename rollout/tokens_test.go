package rollout

import (
	"encoding/json"
	"errors"
	"testing"
)

func TestDecodeChoices(t *testing.T) {
	tests := []struct {
		name   string
		body   string
		chat   bool
		texts  []string
		ids    [][]int
		lps    []int // logprob counts
		prompt []int
		err    bool
	}{
		{name: "vllm new", body: `{"choices":[{"index":0,"text":"a","finish_reason":"stop","token_ids":[5],"prompt_token_ids":[1,2],"logprobs":{"tokens":["token_id:5"],"token_logprobs":[-0.1]}}]}`,
			texts: []string{"a"}, ids: [][]int{{5}}, lps: []int{1}, prompt: []int{1, 2}},
		{name: "vllm token_id strings", body: `{"choices":[{"index":0,"text":"ab","logprobs":{"tokens":["token_id:7","token_id:8"],"token_logprobs":[-1,-2]}}]}`,
			texts: []string{"ab"}, ids: [][]int{{7, 8}}, lps: []int{2}},
		{name: "text tokens give no ids", body: `{"choices":[{"index":0,"text":"ab","logprobs":{"tokens":["a","b"],"token_logprobs":[-1,-2]}}]}`,
			texts: []string{"ab"}, ids: [][]int{nil}, lps: []int{2}},
		{name: "null logprob drops logprobs", body: `{"choices":[{"index":0,"text":"a","logprobs":{"tokens":["token_id:1"],"token_logprobs":[null]}}]}`,
			texts: []string{"a"}, ids: [][]int{{1}}, lps: []int{0}},
		{name: "chat", chat: true, body: `{"prompt_token_ids":[9],"choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"logprobs":{"content":[{"token":"token_id:3","logprob":-0.5}]}}]}`,
			texts: []string{"hi"}, ids: [][]int{{3}}, lps: []int{1}, prompt: []int{9}},
		{name: "out of order", body: `{"choices":[{"index":1,"text":"b"},{"index":0,"text":"a"}]}`, texts: []string{"a", "b"}, ids: [][]int{nil, nil}, lps: []int{0, 0}},
		{name: "chat without message", chat: true, body: `{"choices":[{"index":0,"text":"x"}]}`, err: true},
		{name: "truncated json", body: `{"choices":[{"text":"Answ`, err: true},
		{name: "repeated index keeps arrival order", body: `{"choices":[{"index":0,"text":"a"},{"index":0,"text":"b"},{"index":0,"text":"c"}]}`,
			texts: []string{"a", "b", "c"}, ids: [][]int{nil, nil, nil}, lps: []int{0, 0, 0}},
	}
	for _, tc := range tests {
		cs, err := decodeChoices([]byte(tc.body), tc.chat)
		if (err != nil) != tc.err {
			t.Errorf("%s: err = %v", tc.name, err)
			continue
		}
		if err != nil {
			if !errors.Is(err, errMalformed) {
				t.Errorf("%s: err %v is not errMalformed", tc.name, err)
			}
			continue
		}
		for i, c := range cs {
			if c.Text != tc.texts[i] || !equalInts(c.TokenIDs, tc.ids[i]) || len(c.Logprobs) != tc.lps[i] || !equalInts(c.PromptTokenIDs, tc.prompt) {
				t.Errorf("%s: choice %d = %+v", tc.name, i, c)
			}
		}
	}
}

func FuzzDecodeChoices(f *testing.F) {
	f.Add([]byte(`{"choices":[{"index":0,"text":"a","token_ids":[1],"logprobs":{"tokens":["token_id:1"],"token_logprobs":[-1]}}]}`), false)
	f.Add([]byte(`{"choices":[{"index":3,"message":{"content":null},"logprobs":{"content":[{"token":"x","logprob":null}]}}]}`), true)
	f.Fuzz(func(t *testing.T, body []byte, chat bool) {
		cs, err := decodeChoices(body, chat)
		if err != nil {
			return
		}
		for _, c := range cs {
			if checkTokenData(&c) == "" && (len(c.Logprobs) != len(c.TokenIDs) || len(c.PromptTokenIDs) == 0) {
				t.Fatalf("token data passed the check but is inconsistent: %+v", c)
			}
		}
	})
}

func TestTokenIDs(t *testing.T) {
	tests := []struct {
		in   []string
		want []int
	}{
		{[]string{"token_id:0", "token_id:151643"}, []int{0, 151643}},
		{[]string{"token_id:1", "x"}, nil},
		{[]string{"token_id:-1"}, nil},
		{[]string{"token_id:"}, nil},
		{nil, nil},
	}
	for _, tc := range tests {
		if got := tokenIDs(tc.in); !equalInts(got, tc.want) || (got == nil) != (tc.want == nil) {
			t.Errorf("tokenIDs(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestParseFloats(t *testing.T) {
	tests := []struct {
		in   string
		want []float64
		err  bool
	}{
		{`[-0.5, -1e-3,0]`, []float64{-0.5, -0.001, 0}, false},
		{`[]`, []float64{}, false},
		{`null`, nil, false},
		{``, nil, false},
		{`[-1, null]`, nil, false},
		{`[-1, "x"]`, nil, true},
		{`{"a":1}`, nil, true},
	}
	for _, tc := range tests {
		got, err := parseFloats([]byte(tc.in))
		if (err != nil) != tc.err || len(got) != len(tc.want) || (got == nil) != (tc.want == nil) {
			t.Errorf("parseFloats(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
			continue
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("parseFloats(%q)[%d] = %v, want %v", tc.in, i, got[i], tc.want[i])
			}
		}
	}
}

func FuzzParseFloats(f *testing.F) {
	for _, s := range []string{`[1,2]`, `[null]`, `[ -1.5e3 ]`, `[]`, `[,]`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := parseFloats([]byte(s))
		if err != nil || got == nil {
			return
		}
		var ref []float64
		if json.Unmarshal([]byte(s), &ref) == nil && len(ref) != len(got) {
			t.Fatalf("%q: %v, encoding/json %v", s, got, ref)
		}
	})
}
