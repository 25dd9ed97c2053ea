package server

import (
	"encoding/json"
	"slices"
	"testing"

	"tabler1/model"
)

func TestParsePrompts(t *testing.T) {
	tests := []struct {
		in   string
		want [][]int
		bad  bool
	}{
		{`"ab"`, [][]int{{model.BOS, 'a', 'b'}}, false},
		{`["a", ""]`, [][]int{{model.BOS, 'a'}, {model.BOS}}, false},
		{`[1, 2]`, [][]int{{1, 2}}, false},
		{`[[1], [2, 3]]`, [][]int{{1}, {2, 3}}, false},
		{`null`, nil, true},
		{`{"a":1}`, nil, true},
		{`[1.5]`, nil, true},
		{`[]`, nil, true},
		{`["a", "b", "c"]`, nil, true}, // more than 2 prompts
		{`"abcdefg"`, nil, true},       // 8 tokens with BOS: the context of 8 is full
		{`"<|eos|><|eos|>"`, [][]int{{model.BOS, model.EOS, model.EOS}}, false},
	}
	for _, tc := range tests {
		got, err := parsePrompts(json.RawMessage(tc.in), 2, 8)
		if (err != nil) != tc.bad {
			t.Errorf("%s: err %v", tc.in, err)
			continue
		}
		if !slices.EqualFunc(got, tc.want, func(a, b []int) bool { return slices.Equal(a, b) }) {
			t.Errorf("%s: %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestParseStop(t *testing.T) {
	tests := []struct {
		in   string
		want []string
		bad  bool
	}{
		{``, nil, false},
		{`null`, nil, false},
		{`""`, nil, false},
		{`"\n"`, []string{"\n"}, false},
		{`["a","b"]`, []string{"a", "b"}, false},
		{`3`, nil, true},
		{`[1]`, nil, true},
	}
	for _, tc := range tests {
		got, err := parseStop(json.RawMessage(tc.in))
		if (err != nil) != tc.bad || !slices.Equal(got, tc.want) {
			t.Errorf("%q: %v %v", tc.in, got, err)
		}
	}
}

func FuzzParseRequest(f *testing.F) {
	f.Add([]byte(`{"model":"m","prompt":"x","stop":["a"],"messages":[{"role":"user","content":"hi"}]}`))
	f.Add([]byte(`{"prompt":[[1,2],[3]],"stop":"z","messages":[{"role":"user","content":[{"type":"text","text":"a"}]}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var req struct {
			Prompt   json.RawMessage `json:"prompt"`
			Stop     json.RawMessage `json:"stop"`
			Messages []chatMessage   `json:"messages"`
		}
		if json.Unmarshal(b, &req) != nil {
			return
		}
		// None of these may panic, whatever the input.
		_, _ = parsePrompts(req.Prompt, 64, 128)
		_, _ = parseStop(req.Stop)
		if msgs, err := toMessages(req.Messages); err == nil {
			_ = model.ChatPrompt(msgs)
		}
	})
}

func TestArrayLen(t *testing.T) {
	tests := []struct {
		in  string
		n   int
		ids bool
	}{
		{`"a,b"`, 0, false},
		{`[]`, 0, false},
		{` [ ] `, 0, false},
		{`[1]`, 1, true},
		{`[-1, 2,3]`, 3, true},
		{`["a,b", "c\",d", "\\"]`, 3, false},
		{`[[1,2],[3]]`, 2, false},
		{`[{"a":[1,2]}, "x"]`, 2, false},
	}
	for _, tc := range tests {
		n, ids := arrayLen([]byte(tc.in))
		if n != tc.n || ids != tc.ids {
			t.Errorf("arrayLen(%s) = %d, %v; want %d, %v", tc.in, n, ids, tc.n, tc.ids)
		}
	}
}
