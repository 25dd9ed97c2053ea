package server

import (
	"net/http"

	"tabler1/model"
)

type modelCard struct {
	ID          string `json:"id"`
	Object      string `json:"object"`
	Created     int64  `json:"created"`
	OwnedBy     string `json:"owned_by"`
	MaxModelLen int    `json:"max_model_len"`
}

func (s *Server) handleModels(w http.ResponseWriter, r *http.Request) {
	sv := s.current.Load()
	card := modelCard{ID: s.cfg.ModelName, Object: "model", Created: s.cfg.Now().Unix(), OwnedBy: "tabler1", MaxModelLen: sv.m.Config().Context}
	s.modelHeader(w, sv)
	writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": []modelCard{card}})
}

type tokenizeRequest struct {
	Model               string        `json:"model"`
	Prompt              *string       `json:"prompt"`
	Messages            []chatMessage `json:"messages"`
	AddSpecialTokens    *bool         `json:"add_special_tokens"`
	AddGenerationPrompt *bool         `json:"add_generation_prompt"`
}

type tokenizeResponse struct {
	Tokens      []int `json:"tokens"`
	Count       int   `json:"count"`
	MaxModelLen int   `json:"max_model_len"`
}

// handleTokenize is vLLM's /tokenize: a prompt (BOS prepended unless
// add_special_tokens is false, as /v1/completions does) or chat messages
// (the chat template, as /v1/chat/completions does).
func (s *Server) handleTokenize(w http.ResponseWriter, r *http.Request) {
	decoded, ok := s.admit(r)
	if !ok {
		return
	}
	defer decoded()
	var req tokenizeRequest
	if !s.decodeBody(w, r, &req) {
		return
	}
	context := s.current.Load().m.Config().Context
	if req.Model != "" && req.Model != s.cfg.ModelName {
		writeError(w, http.StatusNotFound, "invalid_request_error", "model_not_found", "model", "the model "+req.Model+" does not exist; this server serves "+s.cfg.ModelName)
		return
	}
	var ids []int
	switch {
	case req.Prompt != nil && req.Messages != nil:
		badRequest(w, "prompt", "send either prompt or messages, not both")
		return
	case req.Prompt != nil:
		bos := req.AddSpecialTokens == nil || *req.AddSpecialTokens
		n := model.Tokenizer{}.Len(*req.Prompt)
		if bos {
			n++
		}
		// Nothing longer can be sent to the model: refused before it is
		// tokenized, as the completion endpoints do.
		if n >= context {
			badRequest(w, "prompt", "%s", tooLong(n, context))
			return
		}
		ids = model.Tokenizer{}.Encode(*req.Prompt)
		if bos {
			ids = append([]int{model.BOS}, ids...)
		}
	case req.Messages != nil:
		msgs, err := toMessages(req.Messages)
		if err != nil {
			badRequest(w, "messages", "%v", err)
			return
		}
		if n := model.ChatPromptLen(msgs); n >= context {
			badRequest(w, "messages", "%s", tooLong(n, context))
			return
		}
		ids = model.ChatPrompt(msgs)
	default:
		badRequest(w, "prompt", "prompt or messages is required")
		return
	}
	writeJSON(w, http.StatusOK, tokenizeResponse{Tokens: ids, Count: len(ids), MaxModelLen: context})
}

type detokenizeRequest struct {
	Model  string `json:"model"`
	Tokens []int  `json:"tokens"`
}

func (s *Server) handleDetokenize(w http.ResponseWriter, r *http.Request) {
	decoded, ok := s.admit(r)
	if !ok {
		return
	}
	defer decoded()
	var req detokenizeRequest
	if !s.decodeBody(w, r, &req) {
		return
	}
	if req.Model != "" && req.Model != s.cfg.ModelName {
		writeError(w, http.StatusNotFound, "invalid_request_error", "model_not_found", "model", "the model "+req.Model+" does not exist; this server serves "+s.cfg.ModelName)
		return
	}
	text, err := model.Tokenizer{}.Decode(req.Tokens, false)
	if err != nil {
		badRequest(w, "tokens", "%v", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"prompt": text})
}
