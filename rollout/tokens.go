package rollout

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"tabler1/episode"
)

// rawResponse is the part of a /v1/completions or /v1/chat/completions
// answer rollout reads, including the token data of vLLM, SGLang and the
// embedded server that go-openai's types drop.
type rawResponse struct {
	Choices []rawChoice `json:"choices"`
	// PromptTokenIDs: vLLM puts a chat prompt's ids on the response.
	PromptTokenIDs []int `json:"prompt_token_ids"`
}

type rawChoice struct {
	Index        int     `json:"index"`
	Text         string  `json:"text"`
	FinishReason *string `json:"finish_reason"`
	Message      *struct {
		Content *string `json:"content"`
	} `json:"message"`
	Logprobs       *rawLogprobs `json:"logprobs"`
	TokenIDs       []int        `json:"token_ids"`
	PromptTokenIDs []int        `json:"prompt_token_ids"`
}

type rawLogprobs struct {
	// Completions format. Tokens are decoded only when token_ids is absent
	// (they are then the ids, as "token_id:N").
	// TokenLogprobs is read by parseFloats: a []*float64 would cost an
	// allocation per token.
	Tokens        json.RawMessage `json:"tokens"`
	TokenLogprobs json.RawMessage `json:"token_logprobs"`
	// Chat format.
	Content []struct {
		Token   string   `json:"token"`
		Logprob *float64 `json:"logprob"`
	} `json:"content"`
}

// errMalformed marks an answer that is not the JSON it should be: the
// server's fault, retried.
var errMalformed = errors.New("malformed response")

// decodeChoices turns a 2xx body into completions (text, finish reason and
// whatever token data it carries), in choice-index order.
func decodeChoices(body []byte, chat bool) ([]episode.Completion, error) {
	var r rawResponse
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("%w: %v (body starts %q)", errMalformed, err, head(body))
	}
	out := make([]episode.Completion, len(r.Choices))
	filled := make([]bool, len(r.Choices))
	for k, ch := range r.Choices {
		i := ch.Index
		if i < 0 || i >= len(out) || filled[i] {
			i = k // servers that number choices oddly: keep arrival order
			if filled[i] {
				return nil, fmt.Errorf("%w: choice index %d repeated", errMalformed, ch.Index)
			}
		}
		filled[i] = true
		c := episode.Completion{Text: ch.Text}
		if chat {
			if ch.Message == nil {
				return nil, fmt.Errorf("%w: chat choice %d has no message", errMalformed, k)
			}
			if ch.Message.Content != nil {
				c.Text = *ch.Message.Content
			}
		}
		if ch.FinishReason != nil {
			c.FinishReason = *ch.FinishReason
		}
		c.PromptTokenIDs = ch.PromptTokenIDs
		if c.PromptTokenIDs == nil {
			c.PromptTokenIDs = r.PromptTokenIDs
		}
		c.TokenIDs = ch.TokenIDs
		if lp := ch.Logprobs; lp != nil {
			var toks []string
			if chat || len(lp.Content) > 0 {
				toks = make([]string, len(lp.Content))
				c.Logprobs = make([]float64, len(lp.Content))
				null := false
				for j, t := range lp.Content {
					toks[j] = t.Token
					if t.Logprob == nil {
						null = true
						continue
					}
					c.Logprobs[j] = *t.Logprob
				}
				if null {
					c.Logprobs = nil // a null logprob: the data is not usable
				}
			} else {
				lps, err := parseFloats(lp.TokenLogprobs)
				if err != nil {
					return nil, fmt.Errorf("%w: logprobs.token_logprobs: %v", errMalformed, err)
				}
				c.Logprobs = lps
				if c.TokenIDs == nil && len(lp.Tokens) > 0 {
					if err := json.Unmarshal(lp.Tokens, &toks); err != nil {
						return nil, fmt.Errorf("%w: logprobs.tokens: %v", errMalformed, err)
					}
				}
			}
			if c.TokenIDs == nil {
				c.TokenIDs = tokenIDs(toks)
			}
		}
		out[i] = c
	}
	return out, nil
}

// parseFloats reads a JSON array of numbers (already checked to be valid
// JSON by the decoder). A null item makes the whole list unusable: nil.
func parseFloats(raw json.RawMessage) ([]float64, error) {
	b := bytes.TrimSpace(raw)
	if len(b) == 0 || string(b) == "null" {
		return nil, nil
	}
	if b[0] != '[' || b[len(b)-1] != ']' {
		return nil, fmt.Errorf("not a list")
	}
	b = bytes.TrimSpace(b[1 : len(b)-1])
	if len(b) == 0 {
		return []float64{}, nil
	}
	out := make([]float64, 0, bytes.Count(b, []byte{','})+1)
	for len(b) > 0 {
		item := b
		if k := bytes.IndexByte(b, ','); k >= 0 {
			item, b = b[:k], b[k+1:]
		} else {
			b = nil
		}
		item = bytes.TrimSpace(item)
		if string(item) == "null" {
			return nil, nil
		}
		v, err := strconv.ParseFloat(string(item), 64)
		if err != nil {
			return nil, fmt.Errorf("item %q is not a number", item)
		}
		out = append(out, v)
	}
	return out, nil
}

// tokenIDs reads vLLM's return_tokens_as_token_ids form, "token_id:123";
// nil if any token is in another form (plain text tokens).
func tokenIDs(toks []string) []int {
	if len(toks) == 0 {
		return nil
	}
	ids := make([]int, len(toks))
	for j, t := range toks {
		s, ok := strings.CutPrefix(t, "token_id:")
		if !ok {
			return nil
		}
		id, err := strconv.Atoi(s)
		if err != nil || id < 0 {
			return nil
		}
		ids[j] = id
	}
	return ids
}

func head(b []byte) string {
	b = bytes.TrimSpace(b)
	if len(b) > 80 {
		b = b[:80]
	}
	return string(b)
}

// MissingTokenDataError says that a server answered without the token data
// training needs, which server, what is missing, and what to turn on.
type MissingTokenDataError struct {
	Endpoint string
	Server   string
	Missing  string // "completion token ids", "per-token logprobs", "prompt token ids"
}

func (e *MissingTokenDataError) Error() string {
	return fmt.Sprintf("rollout: endpoint %s (%s) returned no %s, which training needs: %s",
		e.Endpoint, e.Server, e.Missing, tokenDataHint(e.Server))
}

func tokenDataHint(server string) string {
	switch server {
	case ServerVLLM:
		return "rollout sends logprobs, return_tokens_as_token_ids and return_token_ids; use vLLM >= 0.10.2 for return_token_ids, or start `vllm serve` with --return-tokens-as-token-ids, and keep its /tokenize route enabled"
	case ServerSGLang:
		return "rollout sends logprobs and return_token_ids; use an SGLang release whose /v1/completions supports return_token_ids"
	case ServerEmbedded:
		return "the embedded server must answer in vLLM's format (logprobs.tokens as \"token_id:N\" with logprobs.token_logprobs, and /tokenize or prompt_token_ids)"
	default:
		return "this server kind does not return token ids through the OpenAI API; serve the policy being trained with vLLM, SGLang or the embedded server (token data is needed for training only, not for evaluation)"
	}
}

// checkTokenData reports what training needs that c lacks.
func checkTokenData(c *episode.Completion) string {
	switch {
	case len(c.TokenIDs) == 0 && c.Text != "":
		return "completion token ids"
	case len(c.Logprobs) != len(c.TokenIDs):
		return fmt.Sprintf("per-token logprobs (got %d logprobs for %d tokens)", len(c.Logprobs), len(c.TokenIDs))
	case len(c.PromptTokenIDs) == 0:
		return "prompt token ids"
	}
	return ""
}
