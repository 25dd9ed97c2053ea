package server

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/google/uuid"

	"tabler1/model"
)

// chatMessage accepts content as a string or as an array of text parts.
type chatMessage struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
}

type chatRequest struct {
	samplingParams
	Messages            []chatMessage `json:"messages"`
	MaxCompletionTokens *int          `json:"max_completion_tokens"`
	Logprobs            bool          `json:"logprobs"`
	TopLogprobs         *int          `json:"top_logprobs"`
}

type chatTopLogprob struct {
	Token   string  `json:"token"`
	Logprob float64 `json:"logprob"`
	Bytes   []int   `json:"bytes"`
}

type chatTokenLogprob struct {
	chatTopLogprob
	TopLogprobs []chatTopLogprob `json:"top_logprobs"`
}

type chatLogprobs struct {
	Content []chatTokenLogprob `json:"content"`
}

type chatChoice struct {
	Index        int               `json:"index"`
	Message      model.ChatMessage `json:"message"`
	Logprobs     *chatLogprobs     `json:"logprobs"`
	FinishReason string            `json:"finish_reason"`
	StopReason   *string           `json:"stop_reason"`
	TokenIDs     []int             `json:"token_ids"`
}

type chatResponse struct {
	ID             string       `json:"id"`
	Object         string       `json:"object"`
	Created        int64        `json:"created"`
	Model          string       `json:"model"`
	Choices        []chatChoice `json:"choices"`
	Usage          usage        `json:"usage"`
	PromptTokenIDs []int        `json:"prompt_token_ids"`
}

func chatRole(r string) bool {
	switch r {
	case "system", "developer", "user", "assistant", "tool":
		return true
	}
	return false
}

// messages converts the request's messages, or says what is wrong.
func toMessages(in []chatMessage) ([]model.ChatMessage, error) {
	if len(in) == 0 {
		return nil, fmt.Errorf("messages must hold at least one message")
	}
	out := make([]model.ChatMessage, len(in))
	for i, m := range in {
		if !chatRole(m.Role) {
			return nil, fmt.Errorf("messages[%d].role = %q: want system, developer, user, assistant or tool", i, m.Role)
		}
		var text string
		if err := json.Unmarshal(m.Content, &text); err != nil {
			var parts []struct {
				Type string `json:"type"`
				Text string `json:"text"`
			}
			if err := json.Unmarshal(m.Content, &parts); err != nil {
				return nil, fmt.Errorf("messages[%d].content must be a string or an array of text parts", i)
			}
			for _, p := range parts {
				if p.Type != "text" {
					return nil, fmt.Errorf("messages[%d].content has a part of type %q; only text is supported", i, p.Type)
				}
				text += p.Text
			}
		}
		out[i] = model.ChatMessage{Role: m.Role, Content: text}
	}
	return out, nil
}

func (s *Server) handleChat(w http.ResponseWriter, r *http.Request) {
	decoded, ok := s.admit(r)
	if !ok {
		return
	}
	defer decoded()
	var req chatRequest
	if !s.decodeBody(w, r, &req) {
		return
	}
	if req.MaxTokens == nil {
		req.MaxTokens = req.MaxCompletionTokens
	}
	sv := s.current.Load()
	msgs, err := toMessages(req.Messages)
	if err != nil {
		badRequest(w, "messages", "%v", err)
		return
	}
	if n := model.ChatPromptLen(msgs); n >= sv.m.Config().Context {
		badRequest(w, "messages", "%s", tooLong(n, sv.m.Config().Context))
		return
	}
	prompt := model.ChatPrompt(msgs)
	if msg := checkPrompt(sv.m, prompt); msg != "" {
		badRequest(w, "messages", "%s", msg)
		return
	}
	rest := min(sv.m.Config().Context-len(prompt), s.cfg.MaxTokens)
	opts, n, ok := s.parse(w, &req.samplingParams, rest)
	if !ok {
		return
	}
	if req.Stream && req.Logprobs {
		badRequest(w, "logprobs", "logprobs with stream=true is not supported; send stream=false for logprobs")
		return
	}
	if req.TopLogprobs != nil {
		if *req.TopLogprobs < 0 || *req.TopLogprobs > 20 {
			badRequest(w, "top_logprobs", "top_logprobs = %d: want 0..20", *req.TopLogprobs)
			return
		}
		if req.Logprobs {
			opts.TopLogprobs = *req.TopLogprobs
		}
	}
	req.Messages, msgs = nil, nil // the ids are what is kept
	decoded()
	gens, err := s.run(r.Context(), sv.m, []job{{prompt: prompt, n: n, opts: opts}})
	if err != nil {
		s.generationFailed(w, r, err)
		return
	}
	resp := chatResponse{ID: "chatcmpl-" + uuid.NewString(), Object: "chat.completion", Created: s.cfg.Now().Unix(), Model: s.cfg.ModelName, PromptTokenIDs: prompt, Choices: []chatChoice{}}
	resp.Usage.PromptTokens = len(prompt)
	for k, g := range gens[0] {
		ch := chatChoice{Index: k, Message: model.ChatMessage{Role: "assistant", Content: g.Text}, FinishReason: g.Finish, TokenIDs: g.Tokens}
		if g.StopString != "" {
			ch.StopReason = &g.StopString
		}
		if req.Logprobs {
			ch.Logprobs = chatLogprobsOf(g, req.ReturnTokensAsTokenIDs)
		}
		resp.Usage.CompletionTokens += len(g.Tokens)
		resp.Choices = append(resp.Choices, ch)
	}
	resp.Usage.TotalTokens = resp.Usage.PromptTokens + resp.Usage.CompletionTokens
	s.modelHeader(w, sv)
	if req.Stream {
		streamChat(w, resp, req.StreamOptions != nil && req.StreamOptions.IncludeUsage)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

func tokenBytes(id int) []int {
	s := model.Tokenizer{}.TokenString(id)
	b := make([]int, len(s))
	for i := 0; i < len(s); i++ {
		b[i] = int(s[i])
	}
	return b
}

func chatLogprobsOf(g model.Generation, asIDs bool) *chatLogprobs {
	lp := &chatLogprobs{Content: []chatTokenLogprob{}}
	for i, id := range g.Tokens {
		e := chatTokenLogprob{chatTopLogprob: chatTopLogprob{Token: tokenText(id, asIDs), Logprob: finite(g.Logprobs[i]), Bytes: tokenBytes(id)}, TopLogprobs: []chatTopLogprob{}}
		if i < len(g.TopLogprobs) {
			for _, t := range g.TopLogprobs[i] {
				e.TopLogprobs = append(e.TopLogprobs, chatTopLogprob{Token: tokenText(t.ID, asIDs), Logprob: finite(t.Logprob), Bytes: tokenBytes(t.ID)})
			}
		}
		lp.Content = append(lp.Content, e)
	}
	return lp
}
