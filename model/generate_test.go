package model

import (
	"context"
	"math"
	"slices"
	"strings"
	"testing"
)

func TestGenerateLogprobsEqualScore(t *testing.T) {
	m, err := New(Config{Layers: 2, Width: 16, Heads: 4, MLP: 32, Context: 48}, 11)
	if err != nil {
		t.Fatal(err)
	}
	tok := Tokenizer{}
	prompt := append([]int{BOS}, tok.Encode("hello")...)
	tests := []struct {
		name string
		opts SampleOptions
	}{
		{"greedy", SampleOptions{Temperature: 0, MaxTokens: 20}},
		{"t1", SampleOptions{Temperature: 1, MaxTokens: 30, Seed: 5}},
		{"hot-topp", SampleOptions{Temperature: 1.5, TopP: 0.9, MaxTokens: 30, Seed: 9}},
		{"to-context", SampleOptions{Temperature: 1, MaxTokens: 1000, Seed: 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			gens, err := m.Generate(context.Background(), prompt, 3, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			for _, g := range gens {
				if len(g.Tokens) == 0 || len(g.Tokens) != len(g.Logprobs) {
					t.Fatalf("got %d tokens, %d logprobs", len(g.Tokens), len(g.Logprobs))
				}
				if len(prompt)+len(g.Tokens) > m.cfg.Context {
					t.Fatalf("generation overflows the context: %d+%d", len(prompt), len(g.Tokens))
				}
				want, err := m.Score(prompt, g.Tokens)
				if err != nil {
					t.Fatal(err)
				}
				for i := range want {
					if math.Abs(want[i]-g.Logprobs[i]) > 1e-9 {
						t.Fatalf("token %d: generate logprob %v, score %v", i, g.Logprobs[i], want[i])
					}
				}
				if g.Finish == FinishLength && len(g.Tokens) != tc.opts.MaxTokens && len(prompt)+len(g.Tokens) != m.cfg.Context {
					t.Fatalf("finish length after %d tokens", len(g.Tokens))
				}
			}
			again, _ := m.Generate(context.Background(), prompt, 3, tc.opts)
			for i := range gens {
				if !slices.Equal(gens[i].Tokens, again[i].Tokens) {
					t.Fatalf("same seed, different tokens")
				}
			}
		})
	}
}

func TestGenerateStop(t *testing.T) {
	m, _ := New(Config{Layers: 1, Width: 8, Heads: 2, Context: 64}, 3)
	prompt := []int{BOS}
	// Learn nothing; use greedy output to pick a stop string that occurs.
	g, err := m.Generate(context.Background(), prompt, 1, SampleOptions{Temperature: 1, MaxTokens: 40, Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	text := g[0].Text
	if len(text) < 6 {
		t.Skipf("sample too short to pick a stop string: %q", text)
	}
	stop := text[3:5]
	g2, _ := m.Generate(context.Background(), prompt, 1, SampleOptions{Temperature: 1, MaxTokens: 40, Seed: 2, Stop: []string{stop}})
	got := g2[0]
	if got.Finish != FinishStop || got.StopString != stop || strings.Contains(got.Text, stop) {
		t.Fatalf("stop %q: finish %q text %q", stop, got.Finish, got.Text)
	}
	if !strings.HasPrefix(text, got.Text+stop) {
		t.Fatalf("text %q is not the prefix of %q before %q", got.Text, text, stop)
	}
}

func TestGenerateRejectsBadInput(t *testing.T) {
	m, _ := New(Config{Layers: 1, Width: 8, Heads: 2, Context: 8}, 3)
	bad := []struct {
		prompt []int
		n      int
		opts   SampleOptions
	}{
		{nil, 1, SampleOptions{MaxTokens: 1}},
		{make([]int, 8), 1, SampleOptions{MaxTokens: 1}},
		{[]int{1}, 0, SampleOptions{MaxTokens: 1}},
		{[]int{1}, 1, SampleOptions{MaxTokens: -1}},
		{[]int{1}, 1, SampleOptions{MaxTokens: 1, Temperature: -1}},
		{[]int{1}, 1, SampleOptions{MaxTokens: 1, TopP: 2}},
		{[]int{999}, 1, SampleOptions{MaxTokens: 1}},
	}
	for i, b := range bad {
		if _, err := m.Generate(context.Background(), b.prompt, b.n, b.opts); err == nil {
			t.Errorf("case %d: no error", i)
		}
	}
}
