package model

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"runtime"
	"sort"
	"strings"
	"sync"
)

// Score returns the model's log-probabilities of the completion tokens
// given the prompt (teacher forcing, temperature 1).
func (m *Model) Score(prompt, completion []int) ([]float64, error) {
	if len(prompt) == 0 {
		return nil, errors.New("score: empty prompt; start prompts with BOS")
	}
	if len(completion) == 0 {
		return nil, nil
	}
	ids := append(append(make([]int, 0, len(prompt)+len(completion)), prompt...), completion...)
	rows := make([]int, len(completion))
	for i := range rows {
		rows[i] = len(prompt) - 1 + i
	}
	p, err := m.forward(ids, rows)
	if err != nil {
		return nil, fmt.Errorf("score: %w", err)
	}
	return targetLogprobs(p.probs, completion, m.cfg.Vocab), nil
}

// SampleOptions control Generate.
type SampleOptions struct {
	// Temperature scales the logits before sampling; 0 is greedy decoding.
	Temperature float64
	// TopP keeps the smallest set of tokens whose probability reaches TopP
	// (0 or 1: no truncation).
	TopP float64
	// MaxTokens bounds the completion; generation also stops at the end of
	// the context.
	MaxTokens int
	// Stop strings end generation when the decoded completion contains one;
	// EOS and <|im_end|> always stop.
	Stop []string
	// Seed makes sampling reproducible.
	Seed uint64
	// TopLogprobs, when positive, also returns that many most likely
	// tokens per position (at most 20).
	TopLogprobs int
	// Parallel is how many completions are decoded at once (0: GOMAXPROCS).
	Parallel int
}

// TokenLogprob is a token id and its log-probability.
type TokenLogprob struct {
	ID      int
	Logprob float64
}

// Finish reasons, as in the OpenAI API.
const (
	FinishStop   = "stop"   // EOS, <|im_end|> or a stop string
	FinishLength = "length" // MaxTokens or the context was reached
)

// Generation is one sampled completion.
type Generation struct {
	// Tokens are the completion's token ids, the stopping token or stop
	// string's tokens included (as vLLM's token_ids).
	Tokens []int
	// Logprobs are the model's log-probabilities of Tokens at temperature 1
	// without top-p truncation: the policy's own log-probabilities, equal
	// to Score of the same tokens up to rounding.
	Logprobs []float64
	// Text is the decoded completion without special tokens, cut before a
	// matched stop string.
	Text string
	// Finish is FinishStop or FinishLength.
	Finish string
	// StopString is the stop string that ended generation, if any.
	StopString string
	// TopLogprobs holds, per position, the SampleOptions.TopLogprobs most
	// likely tokens, most likely first.
	TopLogprobs [][]TokenLogprob
}

// Generate samples n completions of prompt (n >= 1), sharing the prompt's
// KV cache. Completion i draws from a generator seeded with (opts.Seed, i).
// It returns early with ctx's error when ctx is done.
func (m *Model) Generate(ctx context.Context, prompt []int, n int, opts SampleOptions) ([]Generation, error) {
	c := m.cfg
	switch {
	case len(prompt) == 0:
		return nil, errors.New("generate: empty prompt; start prompts with BOS")
	case len(prompt) >= c.Context:
		return nil, fmt.Errorf("generate: prompt of %d tokens leaves no room in the context of %d tokens", len(prompt), c.Context)
	case n < 1:
		return nil, fmt.Errorf("generate: n = %d, want at least 1", n)
	case opts.MaxTokens < 0:
		return nil, fmt.Errorf("generate: max_tokens = %d, want >= 0", opts.MaxTokens)
	case opts.Temperature < 0 || math.IsNaN(opts.Temperature):
		return nil, fmt.Errorf("generate: temperature = %v, want >= 0", opts.Temperature)
	case opts.TopP < 0 || opts.TopP > 1 || math.IsNaN(opts.TopP):
		return nil, fmt.Errorf("generate: top_p = %v, want in (0, 1]", opts.TopP)
	}
	kv0, probs0, err := m.prefill(prompt)
	if err != nil {
		return nil, fmt.Errorf("generate: %w", err)
	}
	out := make([]Generation, n)
	if opts.MaxTokens == 0 {
		for i := range out {
			out[i].Finish = FinishLength
		}
		return out, nil
	}
	par := opts.Parallel
	if par <= 0 {
		par = runtime.GOMAXPROCS(0)
	}
	par = min(par, n)
	errs := make([]error, par)
	var wg sync.WaitGroup
	for w := 0; w < par; w++ {
		wg.Add(1)
		// Worker w decodes completions w, w+par, ... in lockstep: one
		// matrix product per layer for the group reads the weights once.
		go func(w int) {
			defer wg.Done()
			var idx []int
			for i := w; i < n; i += par {
				idx = append(idx, i)
			}
			errs[w] = m.decodeGroup(ctx, kv0, probs0, idx, opts, out)
		}(w)
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// topLogprobs returns the k most likely tokens of probs.
func topLogprobs(probs []float64, k int, idx []int) []TokenLogprob {
	ix := idx[:len(probs)]
	for i := range ix {
		ix[i] = i
	}
	sort.Slice(ix, func(a, b int) bool { return probs[ix[a]] > probs[ix[b]] })
	out := make([]TokenLogprob, min(k, len(ix)))
	for j := range out {
		out[j] = TokenLogprob{ID: ix[j], Logprob: math.Log(math.Max(probs[ix[j]], math.SmallestNonzeroFloat64))}
	}
	return out
}

// matchStop returns the first stop string found in text's tail (text grows
// one byte at a time, so earlier bytes were checked before) and the index
// where text is cut, or -1.
func matchStop(text string, stops []string) (string, int) {
	for _, s := range stops {
		if s == "" {
			continue
		}
		// Only the tail can hold a new match: the text grows by one byte.
		from := max(0, len(text)-len(s))
		if i := strings.Index(text[from:], s); i >= 0 {
			return s, from + i
		}
	}
	return "", -1
}

// sampleToken draws from probs at temperature temp with top-p truncation;
// temp 0 is argmax.
func sampleToken(probs []float64, temp, topP float64, rng *rand.Rand, scratch []float64, idx []int) int {
	if temp == 0 {
		best := 0
		for i, p := range probs {
			if p > probs[best] {
				best = i
			}
		}
		return best
	}
	// p^(1/T), renormalised, equals softmax(logits/T).
	q := scratch[:len(probs)]
	sum := 0.0
	for i, p := range probs {
		if temp == 1 {
			q[i] = p
		} else {
			q[i] = math.Pow(p, 1/temp)
		}
		sum += q[i]
	}
	if !(sum > 0) || math.IsInf(sum, 0) {
		// Extreme temperatures underflow or overflow: fall back to argmax.
		return sampleToken(probs, 0, 1, rng, scratch, idx)
	}
	if topP > 0 && topP < 1 {
		ix := idx[:len(q)]
		for i := range ix {
			ix[i] = i
		}
		sort.Slice(ix, func(a, b int) bool { return q[ix[a]] > q[ix[b]] })
		acc, keep := 0.0, 0
		for keep < len(ix) {
			acc += q[ix[keep]]
			keep++
			if acc >= topP*sum {
				break
			}
		}
		x := rng.Float64() * acc
		for _, i := range ix[:keep] {
			x -= q[i]
			if x < 0 {
				return i
			}
		}
		return ix[keep-1]
	}
	x := rng.Float64() * sum
	for i, p := range q {
		x -= p
		if x < 0 {
			return i
		}
	}
	return len(q) - 1
}
