package server

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/google/uuid"

	"tabler1/model"
)

type completionRequest struct {
	samplingParams
	Prompt   json.RawMessage `json:"prompt"`
	Logprobs *int            `json:"logprobs"`
	Echo     bool            `json:"echo"`
	Suffix   *string         `json:"suffix"`
}

type completionLogprobs struct {
	Tokens        []string             `json:"tokens"`
	TokenLogprobs []float64            `json:"token_logprobs"`
	TopLogprobs   []map[string]float64 `json:"top_logprobs"`
	TextOffset    []int                `json:"text_offset"`
}

type completionChoice struct {
	Index          int                 `json:"index"`
	Text           string              `json:"text"`
	Logprobs       *completionLogprobs `json:"logprobs"`
	FinishReason   string              `json:"finish_reason"`
	StopReason     *string             `json:"stop_reason"`
	TokenIDs       []int               `json:"token_ids"`
	PromptTokenIDs []int               `json:"prompt_token_ids"`
}

type completionResponse struct {
	ID      string             `json:"id"`
	Object  string             `json:"object"`
	Created int64              `json:"created"`
	Model   string             `json:"model"`
	Choices []completionChoice `json:"choices"`
	Usage   usage              `json:"usage"`
}

// parsePrompts accepts a string, an array of strings, an array of token ids
// or an array of arrays of token ids. Text prompts get BOS prepended.
func parsePrompts(raw json.RawMessage) ([][]int, error) {
	tok := model.Tokenizer{}
	withBOS := func(s string) []int { return append([]int{model.BOS}, tok.Encode(s)...) }
	if len(raw) == 0 || string(raw) == "null" {
		return nil, fmt.Errorf("prompt is required")
	}
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return [][]int{withBOS(one)}, nil
	}
	var texts []string
	if json.Unmarshal(raw, &texts) == nil {
		out := make([][]int, len(texts))
		for i, t := range texts {
			out[i] = withBOS(t)
		}
		return out, nil
	}
	var ids []int
	if json.Unmarshal(raw, &ids) == nil {
		return [][]int{ids}, nil
	}
	var many [][]int
	if json.Unmarshal(raw, &many) == nil {
		return many, nil
	}
	return nil, fmt.Errorf("prompt must be a string, an array of strings, an array of token ids or an array of arrays of token ids")
}

func (s *Server) handleCompletions(w http.ResponseWriter, r *http.Request) {
	var req completionRequest
	if !decodeBody(w, r, &req) {
		return
	}
	opts, n, ok := s.parse(w, &req.samplingParams, 16)
	if !ok {
		return
	}
	switch {
	case req.Echo:
		badRequest(w, "echo", "echo is not supported; score tokens by sending them as the prompt of /v1/completions with logprobs instead")
		return
	case req.Suffix != nil && *req.Suffix != "":
		badRequest(w, "suffix", "suffix is not supported")
		return
	case req.Stream && req.Logprobs != nil:
		badRequest(w, "logprobs", "logprobs with stream=true is not supported; send stream=false for logprobs")
		return
	case req.Logprobs != nil && (*req.Logprobs < 0 || *req.Logprobs > 20):
		badRequest(w, "logprobs", "logprobs = %d: want 0..20", *req.Logprobs)
		return
	}
	prompts, err := parsePrompts(req.Prompt)
	if err != nil {
		badRequest(w, "prompt", "%v", err)
		return
	}
	if len(prompts) == 0 || len(prompts) > s.cfg.MaxPrompts {
		badRequest(w, "prompt", "%d prompts: want 1..%d", len(prompts), s.cfg.MaxPrompts)
		return
	}
	if len(prompts)*n > s.cfg.MaxCompletions {
		badRequest(w, "n", "%d prompts times n = %d asks for %d completions; at most %d per request", len(prompts), n, len(prompts)*n, s.cfg.MaxCompletions)
		return
	}
	sv := s.current.Load()
	if req.Logprobs != nil {
		opts.TopLogprobs = *req.Logprobs
	}
	jobs := make([]job, len(prompts))
	for i, p := range prompts {
		if msg := checkPrompt(sv.m, p); msg != "" {
			badRequest(w, "prompt", "prompt %d: %s", i, msg)
			return
		}
		jobs[i] = job{prompt: p, n: n, opts: opts}
	}
	gens, err := s.run(r.Context(), sv.m, jobs)
	if err != nil {
		s.generationFailed(w, r, err)
		return
	}
	resp := completionResponse{ID: "cmpl-" + uuid.NewString(), Object: "text_completion", Created: s.cfg.Now().Unix(), Model: s.cfg.ModelName, Choices: []completionChoice{}}
	for i, gs := range gens {
		resp.Usage.PromptTokens += len(prompts[i])
		for k, g := range gs {
			ch := completionChoice{Index: i*n + k, Text: g.Text, FinishReason: g.Finish, TokenIDs: g.Tokens, PromptTokenIDs: prompts[i]}
			if g.StopString != "" {
				ch.StopReason = &g.StopString
			}
			if req.Logprobs != nil {
				ch.Logprobs = completionLogprobsOf(g, req.ReturnTokensAsTokenIDs)
			}
			resp.Usage.CompletionTokens += len(g.Tokens)
			resp.Choices = append(resp.Choices, ch)
		}
	}
	resp.Usage.TotalTokens = resp.Usage.PromptTokens + resp.Usage.CompletionTokens
	s.modelHeader(w, sv)
	if req.Stream {
		streamCompletion(w, resp, req.StreamOptions != nil && req.StreamOptions.IncludeUsage)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

func completionLogprobsOf(g model.Generation, asIDs bool) *completionLogprobs {
	lp := &completionLogprobs{Tokens: []string{}, TokenLogprobs: []float64{}, TopLogprobs: []map[string]float64{}, TextOffset: []int{}}
	off := 0
	for i, id := range g.Tokens {
		lp.Tokens = append(lp.Tokens, tokenText(id, asIDs))
		lp.TokenLogprobs = append(lp.TokenLogprobs, finite(g.Logprobs[i]))
		top := map[string]float64{tokenText(id, asIDs): finite(g.Logprobs[i])}
		if i < len(g.TopLogprobs) {
			for _, t := range g.TopLogprobs[i] {
				top[tokenText(t.ID, asIDs)] = finite(t.Logprob)
			}
		}
		lp.TopLogprobs = append(lp.TopLogprobs, top)
		lp.TextOffset = append(lp.TextOffset, off)
		if !model.IsSpecial(id) {
			off++
		}
	}
	return lp
}
