// Package backendtest is an in-memory server of the remote backend protocol
// (docs/backend-protocol.md) for tests: it keeps counters instead of a
// model, answers repeated request ids from its record, and fails or hangs
// on purpose so that the client's deadlines and retries can be checked.
package backendtest

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"sync"
)

// Server implements the protocol over counters. Its zero value is not
// ready: use New.
type Server struct {
	// Token, when set, is the bearer token every request must carry.
	Token string

	mu sync.Mutex
	// FailEvery makes every FailEvery-th request (counting all requests)
	// answer 503 before doing any work; 0 never.
	FailEvery int
	// FailRate makes a request answer 503 with this probability.
	FailRate float64
	// HangEvery makes every HangEvery-th request wait until the client
	// gives up; 0 never.
	HangEvery int
	rng       *rand.Rand

	requests  int
	seen      map[string][]byte
	state     State
	pendingFB int // forward-backwards since the last optim step
}

// State is what the fake "model" is: counters a test can check.
type State struct {
	Step            int     `json:"step"`
	Version         int     `json:"version"`
	ForwardBackward int     `json:"forward_backward"`
	SFT             int     `json:"sft"`
	Sequences       int     `json:"sequences"`
	AdvantageSum    float64 `json:"advantage_sum"`
	LastLR          float64 `json:"last_lr"`
}

// New returns a server whose random failures draw from seed.
func New(seed uint64) *Server {
	return &Server{rng: rand.New(rand.NewPCG(seed, 0)), seen: map[string][]byte{}}
}

// State returns the counters.
func (s *Server) State() State {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state
}

// Requests returns how many requests arrived (failed ones included).
func (s *Server) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

// SetFaults changes the failure injection while the server runs.
func (s *Server) SetFaults(failEvery, hangEvery int, failRate float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.FailEvery, s.HangEvery, s.FailRate = failEvery, hangEvery, failRate
}

type request struct {
	RequestID string `json:"request_id"`
	Dir       string `json:"dir"`
	Batch     struct {
		Step      int `json:"step"`
		Sequences []struct {
			Completion string  `json:"completion"`
			Advantage  float64 `json:"advantage"`
		} `json:"sequences"`
	} `json:"batch"`
	Loss  json.RawMessage `json:"loss"`
	Optim struct {
		LR float64 `json:"lr"`
	} `json:"optim"`
}

func writeJSON(w http.ResponseWriter, status int, v any) []byte {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
	return b
}

func fail(w http.ResponseWriter, status int, format string, a ...any) {
	writeJSON(w, status, map[string]string{"error": fmt.Sprintf(format, a...)})
}

// ServeHTTP implements the protocol.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.Token != "" && r.Header.Get("Authorization") != "Bearer "+s.Token {
		fail(w, http.StatusUnauthorized, "missing or wrong bearer token")
		return
	}
	s.mu.Lock()
	s.requests++
	n := s.requests
	hang := s.HangEvery > 0 && n%s.HangEvery == 0
	failNow := (s.FailEvery > 0 && n%s.FailEvery == 0) || (s.FailRate > 0 && s.rng.Float64() < s.FailRate)
	s.mu.Unlock()
	if hang {
		// Read the body first: the server notices a client that gave up
		// (and cancels r's context) only once the body is consumed.
		io.Copy(io.Discard, r.Body)
		<-r.Context().Done()
		return
	}
	if failNow {
		fail(w, http.StatusServiceUnavailable, "injected failure (request %d)", n)
		return
	}
	method := filepath.Base(r.URL.Path)
	if method == "health" {
		s.mu.Lock()
		st := s.state
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "model": "backendtest", "step": st.Step, "version": st.Version})
		return
	}
	if r.Method != http.MethodPost {
		fail(w, http.StatusMethodNotAllowed, "%s wants POST", method)
		return
	}
	var req request
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		fail(w, http.StatusBadRequest, "decoding %s request: %v", method, err)
		return
	}
	if req.RequestID == "" {
		fail(w, http.StatusBadRequest, "%s: request_id is required", method)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if b, ok := s.seen[req.RequestID]; ok {
		w.Header().Set("Content-Type", "application/json")
		w.Write(b)
		return
	}
	var out any
	switch method {
	case "forward_backward", "sft_forward_backward":
		if method == "forward_backward" && len(req.Loss) == 0 {
			fail(w, http.StatusBadRequest, "forward_backward: loss is required")
			return
		}
		tokens := 0
		for _, q := range req.Batch.Sequences {
			tokens += len(q.Completion)
			s.state.AdvantageSum += q.Advantage
		}
		s.state.Sequences += len(req.Batch.Sequences)
		if method == "sft_forward_backward" {
			s.state.SFT++
		} else {
			s.state.ForwardBackward++
		}
		s.pendingFB++
		// A made-up loss that falls with the step, so curves have a shape.
		out = map[string]any{"loss": 1 / float64(1+s.state.Step), "kl": 0, "clip_fraction": 0, "tokens": tokens}
	case "optim_step":
		if s.pendingFB == 0 {
			fail(w, http.StatusConflict, "optim_step without a forward_backward since the last step")
			return
		}
		s.pendingFB = 0
		s.state.Step++
		s.state.LastLR = req.Optim.LR
		out = map[string]any{"grad_norm": 1, "lr": req.Optim.LR}
	case "publish":
		s.state.Version++
		out = map[string]any{"version": s.state.Version}
	case "save":
		if err := os.MkdirAll(req.Dir, 0o755); err != nil {
			fail(w, http.StatusInternalServerError, "save: %v", err)
			return
		}
		b, _ := json.Marshal(s.state)
		if err := os.WriteFile(filepath.Join(req.Dir, "backendtest.json"), b, 0o644); err != nil {
			fail(w, http.StatusInternalServerError, "save: %v", err)
			return
		}
		out = map[string]any{}
	case "load":
		b, err := os.ReadFile(filepath.Join(req.Dir, "backendtest.json"))
		if err != nil {
			fail(w, http.StatusNotFound, "load: %v", err)
			return
		}
		var st State
		if err := json.Unmarshal(b, &st); err != nil {
			fail(w, http.StatusUnprocessableEntity, "load: %v", err)
			return
		}
		s.state = st
		s.pendingFB = 0
		out = map[string]any{}
	default:
		fail(w, http.StatusNotFound, "unknown method %q", method)
		return
	}
	s.seen[req.RequestID] = writeJSON(w, http.StatusOK, out)
}
