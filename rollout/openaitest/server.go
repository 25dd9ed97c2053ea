// Package openaitest provides an OpenAI-compatible HTTP server for tests and
// benchmarks, in the manner of net/http/httptest: scripted completions that
// carry token ids and per-token logprobs in the formats vLLM and SGLang use,
// a byte-level /tokenize endpoint, added latency, and fault injection (429,
// 500, hung requests, dropped connections, malformed JSON, the wrong number
// of choices). It listens on 127.0.0.1 only.
package openaitest

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Fault is a way a request can fail on purpose.
type Fault string

// The faults a Server can inject.
const (
	FaultNone      Fault = ""
	Fault429       Fault = "429"       // 429 Too Many Requests with an OpenAI error body
	Fault500       Fault = "500"       // 500 Internal Server Error
	FaultHang      Fault = "hang"      // never answers (until the client gives up or the server closes)
	FaultDrop      Fault = "drop"      // closes the connection without a response
	FaultMalformed Fault = "malformed" // 200 with a truncated JSON body
	FaultWrongN    Fault = "wrong_n"   // one choice fewer than asked for
)

// AllFaults lists every fault, for Config.FaultKinds.
var AllFaults = []Fault{Fault429, Fault500, FaultHang, FaultDrop, FaultMalformed, FaultWrongN}

// Request is what a completion or chat request asked for, as the server read it.
type Request struct {
	Path        string    // /v1/completions or /v1/chat/completions
	Model       string    //
	Prompt      string    // completions
	Messages    []Message // chat
	N           int       // at least 1
	MaxTokens   int       //
	Temperature *float64  // nil when absent
	TopP        *float64  //
	Seed        *int      //
	Stop        []string  //
	// Token data the client asked for: Logprobs (completions: the logprobs
	// count; chat: logprobs true), ReturnTokensAsTokenIDs (vLLM) and
	// ReturnTokenIDs (vLLM >= 0.10.2 and SGLang: token_ids and
	// prompt_token_ids per choice).
	Logprobs               bool
	ReturnTokensAsTokenIDs bool
	ReturnTokenIDs         bool
}

// Message is one chat message.
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// Choice is one scripted completion. TokenIDs and Logprobs, when nil, are
// derived: the byte-level tokenization of Text and seeded pseudo-random
// logprobs.
type Choice struct {
	Text         string
	FinishReason string // "stop" when empty
	TokenIDs     []int
	Logprobs     []float64
}

// Config configures a Server. The zero value serves "Answer: 42" to every
// request, with no latency and no faults.
type Config struct {
	// Model is the model id /v1/models lists (default "fake-model"); any
	// model name is accepted in requests.
	Model string
	// Script returns choice i (0 <= i < req.N) of a request. Nil serves
	// "Answer: 42". It is called concurrently.
	Script func(req Request, i int) Choice
	// Latency is added to every answered request.
	Latency time.Duration
	// FaultRate is the fraction of completion and chat requests that fail,
	// with a kind drawn uniformly from FaultKinds (default AllFaults).
	FaultRate  float64
	FaultKinds []Fault
	// FaultFor, when set, decides the fault of each request instead of
	// FaultRate (return FaultNone for a normal answer).
	FaultFor func(req Request) Fault
	// Seed seeds the fault draws and the derived logprobs.
	Seed uint64
	// APIKey, when set, is required as "Authorization: Bearer <key>" on
	// every request; others get 401.
	APIKey string
	// NoTokenIDs makes the server behave like one without token data: it
	// ignores return_token_ids and return_tokens_as_token_ids and returns
	// tokens as text (llama.cpp, Ollama, hosted APIs).
	NoTokenIDs bool
}

// Stats counts what a Server did.
type Stats struct {
	Requests int64           // completion and chat requests received
	Answered int64           // answered with choices
	Faults   map[Fault]int64 // injected faults by kind
	Probes   int64           // GET /v1/models
	Tokenize int64           // POST /tokenize
	// MaxInFlight is the most completion and chat requests the server was
	// handling at once.
	MaxInFlight int64
}

// Server is a running fake OpenAI-compatible server.
type Server struct {
	// URL is the OpenAI base URL, http://127.0.0.1:PORT/v1.
	URL string
	// Root is the server root, http://127.0.0.1:PORT (where /tokenize lives).
	Root string

	cfg     Config
	hs      *httptest.Server
	closing chan struct{}
	once    sync.Once
	down    atomic.Bool

	mu  sync.Mutex
	rng *rand.Rand

	requests, answered, probes, tokenize atomic.Int64
	inflight, maxInflight                atomic.Int64
	faults                               [6]atomic.Int64 // indexed like AllFaults
}

// NewServer starts a server on a free loopback port. Close it when done.
func NewServer(cfg Config) *Server {
	if cfg.Model == "" {
		cfg.Model = "fake-model"
	}
	if len(cfg.FaultKinds) == 0 {
		cfg.FaultKinds = AllFaults
	}
	s := &Server{
		cfg:     cfg,
		closing: make(chan struct{}),
		rng:     rand.New(rand.NewPCG(cfg.Seed, 0x6f70656e6169)),
	}
	mux := http.NewServeMux()
	var h http.Handler = mux
	mux.HandleFunc("POST /v1/completions", s.handleCompletion)
	mux.HandleFunc("POST /v1/chat/completions", s.handleCompletion)
	mux.HandleFunc("GET /v1/models", s.handleModels)
	mux.HandleFunc("POST /tokenize", s.handleTokenize)
	if cfg.APIKey != "" {
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") != "Bearer "+cfg.APIKey {
				writeError(w, http.StatusUnauthorized, "missing or wrong API key")
				return
			}
			mux.ServeHTTP(w, r)
		})
	}
	s.hs = httptest.NewServer(h)
	s.Root = s.hs.URL
	s.URL = s.hs.URL + "/v1"
	return s
}

// Close unblocks hung requests, closes client connections and stops the server.
func (s *Server) Close() {
	s.once.Do(func() {
		close(s.closing)
		s.hs.CloseClientConnections()
		s.hs.Close()
	})
}

// SetDown makes every request, probes included, answer 503 while down is true:
// a server that is up but not serving.
func (s *Server) SetDown(down bool) { s.down.Store(down) }

// Stats returns the counters so far.
func (s *Server) Stats() Stats {
	st := Stats{
		Requests: s.requests.Load(),
		Answered: s.answered.Load(),
		Probes:   s.probes.Load(),
		Tokenize: s.tokenize.Load(),
		Faults:   map[Fault]int64{},

		MaxInFlight: s.maxInflight.Load(),
	}
	for i, f := range AllFaults {
		if n := s.faults[i].Load(); n > 0 {
			st.Faults[f] = n
		}
	}
	return st
}

// Tokenize is the server's tokenizer: one token per byte, id = byte value + 3
// (ids 0-2 are reserved, as special tokens are in real vocabularies).
func Tokenize(text string) []int {
	ids := make([]int, len(text))
	for i := 0; i < len(text); i++ {
		ids[i] = int(text[i]) + 3
	}
	return ids
}

// requestBody is the JSON the server reads; fields it does not know are
// ignored, as vLLM and SGLang ignore them.
type requestBody struct {
	Model                  string          `json:"model"`
	Prompt                 json.RawMessage `json:"prompt"`
	Messages               []Message       `json:"messages"`
	N                      int             `json:"n"`
	MaxTokens              int             `json:"max_tokens"`
	Temperature            *float64        `json:"temperature"`
	TopP                   *float64        `json:"top_p"`
	Seed                   *int            `json:"seed"`
	Stop                   json.RawMessage `json:"stop"`
	Logprobs               json.RawMessage `json:"logprobs"`
	ReturnTokensAsTokenIDs bool            `json:"return_tokens_as_token_ids"`
	ReturnTokenIDs         bool            `json:"return_token_ids"`
	Stream                 bool            `json:"stream"`
}

func (s *Server) handleModels(w http.ResponseWriter, r *http.Request) {
	s.probes.Add(1)
	if s.down.Load() {
		writeError(w, http.StatusServiceUnavailable, "server is down (openaitest SetDown)")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"object":"list","data":[{"id":%s,"object":"model","owned_by":"openaitest"}]}`, quote(s.cfg.Model))
}

func (s *Server) handleTokenize(w http.ResponseWriter, r *http.Request) {
	s.tokenize.Add(1)
	if s.down.Load() {
		writeError(w, http.StatusServiceUnavailable, "server is down (openaitest SetDown)")
		return
	}
	var body struct {
		Model  string `json:"model"`
		Prompt string `json:"prompt"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		writeError(w, http.StatusBadRequest, "bad JSON: "+err.Error())
		return
	}
	ids := Tokenize(body.Prompt)
	b := make([]byte, 0, 16+4*len(ids))
	b = append(b, `{"tokens":`...)
	b = appendInts(b, ids)
	b = append(b, `,"count":`...)
	b = strconv.AppendInt(b, int64(len(ids)), 10)
	b = append(b, '}')
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}

func (s *Server) handleCompletion(w http.ResponseWriter, r *http.Request) {
	s.requests.Add(1)
	n := s.inflight.Add(1)
	defer s.inflight.Add(-1)
	for {
		m := s.maxInflight.Load()
		if n <= m || s.maxInflight.CompareAndSwap(m, n) {
			break
		}
	}
	if s.down.Load() {
		writeError(w, http.StatusServiceUnavailable, "server is down (openaitest SetDown)")
		return
	}
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	var body requestBody
	if err := json.Unmarshal(raw, &body); err != nil {
		writeError(w, http.StatusBadRequest, "bad JSON: "+err.Error())
		return
	}
	chat := strings.HasSuffix(r.URL.Path, "/chat/completions")
	req, err := toRequest(r.URL.Path, chat, &body)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if s.cfg.NoTokenIDs {
		req.ReturnTokenIDs, req.ReturnTokensAsTokenIDs = false, false
	}
	fault := s.pickFault(req)
	if fault != FaultNone {
		for i, f := range AllFaults {
			if f == fault {
				s.faults[i].Add(1)
			}
		}
	}
	switch fault {
	case Fault429:
		writeError(w, http.StatusTooManyRequests, "rate limited (openaitest fault)")
		return
	case Fault500:
		writeError(w, http.StatusInternalServerError, "internal error (openaitest fault)")
		return
	case FaultHang:
		select {
		case <-r.Context().Done():
		case <-s.closing:
		}
		return
	case FaultDrop:
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				_ = conn.Close()
				return
			}
		}
		panic(http.ErrAbortHandler)
	case FaultMalformed:
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"id":"cmpl-x","object":"text_completion","choices":[{"text":"Answ`)
		return
	}
	if s.cfg.Latency > 0 {
		t := time.NewTimer(s.cfg.Latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		case <-s.closing:
			t.Stop()
			return
		}
	}
	n = int64(req.N)
	if fault == FaultWrongN {
		n--
	}
	var promptIDs []int
	if req.ReturnTokenIDs {
		promptIDs = Tokenize(promptText(req))
	}
	b := make([]byte, 0, 512*int(n)+256)
	b = append(b, `{"id":"cmpl-openaitest","object":"`...)
	if chat {
		b = append(b, "chat.completion"...)
	} else {
		b = append(b, "text_completion"...)
	}
	b = append(b, `","created":0,"model":`...)
	b = appendQuote(b, req.Model)
	b = append(b, `,"choices":[`...)
	total := 0
	for i := 0; i < int(n); i++ {
		c := s.choice(req, i)
		total += len(c.TokenIDs)
		if i > 0 {
			b = append(b, ',')
		}
		b = appendChoice(b, chat, req, i, c, promptIDs)
	}
	b = append(b, ']')
	if chat && req.ReturnTokenIDs {
		// vLLM puts a chat prompt's ids on the response, not on each choice.
		b = append(b, `,"prompt_token_ids":`...)
		b = appendInts(b, promptIDs)
	}
	b = append(b, `,"usage":{"prompt_tokens":`...)
	pt := len(promptText(req))
	b = strconv.AppendInt(b, int64(pt), 10)
	b = append(b, `,"completion_tokens":`...)
	b = strconv.AppendInt(b, int64(total), 10)
	b = append(b, `,"total_tokens":`...)
	b = strconv.AppendInt(b, int64(pt+total), 10)
	b = append(b, "}}"...)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	_, _ = w.Write(b)
	s.answered.Add(1)
}

func toRequest(path string, chat bool, body *requestBody) (Request, error) {
	req := Request{
		Path: path, Model: body.Model, Messages: body.Messages, N: max(body.N, 1),
		MaxTokens: body.MaxTokens, Temperature: body.Temperature, TopP: body.TopP, Seed: body.Seed,
		ReturnTokensAsTokenIDs: body.ReturnTokensAsTokenIDs, ReturnTokenIDs: body.ReturnTokenIDs,
	}
	if body.Stream {
		return req, fmt.Errorf("stream is not supported by openaitest")
	}
	if chat {
		if len(body.Messages) == 0 {
			return req, fmt.Errorf("messages is required")
		}
	} else if err := json.Unmarshal(body.Prompt, &req.Prompt); err != nil {
		return req, fmt.Errorf("prompt must be a string: %v", err)
	}
	if len(body.Stop) > 0 && string(body.Stop) != "null" {
		var one string
		if json.Unmarshal(body.Stop, &one) == nil {
			req.Stop = []string{one}
		} else if err := json.Unmarshal(body.Stop, &req.Stop); err != nil {
			return req, fmt.Errorf("stop must be a string or a list of strings")
		}
	}
	switch lp := strings.TrimSpace(string(body.Logprobs)); lp {
	case "", "null", "false", "0":
	default:
		req.Logprobs = true
	}
	return req, nil
}

func promptText(req Request) string {
	if req.Messages == nil {
		return req.Prompt
	}
	// A stand-in chat template, so that chat prompts have token ids too.
	var sb strings.Builder
	for _, m := range req.Messages {
		sb.WriteString("<|" + m.Role + "|>" + m.Content + "\n")
	}
	sb.WriteString("<|assistant|>")
	return sb.String()
}

func (s *Server) pickFault(req Request) Fault {
	if s.cfg.FaultFor != nil {
		return s.cfg.FaultFor(req)
	}
	if s.cfg.FaultRate <= 0 {
		return FaultNone
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.rng.Float64() >= s.cfg.FaultRate {
		return FaultNone
	}
	return s.cfg.FaultKinds[s.rng.IntN(len(s.cfg.FaultKinds))]
}

func (s *Server) choice(req Request, i int) Choice {
	var c Choice
	if s.cfg.Script != nil {
		c = s.cfg.Script(req, i)
	} else {
		c = Choice{Text: "Answer: 42"}
	}
	if c.FinishReason == "" {
		c.FinishReason = "stop"
	}
	if c.TokenIDs == nil {
		c.TokenIDs = Tokenize(c.Text)
	}
	if c.Logprobs == nil {
		c.Logprobs = make([]float64, len(c.TokenIDs))
		// Deterministic per (seed, choice, position): no shared state.
		h := s.cfg.Seed ^ uint64(i+1)*0x9e3779b97f4a7c15
		for j := range c.Logprobs {
			h ^= h >> 33
			h *= 0xff51afd7ed558ccd
			h ^= h >> 29
			c.Logprobs[j] = -float64(h%4096) / 1024
		}
	}
	return c
}

func appendChoice(b []byte, chat bool, req Request, i int, c Choice, promptIDs []int) []byte {
	b = append(b, `{"index":`...)
	b = strconv.AppendInt(b, int64(i), 10)
	if chat {
		b = append(b, `,"message":{"role":"assistant","content":`...)
		b = appendQuote(b, c.Text)
		b = append(b, '}')
	} else {
		b = append(b, `,"text":`...)
		b = appendQuote(b, c.Text)
	}
	b = append(b, `,"finish_reason":`...)
	b = appendQuote(b, c.FinishReason)
	if req.Logprobs {
		b = append(b, `,"logprobs":`...)
		b = appendLogprobs(b, chat, req, c)
	} else {
		b = append(b, `,"logprobs":null`...)
	}
	if req.ReturnTokenIDs {
		b = append(b, `,"token_ids":`...)
		b = appendInts(b, c.TokenIDs)
		if !chat {
			b = append(b, `,"prompt_token_ids":`...)
			b = appendInts(b, promptIDs)
		}
	}
	return append(b, '}')
}

func appendLogprobs(b []byte, chat bool, req Request, c Choice) []byte {
	token := func(b []byte, j int) []byte {
		if req.ReturnTokensAsTokenIDs {
			return appendQuote(b, "token_id:"+strconv.Itoa(c.TokenIDs[j]))
		}
		if j < len(c.Text) && len(c.TokenIDs) == len(c.Text) {
			return appendQuote(b, c.Text[j:j+1])
		}
		return appendQuote(b, "?")
	}
	if chat {
		b = append(b, `{"content":[`...)
		for j := range c.TokenIDs {
			if j > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"token":`...)
			b = token(b, j)
			b = append(b, `,"logprob":`...)
			b = strconv.AppendFloat(b, c.Logprobs[j], 'g', -1, 64)
			b = append(b, `,"top_logprobs":[]}`...)
		}
		return append(b, "]}"...)
	}
	b = append(b, `{"tokens":[`...)
	for j := range c.TokenIDs {
		if j > 0 {
			b = append(b, ',')
		}
		b = token(b, j)
	}
	b = append(b, `],"token_logprobs":`...)
	b = append(b, '[')
	for j, lp := range c.Logprobs {
		if j > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendFloat(b, lp, 'g', -1, 64)
	}
	return append(b, `],"top_logprobs":null,"text_offset":null}`...)
}

func appendInts(b []byte, ids []int) []byte {
	b = append(b, '[')
	for j, id := range ids {
		if j > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, int64(id), 10)
	}
	return append(b, ']')
}

const hexDigits = "0123456789abcdef"

// appendQuote appends s as a JSON string.
func appendQuote(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c == '\n':
			b = append(b, '\\', 'n')
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}

func quote(s string) string { return string(appendQuote(nil, s)) }

func writeError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	fmt.Fprintf(w, `{"error":{"message":%s,"type":"openaitest_error","code":%d}}`, quote(msg), code)
}
