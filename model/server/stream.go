package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"unicode/utf8"
)

// streamOptions is the request's stream_options.
type streamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

// sseWriter writes a server-sent events response as the OpenAI API streams
// one: "data: {chunk}\n\n" per chunk, then "data: [DONE]\n\n". The
// completions are generated before the first event (the model has no token
// callback), so streaming serves the clients that stream by default; it
// does not shorten the time to the first token.
type sseWriter struct {
	w       http.ResponseWriter
	flusher http.Flusher
	err     error
}

func newSSE(w http.ResponseWriter) *sseWriter {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("Connection", "keep-alive")
	w.WriteHeader(http.StatusOK)
	f, _ := w.(http.Flusher)
	return &sseWriter{w: w, flusher: f}
}

// send writes one chunk; after a write error (the client left) it does
// nothing.
func (s *sseWriter) send(v any) {
	if s.err != nil {
		return
	}
	b, err := json.Marshal(v)
	if err != nil {
		s.err = err
		return
	}
	if _, s.err = fmt.Fprintf(s.w, "data: %s\n\n", b); s.err == nil && s.flusher != nil {
		s.flusher.Flush()
	}
}

func (s *sseWriter) done() {
	if s.err == nil {
		_, s.err = fmt.Fprint(s.w, "data: [DONE]\n\n")
		if s.flusher != nil {
			s.flusher.Flush()
		}
	}
}

// pieces splits a completion's text into the deltas of a stream: one
// character each, as a byte-level model produces them (a multi-byte
// character is one delta, never a broken one).
func pieces(text string) []string {
	out := make([]string, 0, len(text))
	for len(text) > 0 {
		_, n := utf8.DecodeRuneInString(text)
		out = append(out, text[:n])
		text = text[n:]
	}
	return out
}

// streamChunk is one event of a stream: a chunk of the response's choices
// (completionChunkChoice or chatChunkChoice) or, last and only when
// stream_options.include_usage is set, no choice and the request's usage.
type streamChunk struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	Model   string `json:"model"`
	Choices []any  `json:"choices"`
	Usage   *usage `json:"usage,omitempty"`
}

// stream writes one chunk per choice delta, then the usage chunk when
// asked, then [DONE].
func stream(w http.ResponseWriter, head streamChunk, deltas []any, u usage, includeUsage bool) {
	sse := newSSE(w)
	for _, d := range deltas {
		c := head
		c.Choices = []any{d}
		sse.send(c)
	}
	if includeUsage {
		c := head
		c.Choices = []any{}
		c.Usage = &u
		sse.send(c)
	}
	sse.done()
}

type completionChunkChoice struct {
	Index        int     `json:"index"`
	Text         string  `json:"text"`
	Logprobs     any     `json:"logprobs"`
	FinishReason *string `json:"finish_reason"`
}

// streamCompletion writes resp as /v1/completions streams it.
func streamCompletion(w http.ResponseWriter, resp completionResponse, includeUsage bool) {
	var deltas []any
	for _, ch := range resp.Choices {
		for _, p := range pieces(ch.Text) {
			deltas = append(deltas, completionChunkChoice{Index: ch.Index, Text: p})
		}
		finish := ch.FinishReason
		deltas = append(deltas, completionChunkChoice{Index: ch.Index, FinishReason: &finish})
	}
	head := streamChunk{ID: resp.ID, Object: "text_completion", Created: resp.Created, Model: resp.Model}
	stream(w, head, deltas, resp.Usage, includeUsage)
}

type chatDelta struct {
	Role    string `json:"role,omitempty"`
	Content string `json:"content,omitempty"`
}

type chatChunkChoice struct {
	Index        int       `json:"index"`
	Delta        chatDelta `json:"delta"`
	Logprobs     any       `json:"logprobs"`
	FinishReason *string   `json:"finish_reason"`
}

// streamChat writes resp as /v1/chat/completions streams it: a first delta
// with the role, then the content, then an empty delta with the finish
// reason.
func streamChat(w http.ResponseWriter, resp chatResponse, includeUsage bool) {
	var deltas []any
	for _, ch := range resp.Choices {
		deltas = append(deltas, chatChunkChoice{Index: ch.Index, Delta: chatDelta{Role: ch.Message.Role}})
		for _, p := range pieces(ch.Message.Content) {
			deltas = append(deltas, chatChunkChoice{Index: ch.Index, Delta: chatDelta{Content: p}})
		}
		finish := ch.FinishReason
		deltas = append(deltas, chatChunkChoice{Index: ch.Index, FinishReason: &finish})
	}
	head := streamChunk{ID: resp.ID, Object: "chat.completion.chunk", Created: resp.Created, Model: resp.Model}
	stream(w, head, deltas, resp.Usage, includeUsage)
}
