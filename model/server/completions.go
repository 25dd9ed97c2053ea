package server

import (
	"bytes"
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
// or an array of arrays of token ids. Text prompts get BOS prepended. The
// number of prompts and the length of each text are checked against
// maxPrompts and the model's context before any text is tokenized, so that
// a huge body never becomes a huge array of ids.
func parsePrompts(raw json.RawMessage, maxPrompts, context int) ([][]int, error) {
	tok := model.Tokenizer{}
	encode := func(texts []string) ([][]int, error) {
		if len(texts) == 0 || len(texts) > maxPrompts {
			return nil, fmt.Errorf("%d prompts: want 1..%d", len(texts), maxPrompts)
		}
		for i, t := range texts {
			if n := 1 + tok.Len(t); n >= context {
				return nil, fmt.Errorf("prompt %d: %s", i, tooLong(n, context))
			}
		}
		out := make([][]int, len(texts))
		for i, t := range texts {
			out[i] = append([]int{model.BOS}, tok.Encode(t)...)
		}
		return out, nil
	}
	if len(raw) == 0 || string(raw) == "null" {
		return nil, fmt.Errorf("prompt is required")
	}
	// An array is counted before it is decoded: a million tiny prompts or
	// ids must not become a million-element slice first.
	if n, ids := arrayLen(raw); ids && n >= context {
		return nil, fmt.Errorf("prompt 0: %s", tooLong(n, context))
	} else if !ids && n > maxPrompts {
		return nil, fmt.Errorf("%d prompts: want 1..%d", n, maxPrompts)
	}
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return encode([]string{one})
	}
	var texts []string
	if json.Unmarshal(raw, &texts) == nil {
		return encode(texts)
	}
	var many [][]int
	var ids []int
	switch {
	case json.Unmarshal(raw, &ids) == nil:
		many = [][]int{ids}
	case json.Unmarshal(raw, &many) == nil:
	default:
		return nil, fmt.Errorf("prompt must be a string, an array of strings, an array of token ids or an array of arrays of token ids")
	}
	if len(many) == 0 || len(many) > maxPrompts {
		return nil, fmt.Errorf("%d prompts: want 1..%d", len(many), maxPrompts)
	}
	return many, nil
}

// arrayLen counts the elements of raw when it is a JSON array (0
// otherwise), without decoding them; ids reports whether the first element
// is a number (a prompt of token ids). raw must be valid JSON.
func arrayLen(raw []byte) (n int, ids bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) < 2 || raw[0] != '[' {
		return 0, false
	}
	if inner := bytes.TrimSpace(raw[1:]); len(inner) > 0 {
		ids = inner[0] == '-' || (inner[0] >= '0' && inner[0] <= '9')
		if inner[0] == ']' {
			return 0, false
		}
	}
	depth, inString, escaped := 0, false, false
	n = 1
	for _, c := range raw {
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == '[' || c == '{':
			depth++
		case c == ']' || c == '}':
			depth--
		case c == ',' && depth == 1:
			n++
		}
	}
	return n, ids
}

func (s *Server) handleCompletions(w http.ResponseWriter, r *http.Request) {
	decoded, ok := s.admit(r)
	if !ok {
		return
	}
	defer decoded()
	var req completionRequest
	if !s.decodeBody(w, r, &req) {
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
	sv := s.current.Load()
	prompts, err := parsePrompts(req.Prompt, s.cfg.MaxPrompts, sv.m.Config().Context)
	if err != nil {
		badRequest(w, "prompt", "%v", err)
		return
	}
	req.Prompt = nil // the ids are what is kept
	if len(prompts)*n > s.cfg.MaxCompletions {
		badRequest(w, "n", "%d prompts times n = %d asks for %d completions; at most %d per request", len(prompts), n, len(prompts)*n, s.cfg.MaxCompletions)
		return
	}
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
	decoded()
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
