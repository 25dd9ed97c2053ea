// Package server is the OpenAI-compatible HTTP server over the embedded
// model (package model): /v1/models, /v1/completions and
// /v1/chat/completions with the response fields vLLM adds for RL clients
// (token ids, prompt token ids, "token_id:N" logprob tokens), streaming as
// server-sent events (stream, stream_options.include_usage), /tokenize and
// /detokenize, hot swap of weights (Publish) without dropping requests in
// flight, OpenAI-style errors, optional bearer-token auth, bounds on
// request size, n and max_tokens, on the requests decoded at once and on
// the time a connection may take.
package server

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"tabler1/model"
)

// Config configures a Server. The zero value serves with the defaults
// documented on each field.
type Config struct {
	// ModelName is the id served by /v1/models and required in requests
	// (default "tabler1-tiny").
	ModelName string
	// APIKey, when set, must be presented as "Authorization: Bearer KEY"
	// on every route but /health (compared in constant time).
	APIKey string
	// MaxN bounds a request's n (default 64).
	MaxN int
	// MaxPrompts bounds the prompts of one completions request (default 64).
	MaxPrompts int
	// MaxCompletions bounds prompts times n in one request (default 256).
	MaxCompletions int
	// MaxTokens bounds max_tokens (default: the model's context).
	MaxTokens int
	// MaxBodyBytes bounds a request body (default 4 MiB).
	MaxBodyBytes int64
	// MaxConcurrent is how many prompts are generated at once; other
	// requests wait (default GOMAXPROCS).
	MaxConcurrent int
	// MaxDecoding is how many request bodies are read, decoded and
	// tokenized at once (default 4); others wait with their bodies unread.
	// With the length checks done before tokenizing, it bounds the memory
	// a burst of large bodies can take (about 3 times MaxBodyBytes each).
	MaxDecoding int
	// ReadHeaderTimeout bounds reading a request's headers (default 10s),
	// ReadTimeout the whole request, body included (default 1m).
	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	// WriteTimeout bounds a request from the end of its headers to the end
	// of its response (default 10m): generation is cancelled and the
	// connection closed, so a client that never reads holds nothing.
	WriteTimeout time.Duration
	// IdleTimeout closes keep-alive connections idle this long (default 2m).
	IdleTimeout time.Duration
	// Seed seeds requests that carry no seed.
	Seed uint64
	// Logger receives one line per request (default: none).
	Logger *zap.Logger
	// Now is the clock of "created" fields (default time.Now).
	Now func() time.Time
}

// Server serves one model at a time; Publish swaps it.
type Server struct {
	cfg     Config
	current atomic.Pointer[served]
	seeds   atomic.Uint64
	sem     chan struct{}
	dec     chan struct{}
	mux     *http.ServeMux
}

// served is a published model and its version.
type served struct {
	m       *model.Model
	version int64
}

// New returns a server over m.
func New(cfg Config, m *model.Model) (*Server, error) {
	if m == nil {
		return nil, errors.New("server: no model")
	}
	if cfg.ModelName == "" {
		cfg.ModelName = "tabler1-tiny"
	}
	if cfg.MaxN <= 0 {
		cfg.MaxN = 64
	}
	if cfg.MaxPrompts <= 0 {
		cfg.MaxPrompts = 64
	}
	if cfg.MaxCompletions <= 0 {
		cfg.MaxCompletions = 256
	}
	if cfg.MaxTokens <= 0 {
		cfg.MaxTokens = m.Config().Context
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 4 << 20
	}
	if cfg.MaxConcurrent <= 0 {
		cfg.MaxConcurrent = runtime.GOMAXPROCS(0)
	}
	if cfg.MaxDecoding <= 0 {
		cfg.MaxDecoding = 4
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&cfg.ReadHeaderTimeout, 10*time.Second)
	def(&cfg.ReadTimeout, time.Minute)
	def(&cfg.WriteTimeout, 10*time.Minute)
	def(&cfg.IdleTimeout, 2*time.Minute)
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Server{cfg: cfg, sem: make(chan struct{}, cfg.MaxConcurrent), dec: make(chan struct{}, cfg.MaxDecoding), mux: http.NewServeMux()}
	s.current.Store(&served{m: m, version: 1})
	s.mux.HandleFunc("/health", only(http.MethodGet, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) }))
	s.mux.HandleFunc("/v1/models", only(http.MethodGet, s.handleModels))
	s.mux.HandleFunc("/v1/completions", only(http.MethodPost, s.handleCompletions))
	s.mux.HandleFunc("/v1/chat/completions", only(http.MethodPost, s.handleChat))
	s.mux.HandleFunc("/tokenize", only(http.MethodPost, s.handleTokenize))
	s.mux.HandleFunc("/detokenize", only(http.MethodPost, s.handleDetokenize))
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "invalid_request_error", "not_found", "", "no route "+r.URL.Path+"; this server has /v1/models, /v1/completions, /v1/chat/completions, /tokenize, /detokenize and /health")
	})
	return s, nil
}

// only answers other methods than method with an OpenAI-style 405.
func only(method string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method != method {
			w.Header().Set("Allow", method)
			writeError(w, http.StatusMethodNotAllowed, "invalid_request_error", "method_not_allowed", "", r.Method+" "+r.URL.Path+" is not allowed; use "+method)
			return
		}
		h(w, r)
	}
}

// Publish makes m the model of every request that starts from now on;
// requests in flight finish on the model they started with. It returns the
// new version (the first model is version 1).
func (s *Server) Publish(m *model.Model) (int64, error) {
	if m == nil {
		return 0, errors.New("publish: no model")
	}
	for {
		old := s.current.Load()
		next := &served{m: m, version: old.version + 1}
		if s.current.CompareAndSwap(old, next) {
			return next.version, nil
		}
	}
}

// Version is the version of the model now served.
func (s *Server) Version() int64 { return s.current.Load().version }

// ServeHTTP routes a request after checking its API key.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	defer func() {
		s.cfg.Logger.Info("request", zap.String("method", r.Method), zap.String("path", r.URL.Path),
			zap.Int("status", sw.status), zap.Duration("took", time.Since(start)))
	}()
	if s.cfg.APIKey != "" && r.URL.Path != "/health" && !s.authorized(r) {
		writeError(sw, http.StatusUnauthorized, "invalid_request_error", "invalid_api_key", "",
			"missing or wrong API key: send the header 'Authorization: Bearer <key>'")
		return
	}
	r.Body = http.MaxBytesReader(sw, r.Body, s.cfg.MaxBodyBytes)
	// The write deadline also ends the generation it would cut off.
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.WriteTimeout)
	defer cancel()
	s.mux.ServeHTTP(sw, r.WithContext(ctx))
}

func (s *Server) authorized(r *http.Request) bool {
	h := r.Header.Get("Authorization")
	const prefix = "Bearer "
	if len(h) < len(prefix) || !strings.EqualFold(h[:len(prefix)], prefix) {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(strings.TrimSpace(h[len(prefix):])), []byte(s.cfg.APIKey)) == 1
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

// ListenAndServe serves on addr (default 127.0.0.1:8000) until ctx is done,
// then shuts down gracefully, letting requests in flight finish for up to
// 30 seconds. Connections are bounded by the Config's timeouts.
func (s *Server) ListenAndServe(ctx context.Context, addr string) error {
	if addr == "" {
		addr = "127.0.0.1:8000"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("serve: listen on %s: %w", addr, err)
	}
	return s.Serve(ctx, ln)
}

// Serve serves on ln until ctx is done (see ListenAndServe).
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{Handler: s, ReadHeaderTimeout: s.cfg.ReadHeaderTimeout, ReadTimeout: s.cfg.ReadTimeout,
		WriteTimeout: s.cfg.WriteTimeout, IdleTimeout: s.cfg.IdleTimeout}
	done := make(chan error, 1)
	go func() { done <- hs.Serve(ln) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		return fmt.Errorf("serve: shutdown: %w", err)
	}
	<-done
	return nil
}

// acquire takes a generation slot, or fails when ctx is done first.
func (s *Server) acquire(ctx context.Context) error {
	select {
	case s.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Server) release() { <-s.sem }

// admit takes a decoding slot for r: its body is read, decoded and
// tokenized only while the slot is held, so a burst of large bodies waits
// rather than being held in memory at once. The returned function gives the
// slot back (once; later calls do nothing). ok is false when the request
// ended while waiting.
func (s *Server) admit(r *http.Request) (done func(), ok bool) {
	select {
	case s.dec <- struct{}{}:
	case <-r.Context().Done():
		return nil, false
	}
	var once sync.Once
	return func() { once.Do(func() { <-s.dec }) }, true
}

// seedFor returns the request's seed, or a fresh one from the server's
// sequence.
func (s *Server) seedFor(seed *int64) uint64 {
	if seed != nil {
		return uint64(*seed)
	}
	return s.cfg.Seed*0x9e3779b97f4a7c15 + s.seeds.Add(1)
}

func (s *Server) modelHeader(w http.ResponseWriter, sv *served) {
	w.Header().Set("X-Tabler1-Model-Version", strconv.FormatInt(sv.version, 10))
}
