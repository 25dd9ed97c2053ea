package dash

import (
	"crypto/subtle"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"sync"
)

//go:embed assets
var assets embed.FS

// Server serves the dashboard of a set of run directories. Create it with
// New; it is safe for concurrent use.
type Server struct {
	runs  []*run
	token string
	mux   *http.ServeMux
}

// run is one run directory and what the server has read of it.
type run struct {
	Name    string `json:"name"`
	Dir     string `json:"dir"`
	metrics *metricsTail
	idx     *indexCache
}

// New returns a server for the run directories. With a non-empty token every
// request must carry it (?token= once, then the cookie it sets, or an
// "Authorization: Bearer" header).
func New(dirs []string, token string) (*Server, error) {
	if len(dirs) == 0 {
		return nil, errors.New("dash: no run directory given")
	}
	s := &Server{token: token, mux: http.NewServeMux()}
	seen := map[string]int{}
	for _, d := range dirs {
		name := filepath.Base(filepath.Clean(d))
		if seen[name]++; seen[name] > 1 {
			name = fmt.Sprintf("%s#%d", name, seen[name])
		}
		s.runs = append(s.runs, &run{Name: name, Dir: d, metrics: &metricsTail{path: filepath.Join(d, "metrics.jsonl")}, idx: newIndexCache(64)})
	}
	static, _ := fs.Sub(assets, "assets")
	s.mux.Handle("GET /", http.FileServerFS(static))
	s.mux.HandleFunc("GET /api/runs", s.handleRuns)
	s.mux.HandleFunc("GET /api/metrics", s.handleMetrics)
	s.mux.HandleFunc("GET /api/steps", s.handleSteps)
	s.mux.HandleFunc("GET /api/rollouts", s.handleRollouts)
	s.mux.HandleFunc("GET /api/sample", s.handleSample)
	s.mux.HandleFunc("GET /api/evals", s.handleEvals)
	return s, nil
}

const tokenCookie = "tabler1_dash"

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.token != "" {
		ok := false
		if c, err := r.Cookie(tokenCookie); err == nil {
			ok = s.tokenOK(c.Value)
		}
		if h := r.Header.Get("Authorization"); !ok && len(h) > 7 && h[:7] == "Bearer " {
			ok = s.tokenOK(h[7:])
		}
		if q := r.URL.Query().Get("token"); !ok && q != "" && s.tokenOK(q) {
			ok = true
			http.SetCookie(w, &http.Cookie{Name: tokenCookie, Value: q, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode})
		}
		if !ok {
			http.Error(w, "this dashboard needs its token: open it with ?token=TOKEN", http.StatusUnauthorized)
			return
		}
	}
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:")
	s.mux.ServeHTTP(w, r)
}

func (s *Server) tokenOK(t string) bool {
	return subtle.ConstantTimeCompare([]byte(t), []byte(s.token)) == 1
}

// Listen opens addr for the dashboard. A non-loopback address is refused
// without a token: the dashboard shows prompts, programs and outputs.
func Listen(addr, token string) (net.Listener, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("dash: address %q: %w (want host:port, e.g. 127.0.0.1:8080)", addr, err)
	}
	if token == "" && !loopback(host) {
		return nil, fmt.Errorf("dash: refusing to serve on %s without a token: bind 127.0.0.1, or pass a token that every request must carry", addr)
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("dash: %w", err)
	}
	return l, nil
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (s *Server) run(w http.ResponseWriter, r *http.Request) (*run, bool) {
	i, err := strconv.Atoi(r.URL.Query().Get("run"))
	if err != nil || i < 0 || i >= len(s.runs) {
		http.Error(w, fmt.Sprintf("unknown run %q: want 0..%d", r.URL.Query().Get("run"), len(s.runs)-1), http.StatusBadRequest)
		return nil, false
	}
	return s.runs[i], true
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if err := json.NewEncoder(w).Encode(v); err != nil {
		// The client went away; nothing to tell it.
		return
	}
}

func (s *Server) handleRuns(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, s.runs)
}

func (s *Server) handleMetrics(w http.ResponseWriter, r *http.Request) {
	rn, ok := s.run(w, r)
	if !ok {
		return
	}
	since, _ := strconv.Atoi(r.URL.Query().Get("since"))
	page, err := rn.metrics.since(since)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(page)
}

func (s *Server) handleSteps(w http.ResponseWriter, r *http.Request) {
	rn, ok := s.run(w, r)
	if !ok {
		return
	}
	steps, err := rolloutSteps(rn.Dir)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	writeJSON(w, map[string]any{"steps": steps})
}

func (s *Server) handleRollouts(w http.ResponseWriter, r *http.Request) {
	rn, ok := s.run(w, r)
	if !ok {
		return
	}
	q, err := parseQuery(r.URL.Query())
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	ix, err := rn.idx.get(rn.Dir, q.Step)
	if err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	writeJSON(w, ix.page(q))
}

func (s *Server) handleSample(w http.ResponseWriter, r *http.Request) {
	rn, ok := s.run(w, r)
	if !ok {
		return
	}
	step, err1 := strconv.Atoi(r.URL.Query().Get("step"))
	i, err2 := strconv.Atoi(r.URL.Query().Get("i"))
	if err1 != nil || err2 != nil {
		http.Error(w, "want step=N&i=K", http.StatusBadRequest)
		return
	}
	ix, err := rn.idx.get(rn.Dir, step)
	if err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	line, err := ix.line(i)
	if err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(line)
}

func (s *Server) handleEvals(w http.ResponseWriter, r *http.Request) {
	rn, ok := s.run(w, r)
	if !ok {
		return
	}
	reps, err := findReports(rn.Dir)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	writeJSON(w, reps)
}

// indexCache keeps the indexes of the most recently browsed steps.
type indexCache struct {
	mu    sync.Mutex
	max   int
	order []int
	m     map[int]*stepIndex
}

func newIndexCache(max int) *indexCache {
	return &indexCache{max: max, m: map[int]*stepIndex{}}
}

// get returns step's index, rebuilt when the file changed since (a step
// being written).
func (c *indexCache) get(dir string, step int) (*stepIndex, error) {
	path := rolloutPath(dir, step)
	c.mu.Lock()
	ix := c.m[step]
	c.mu.Unlock()
	if ix != nil && ix.fresh() {
		return ix, nil
	}
	ix, err := indexStep(path)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[step]; !ok {
		c.order = append(c.order, step)
		if len(c.order) > c.max {
			delete(c.m, c.order[0])
			c.order = c.order[1:]
		}
	}
	c.m[step] = ix
	return ix, nil
}
