package rollout

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	openai "github.com/sashabaranov/go-openai"
	"go.uber.org/zap"
)

// Pool sends completion requests to a set of OpenAI-compatible endpoints:
// least-outstanding-requests balancing, bounded global and per-endpoint
// concurrency, retries with backoff and jitter, per-endpoint health with
// probing, a deadline on every attempt, and the run-level stall rule. It is
// safe for concurrent use. Close it to stop its prober.
type Pool struct {
	cfg PoolConfig
	log *zap.Logger
	eps []*endpoint

	// run is cancelled by Close and when the pool stalls: every attempt in
	// flight ends with it.
	run    context.Context
	cancel context.CancelFunc
	done   chan struct{}

	mu        sync.Mutex
	inflight  int           // requests holding a slot, all endpoints
	active    int           // requests in Complete/Chat (waiting or in flight)
	busySince time.Time     // when active last went from 0 to 1
	lastOK    time.Time     // last successful answer
	wake      chan struct{} // closed when a slot frees or an endpoint comes back
	waiters   int
	failed    error // sticky *StalledError or errClosed
	rng       *rand.Rand
}

type endpoint struct {
	cfg    EndpointConfig
	client *openai.Client
	http   *http.Client
	key    string
	root   string // server root, for /tokenize
	extra  []byte // token-data request members for this server kind

	// guarded by Pool.mu
	inflight  int
	fails     int
	down      bool
	downSince time.Time
	lastErr   error
	served    int64
}

var errClosed = errors.New("rollout: pool is closed")

// NewPool checks cfg (after defaults), reads the API key from the
// environment variable it names, and starts the health prober. A nil logger
// logs nothing.
func NewPool(cfg PoolConfig, logger *zap.Logger) (*Pool, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if logger == nil {
		logger = zap.NewNop()
	}
	base := &http.Transport{
		Proxy:               nil, // loopback and cluster-internal servers: never through a proxy
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        0,
		MaxIdleConnsPerHost: cfg.MaxConcurrency,
		IdleConnTimeout:     90 * time.Second,
		ForceAttemptHTTP2:   false,
		DisableCompression:  true, // JSON over a fast link: gzip costs more CPU than it saves
	}
	hc := &http.Client{Transport: &hookTransport{base: base}}
	p := &Pool{
		cfg:  cfg,
		log:  logger,
		done: make(chan struct{}),
		wake: make(chan struct{}),
		rng:  rand.New(rand.NewPCG(cfg.Seed, 0x726f6c6c6f7574)),
	}
	getenv := cfg.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	for _, ec := range cfg.Endpoints {
		key := ""
		if ec.APIKeyEnv != "" {
			key = getenv(ec.APIKeyEnv)
			if key == "" {
				return nil, fmt.Errorf("rollout: endpoint %s: environment variable %s (api_key_env) is empty or unset: export the API key in it, or drop api_key_env for servers without a key", ec.URL, ec.APIKeyEnv)
			}
		}
		oc := openai.DefaultConfig(key)
		oc.BaseURL = strings.TrimRight(ec.URL, "/")
		oc.HTTPClient = hc
		p.eps = append(p.eps, &endpoint{
			cfg: ec, client: openai.NewClientWithConfig(oc), http: hc, key: key,
			root: baseRoot(ec.URL), extra: tokenDataMembers(ec.Server),
		})
	}
	p.run, p.cancel = context.WithCancel(context.Background())
	now := time.Now()
	p.lastOK, p.busySince = now, now
	go p.probeLoop()
	return p, nil
}

// tokenDataMembers are the request fields that ask a server kind for token
// ids (logprobs itself is a go-openai field).
func tokenDataMembers(server string) []byte {
	switch server {
	case ServerVLLM, ServerEmbedded:
		return []byte(`"return_tokens_as_token_ids":true,"return_token_ids":true`)
	case ServerSGLang:
		return []byte(`"return_token_ids":true`)
	}
	return nil
}

// Close stops the prober and fails requests still waiting. It is safe to
// call more than once.
func (p *Pool) Close() error {
	p.mu.Lock()
	if p.failed == nil {
		p.failed = errClosed
	}
	p.broadcastLocked()
	p.mu.Unlock()
	p.cancel()
	<-p.done
	return nil
}

// Err is the pool's sticky failure: a *StalledError once no endpoint has
// answered for StallTimeout, an error after Close, nil otherwise.
func (p *Pool) Err() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.failed
}

// Check asks every endpoint for its models (GET /v1/models, as the prober
// does), each within timeout, and returns an error naming every endpoint
// that did not answer and why: a command checks its servers before it
// starts rather than fail every request after minutes of retries.
func (p *Pool) Check(ctx context.Context, timeout time.Duration) error {
	errs := make([]error, len(p.eps))
	var wg sync.WaitGroup
	for i, e := range p.eps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			if _, err := e.client.ListModels(cctx); err != nil {
				if cctx.Err() != nil && ctx.Err() == nil {
					err = fmt.Errorf("no answer within %v", timeout)
				}
				errs[i] = fmt.Errorf("endpoint %s is not answering (GET %s/models: %v)", e.cfg.URL, strings.TrimRight(e.cfg.URL, "/"), err)
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%w; check that the server is running and the URL is its OpenAI base URL (ending in /v1)", err)
	}
	return nil
}

// EndpointStatus is one endpoint's state, for logs and metrics.
type EndpointStatus struct {
	URL      string `json:"url"`
	Server   string `json:"server"`
	Up       bool   `json:"up"`
	InFlight int    `json:"in_flight"`
	Served   int64  `json:"served"`
	Fails    int    `json:"consecutive_failures"`
	LastErr  string `json:"last_error,omitempty"`
}

// Status reports every endpoint's state.
func (p *Pool) Status() []EndpointStatus {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]EndpointStatus, len(p.eps))
	for i, e := range p.eps {
		out[i] = EndpointStatus{URL: e.cfg.URL, Server: e.cfg.Server, Up: !e.down, InFlight: e.inflight, Served: e.served, Fails: e.fails}
		if e.lastErr != nil {
			out[i].LastErr = e.lastErr.Error()
		}
	}
	return out
}

// StalledError is the run-level failure: no endpoint answered for the
// configured stall_timeout while requests were waiting.
type StalledError struct {
	For       time.Duration // stall_timeout
	Endpoints []EndpointStatus
}

func (e *StalledError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "rollout: no endpoint has answered for %v (stall_timeout) while requests waited; the run stops rather than hang:", e.For)
	for _, s := range e.Endpoints {
		state := "up"
		if !s.Up {
			state = "down"
		}
		fmt.Fprintf(&b, " %s (%s, %s", s.URL, s.Server, state)
		if s.LastErr != "" {
			fmt.Fprintf(&b, ", last error: %s", s.LastErr)
		}
		b.WriteString(");")
	}
	b.WriteString(" check that the servers are running and reachable, or raise stall_timeout")
	return b.String()
}

// RequestError is a request that failed for good: a non-retryable answer,
// or retries exhausted.
type RequestError struct {
	Endpoint string // the last endpoint tried
	Attempts int
	Err      error // the last attempt's error
}

func (e *RequestError) Error() string {
	return fmt.Sprintf("rollout: request failed after %d attempt(s), last at %s: %v", e.Attempts, e.Endpoint, e.Err)
}

func (e *RequestError) Unwrap() error { return e.Err }

func (p *Pool) broadcastLocked() {
	if p.waiters > 0 {
		close(p.wake)
		p.wake = make(chan struct{})
	}
}

// stallLocked turns the pool failed when it has been busy without an answer
// for StallTimeout.
func (p *Pool) stallLocked(now time.Time) error {
	if p.failed != nil {
		return p.failed
	}
	if p.active == 0 {
		return nil
	}
	since := p.lastOK
	if p.busySince.After(since) {
		since = p.busySince
	}
	if now.Sub(since) < p.cfg.StallTimeout {
		return nil
	}
	st := &StalledError{For: p.cfg.StallTimeout}
	for _, e := range p.eps {
		s := EndpointStatus{URL: e.cfg.URL, Server: e.cfg.Server, Up: !e.down, Fails: e.fails}
		if e.lastErr != nil {
			s.LastErr = e.lastErr.Error()
		}
		st.Endpoints = append(st.Endpoints, s)
	}
	p.failed = st
	p.log.Error("rollout stalled: no endpoint answered", zap.Duration("stall_timeout", p.cfg.StallTimeout), zap.Error(st))
	p.broadcastLocked()
	p.cancel()
	return st
}

func (p *Pool) enter() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.failed != nil {
		return p.failed
	}
	if p.active == 0 {
		p.busySince = time.Now()
	}
	p.active++
	return nil
}

func (p *Pool) leave() {
	p.mu.Lock()
	p.active--
	p.mu.Unlock()
}

// acquire takes a slot on the up endpoint with the fewest requests in flight
// per unit of weight, avoiding avoid when another endpoint can serve.
func (p *Pool) acquire(ctx context.Context, avoid *endpoint) (*endpoint, error) {
	for {
		p.mu.Lock()
		if err := p.stallLocked(time.Now()); err != nil {
			p.mu.Unlock()
			return nil, err
		}
		if p.inflight < p.cfg.MaxConcurrency {
			if e := p.pickLocked(avoid); e != nil {
				e.inflight++
				p.inflight++
				p.mu.Unlock()
				return e, nil
			}
		}
		wake := p.wake
		p.waiters++
		p.mu.Unlock()
		// Wake on a freed slot, a recovered endpoint, or a tick to re-check
		// the stall rule.
		t := time.NewTimer(min(p.cfg.ProbeInterval, p.cfg.StallTimeout))
		select {
		case <-wake:
		case <-t.C:
		case <-ctx.Done():
		}
		t.Stop()
		p.mu.Lock()
		p.waiters--
		p.mu.Unlock()
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
}

func (p *Pool) pickLocked(avoid *endpoint) *endpoint {
	var best, fallback *endpoint
	var bestLoad, fbLoad float64
	for _, e := range p.eps {
		if e.down || e.inflight >= e.cfg.MaxConcurrency {
			continue
		}
		load := float64(e.inflight) / e.cfg.Weight
		if e == avoid {
			if fallback == nil || load < fbLoad {
				fallback, fbLoad = e, load
			}
			continue
		}
		if best == nil || load < bestLoad {
			best, bestLoad = e, load
		}
	}
	if best == nil {
		return fallback
	}
	return best
}

// outcome is how an attempt went, for the endpoint's health.
type outcome int

const (
	outcomeOK       outcome = iota
	outcomeFault            // the endpoint's fault: counts towards marking it down
	outcomeBusy             // 429: overloaded, not down
	outcomeNeutral          // the request's own fault or the caller's cancellation
	outcomeRejected         // a 4xx: the endpoint answered, the request was bad
)

func (p *Pool) release(e *endpoint, o outcome, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	e.inflight--
	p.inflight--
	switch o {
	case outcomeOK, outcomeRejected:
		e.fails = 0
		e.served++
		p.lastOK = time.Now()
	case outcomeFault:
		e.fails++
		e.lastErr = err
		if !e.down && e.fails >= p.cfg.FailureThreshold {
			e.down, e.downSince = true, time.Now()
			p.log.Warn("endpoint marked down", zap.String("endpoint", e.cfg.URL), zap.Int("consecutive_failures", e.fails), zap.Error(err))
		}
	case outcomeBusy:
		e.lastErr = err
	}
	p.broadcastLocked()
}

// HTTPStatus is the HTTP status code a failed request's error carries (0
// when it carries none: a transport error, a timeout).
func HTTPStatus(err error) int {
	var apiErr *openai.APIError
	var reqErr *openai.RequestError
	status := 0
	switch {
	case errors.As(err, &apiErr):
		status = apiErr.HTTPStatusCode
	case errors.As(err, &reqErr):
		status = reqErr.HTTPStatusCode
	}
	return status
}

// classify says whether err is worth retrying and whose fault it was.
func classify(parent context.Context, err error) (retry bool, o outcome) {
	if parent.Err() != nil {
		return false, outcomeNeutral
	}
	status := HTTPStatus(err)
	var mt *MissingTokenDataError
	switch {
	case errors.As(err, &mt):
		return false, outcomeRejected
	case status == http.StatusTooManyRequests:
		return true, outcomeBusy
	case status >= 500:
		return true, outcomeFault
	case status == http.StatusRequestTimeout:
		return true, outcomeFault
	case status >= 400:
		return false, outcomeRejected
	case status != 0:
		return true, outcomeFault
	}
	// No HTTP status: a connection error, a timeout, a cut or malformed body,
	// the wrong number of choices. All the endpoint's fault; all retried.
	return true, outcomeFault
}

// backoff is the delay before retry number attempt (0-based): exponential,
// capped, with "equal jitter" (half fixed, half random) so that retries of
// many requests spread out.
func (p *Pool) backoff(attempt int) time.Duration {
	d := p.cfg.RetryBackoff << min(attempt, 30)
	if d <= 0 || d > p.cfg.RetryMaxBackoff {
		d = p.cfg.RetryMaxBackoff
	}
	p.mu.Lock()
	j := time.Duration(p.rng.Int64N(int64(d/2) + 1))
	p.mu.Unlock()
	return d/2 + j
}

// do runs call with retries. call gets an attempt context with the request
// deadline and the endpoint to use.
func (p *Pool) do(ctx context.Context, call func(ctx context.Context, e *endpoint) error) (*endpoint, int, error) {
	if err := p.enter(); err != nil {
		return nil, 0, err
	}
	defer p.leave()
	var last *endpoint
	for attempt := 0; ; attempt++ {
		e, err := p.acquire(ctx, last)
		if err != nil {
			if last != nil && ctx.Err() == nil {
				return last, attempt, err
			}
			return nil, attempt, err
		}
		last = e
		actx, cancel := context.WithTimeout(ctx, p.cfg.RequestTimeout)
		stop := context.AfterFunc(p.run, cancel)
		err = call(actx, e)
		timedOut := actx.Err() != nil && ctx.Err() == nil
		stop()
		cancel()
		if err == nil {
			p.release(e, outcomeOK, nil)
			return e, attempt + 1, nil
		}
		if timedOut && p.Err() == nil {
			err = fmt.Errorf("no answer within request_timeout %v: %w", p.cfg.RequestTimeout, err)
		}
		retry, o := classify(ctx, err)
		p.release(e, o, err)
		if pe := p.Err(); pe != nil {
			return e, attempt + 1, pe
		}
		if !retry || attempt >= p.cfg.MaxRetries {
			if ctx.Err() != nil {
				return e, attempt + 1, ctx.Err()
			}
			return e, attempt + 1, &RequestError{Endpoint: e.cfg.URL, Attempts: attempt + 1, Err: err}
		}
		p.log.Debug("retrying request", zap.String("endpoint", e.cfg.URL), zap.Int("attempt", attempt+1), zap.Error(err))
		t := time.NewTimer(p.backoff(attempt))
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return e, attempt + 1, ctx.Err()
		case <-p.run.Done():
			t.Stop()
			return e, attempt + 1, p.Err()
		}
	}
}

// probeLoop brings down endpoints back when GET /v1/models answers, and
// applies the stall rule while the pool is idle-waiting.
func (p *Pool) probeLoop() {
	defer close(p.done)
	t := time.NewTicker(p.cfg.ProbeInterval)
	defer t.Stop()
	for {
		select {
		case <-p.run.Done():
			return
		case <-t.C:
		}
		p.probeOnce()
	}
}

// probeOnce probes every down endpoint once and applies the stall rule.
func (p *Pool) probeOnce() {
	p.mu.Lock()
	var down []*endpoint
	for _, e := range p.eps {
		if e.down {
			down = append(down, e)
		}
	}
	_ = p.stallLocked(time.Now())
	p.mu.Unlock()
	for _, e := range down {
		ctx, cancel := context.WithTimeout(p.run, max(p.cfg.ProbeInterval, time.Second))
		_, err := e.client.ListModels(ctx)
		cancel()
		if err != nil {
			continue
		}
		p.mu.Lock()
		if e.down {
			e.down, e.fails = false, 0
			p.log.Info("endpoint back up", zap.String("endpoint", e.cfg.URL), zap.Duration("down_for", time.Since(e.downSince)))
			p.broadcastLocked()
		}
		p.mu.Unlock()
	}
}

// drain reads and closes a response body so its connection can be reused.
func drain(r io.ReadCloser) {
	_, _ = io.Copy(io.Discard, io.LimitReader(r, 1<<20))
	_ = r.Close()
}
