package server

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"sync"

	"tabler1/model"
)

// samplingParams are the request fields shared by completions and chat.
type samplingParams struct {
	Model            string          `json:"model"`
	MaxTokens        *int            `json:"max_tokens"`
	Temperature      *float64        `json:"temperature"`
	TopP             *float64        `json:"top_p"`
	N                *int            `json:"n"`
	Stop             json.RawMessage `json:"stop"`
	Seed             *int64          `json:"seed"`
	Stream           bool            `json:"stream"`
	StreamOptions    *streamOptions  `json:"stream_options"`
	PresencePenalty  float64         `json:"presence_penalty"`
	FrequencyPenalty float64         `json:"frequency_penalty"`
	LogitBias        map[string]any  `json:"logit_bias"`
	BestOf           *int            `json:"best_of"`
	// ReturnTokenIDs is vLLM's switch for token_ids/prompt_token_ids; they
	// are returned either way.
	ReturnTokenIDs *bool `json:"return_token_ids"`
	// ReturnTokensAsTokenIDs writes logprob tokens as "token_id:N" (vLLM).
	ReturnTokensAsTokenIDs bool `json:"return_tokens_as_token_ids"`
}

// job is one prompt to sample n completions of.
type job struct {
	prompt []int
	n      int
	opts   model.SampleOptions
}

// parse validates the shared fields; on failure it writes the error and
// returns false. defaultMax is used when max_tokens is absent (0: the rest
// of the context).
func (s *Server) parse(w http.ResponseWriter, p *samplingParams, defaultMax int) (model.SampleOptions, int, bool) {
	var o model.SampleOptions
	if p.Model != "" && p.Model != s.cfg.ModelName {
		writeError(w, http.StatusNotFound, "invalid_request_error", "model_not_found", "model",
			fmt.Sprintf("the model %q does not exist; this server serves %q", p.Model, s.cfg.ModelName))
		return o, 0, false
	}
	switch {
	case p.StreamOptions != nil && !p.Stream:
		badRequest(w, "stream_options", "stream_options is only allowed with stream=true")
		return o, 0, false
	case p.PresencePenalty != 0 || p.FrequencyPenalty != 0:
		badRequest(w, "presence_penalty", "presence_penalty and frequency_penalty are not supported; leave them 0")
		return o, 0, false
	case len(p.LogitBias) > 0:
		badRequest(w, "logit_bias", "logit_bias is not supported")
		return o, 0, false
	}
	n := 1
	if p.N != nil {
		n = *p.N
	}
	if n < 1 || n > s.cfg.MaxN {
		badRequest(w, "n", "n = %d: want 1..%d", n, s.cfg.MaxN)
		return o, 0, false
	}
	if p.BestOf != nil && *p.BestOf != n {
		badRequest(w, "best_of", "best_of is not supported (it must equal n)")
		return o, 0, false
	}
	o.MaxTokens = defaultMax
	if p.MaxTokens != nil {
		o.MaxTokens = *p.MaxTokens
		if o.MaxTokens < 1 || o.MaxTokens > s.cfg.MaxTokens {
			badRequest(w, "max_tokens", "max_tokens = %d: want 1..%d", o.MaxTokens, s.cfg.MaxTokens)
			return o, 0, false
		}
	}
	o.Temperature = 1
	if p.Temperature != nil {
		o.Temperature = *p.Temperature
		if !(o.Temperature >= 0 && o.Temperature <= 2) {
			badRequest(w, "temperature", "temperature = %v: want 0..2", o.Temperature)
			return o, 0, false
		}
	}
	o.TopP = 1
	if p.TopP != nil {
		o.TopP = *p.TopP
		if !(o.TopP > 0 && o.TopP <= 1) {
			badRequest(w, "top_p", "top_p = %v: want a number in (0, 1]", o.TopP)
			return o, 0, false
		}
	}
	stops, err := parseStop(p.Stop)
	if err != nil {
		badRequest(w, "stop", "%v", err)
		return o, 0, false
	}
	o.Stop = stops
	o.Seed = s.seedFor(p.Seed)
	return o, n, true
}

func parseStop(raw json.RawMessage) ([]string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var one string
	if err := json.Unmarshal(raw, &one); err == nil {
		if one == "" {
			return nil, nil
		}
		return []string{one}, nil
	}
	var many []string
	if err := json.Unmarshal(raw, &many); err != nil {
		return nil, fmt.Errorf("stop must be a string or an array of strings")
	}
	if len(many) > 16 {
		return nil, fmt.Errorf("stop has %d strings; at most 16 are allowed", len(many))
	}
	for _, s := range many {
		if len(s) > 256 {
			return nil, fmt.Errorf("a stop string is %d bytes long; at most 256 are allowed", len(s))
		}
	}
	return many, nil
}

// checkPrompt validates token ids against the model; "" when fine.
func checkPrompt(m *model.Model, ids []int) string {
	c := m.Config()
	if len(ids) == 0 {
		return "the prompt is empty"
	}
	if len(ids) >= c.Context {
		return tooLong(len(ids), c.Context)
	}
	for i, id := range ids {
		if id < 0 || id >= c.Vocab {
			return fmt.Sprintf("prompt token %d at position %d is outside the vocabulary 0..%d", id, i, c.Vocab-1)
		}
	}
	return ""
}

// tooLong is the refusal of a prompt of n tokens for a model's context.
func tooLong(n, context int) string {
	return fmt.Sprintf("the prompt has %d tokens; this model's maximum context length is %d tokens, and at least one must be left to generate", n, context)
}

// run generates every job concurrently (bounded by the server's slots) and
// returns the completions per job, or the first error.
func (s *Server) run(ctx context.Context, m *model.Model, jobs []job) ([][]model.Generation, error) {
	out := make([][]model.Generation, len(jobs))
	errs := make([]error, len(jobs))
	var wg sync.WaitGroup
	for i := range jobs {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			if err := s.acquire(ctx); err != nil {
				errs[i] = err
				return
			}
			defer s.release()
			j := jobs[i]
			out[i], errs[i] = m.Generate(ctx, j.prompt, j.n, j.opts)
		}(i)
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (s *Server) generationFailed(w http.ResponseWriter, r *http.Request, err error) {
	if r.Context().Err() != nil {
		// The client went away; nobody reads the answer.
		return
	}
	writeError(w, http.StatusInternalServerError, "server_error", "", "", "generation failed: "+err.Error())
}

// tokenText is a token as written in logprobs.
func tokenText(id int, asIDs bool) string {
	if asIDs {
		return "token_id:" + strconv.Itoa(id)
	}
	return model.Tokenizer{}.TokenString(id)
}

// finite maps -Inf (impossible tokens) to a large negative number JSON can
// carry.
func finite(x float64) float64 {
	if math.IsInf(x, -1) || math.IsNaN(x) {
		return -9999
	}
	return x
}

type usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}
