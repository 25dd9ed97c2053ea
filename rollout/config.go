package rollout

import (
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Server kinds: what an endpoint runs decides which request fields ask it
// for token data (see the package documentation).
const (
	ServerVLLM     = "vllm"
	ServerSGLang   = "sglang"
	ServerEmbedded = "embedded" // tabler1's own model server, vLLM's format
	ServerLlamaCpp = "llamacpp"
	ServerOllama   = "ollama"
	ServerOpenAI   = "openai" // any other OpenAI-compatible server
)

// EndpointConfig is one OpenAI-compatible server.
type EndpointConfig struct {
	// URL is the OpenAI base URL, e.g. http://127.0.0.1:8000/v1.
	URL string `yaml:"url" json:"url"`
	// Server is the kind of server (vllm, sglang, embedded, llamacpp,
	// ollama, openai); default vllm.
	Server string `yaml:"server" json:"server,omitempty"`
	// APIKeyEnv overrides the pool's api_key_env for this endpoint.
	APIKeyEnv string `yaml:"api_key_env" json:"api_key_env,omitempty"`
	// MaxConcurrency bounds this endpoint's requests in flight (default 128).
	MaxConcurrency int `yaml:"max_concurrency" json:"max_concurrency,omitempty"`
	// Weight scales the endpoint's share under least-outstanding balancing
	// (default 1; 2 takes twice the requests in flight).
	Weight float64 `yaml:"weight" json:"weight,omitempty"`
}

// PoolConfig configures a Pool. Zero fields take the defaults of
// (PoolConfig).WithDefaults.
type PoolConfig struct {
	Endpoints []EndpointConfig `yaml:"endpoints" json:"endpoints"`
	// Model is the served model id sent in every request.
	Model string `yaml:"model" json:"model"`
	// APIKeyEnv names the environment variable holding the API key. The key
	// is read once by NewPool and never logged; the config holds only the
	// variable's name.
	APIKeyEnv string `yaml:"api_key_env" json:"api_key_env,omitempty"`
	// Getenv reads the API keys' environment variables (nil: os.Getenv), so
	// that a caller decides where secrets come from.
	Getenv func(string) string `yaml:"-" json:"-"`
	// MaxConcurrency bounds requests in flight across all endpoints
	// (default 256).
	MaxConcurrency int `yaml:"max_concurrency" json:"max_concurrency"`
	// RequestTimeout is the deadline of one HTTP attempt (default 5m: long
	// generations are slow, but never unbounded).
	RequestTimeout time.Duration `yaml:"request_timeout" json:"request_timeout"`
	// MaxRetries is how many times a failed attempt (429, 5xx, connection
	// error, timeout, malformed response) is retried (default 4).
	MaxRetries int `yaml:"max_retries" json:"max_retries"`
	// RetryBackoff is the first retry's delay, doubled each retry up to
	// RetryMaxBackoff, with jitter (defaults 200ms and 10s).
	RetryBackoff    time.Duration `yaml:"retry_backoff" json:"retry_backoff"`
	RetryMaxBackoff time.Duration `yaml:"retry_max_backoff" json:"retry_max_backoff"`
	// FailureThreshold consecutive failures mark an endpoint down (default 3);
	// a down endpoint gets no requests until a probe of GET /v1/models
	// succeeds. Probes run every ProbeInterval (default 2s).
	FailureThreshold int           `yaml:"failure_threshold" json:"failure_threshold"`
	ProbeInterval    time.Duration `yaml:"probe_interval" json:"probe_interval"`
	// StallTimeout is the run-level rule: when no endpoint has answered a
	// request for this long while requests wait, the pool fails every
	// request with a *StalledError (default 10m).
	StallTimeout time.Duration `yaml:"stall_timeout" json:"stall_timeout"`
	// Seed seeds the retry jitter.
	Seed uint64 `yaml:"seed" json:"seed"`
}

// WithDefaults returns c with zero fields set to their defaults.
func (c PoolConfig) WithDefaults() PoolConfig {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	if c.MaxConcurrency == 0 {
		c.MaxConcurrency = 256
	}
	def(&c.RequestTimeout, 5*time.Minute)
	if c.MaxRetries == 0 {
		c.MaxRetries = 4
	}
	def(&c.RetryBackoff, 200*time.Millisecond)
	def(&c.RetryMaxBackoff, 10*time.Second)
	if c.FailureThreshold == 0 {
		c.FailureThreshold = 3
	}
	def(&c.ProbeInterval, 2*time.Second)
	def(&c.StallTimeout, 10*time.Minute)
	eps := make([]EndpointConfig, len(c.Endpoints))
	for i, e := range c.Endpoints {
		if e.Server == "" {
			e.Server = ServerVLLM
		}
		if e.MaxConcurrency == 0 {
			e.MaxConcurrency = 128
		}
		if e.Weight == 0 {
			e.Weight = 1
		}
		if e.APIKeyEnv == "" {
			e.APIKeyEnv = c.APIKeyEnv
		}
		eps[i] = e
	}
	c.Endpoints = eps
	return c
}

// Validate reports the first problem of a config with defaults applied.
func (c PoolConfig) Validate() error {
	if len(c.Endpoints) == 0 {
		return fmt.Errorf("rollout: no endpoints: give at least one OpenAI base URL (e.g. http://127.0.0.1:8000/v1)")
	}
	if c.Model == "" {
		return fmt.Errorf("rollout: model is empty: give the served model id (GET /v1/models lists it)")
	}
	seen := map[string]bool{}
	for i, e := range c.Endpoints {
		u, err := url.Parse(e.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("rollout: endpoint %d: url %q is not an http(s) URL; want e.g. http://127.0.0.1:8000/v1", i, e.URL)
		}
		if seen[e.URL] {
			return fmt.Errorf("rollout: endpoint %d: url %q is listed twice", i, e.URL)
		}
		seen[e.URL] = true
		switch e.Server {
		case ServerVLLM, ServerSGLang, ServerEmbedded, ServerLlamaCpp, ServerOllama, ServerOpenAI:
		default:
			return fmt.Errorf("rollout: endpoint %s: server %q unknown; want vllm, sglang, embedded, llamacpp, ollama or openai", e.URL, e.Server)
		}
		if e.MaxConcurrency < 0 || e.Weight < 0 {
			return fmt.Errorf("rollout: endpoint %s: max_concurrency and weight must not be negative", e.URL)
		}
	}
	return c.ValidateLimits()
}

// ValidateLimits checks the bounds and timeouts of a config with defaults
// applied (part of Validate), for callers that check a configuration before
// its endpoints are known.
func (c PoolConfig) ValidateLimits() error {
	switch {
	case c.MaxConcurrency < 1:
		return fmt.Errorf("rollout: max_concurrency is %d, want at least 1", c.MaxConcurrency)
	case c.MaxRetries < 0:
		return fmt.Errorf("rollout: max_retries is %d, want 0 or more", c.MaxRetries)
	case c.RequestTimeout < 0 || c.RetryBackoff < 0 || c.RetryMaxBackoff < 0 || c.ProbeInterval < 0 || c.StallTimeout < 0:
		return fmt.Errorf("rollout: durations must not be negative")
	case c.FailureThreshold < 1:
		return fmt.Errorf("rollout: failure_threshold is %d, want at least 1", c.FailureThreshold)
	case c.StallTimeout < c.RequestTimeout:
		// Otherwise one slow but healthy generation would stop the run.
		return fmt.Errorf("rollout: stall_timeout (%v) is shorter than request_timeout (%v); raise it", c.StallTimeout, c.RequestTimeout)
	}
	return nil
}

// Sampling holds the sampling parameters of a request, by their OpenAI
// names.
type Sampling struct {
	// N is the number of completions per prompt (default 1).
	N int `yaml:"n" json:"n"`
	// Temperature 0 is greedy decoding, and is sent as 0 (go-openai would
	// drop it; the pool's transport adds it back).
	Temperature float64 `yaml:"temperature" json:"temperature"`
	// TopP 0 leaves the server's default (1).
	TopP float64 `yaml:"top_p" json:"top_p,omitempty"`
	// MaxTokens 0 leaves the server's default.
	MaxTokens int      `yaml:"max_tokens" json:"max_tokens,omitempty"`
	Stop      []string `yaml:"stop" json:"stop,omitempty"`
	// Seed, when set, makes sampling reproducible on servers that honour it;
	// vary it between steps, or the same prompt gets the same samples.
	Seed *int `yaml:"seed" json:"seed,omitempty"`
}

// baseRoot is the server root of an OpenAI base URL: where vLLM, SGLang and
// the embedded server put /tokenize.
func baseRoot(base string) string {
	return strings.TrimSuffix(strings.TrimRight(base, "/"), "/v1")
}
