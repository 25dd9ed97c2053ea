package trainer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"

	"tabler1/backend"
	"tabler1/grpo"
)

// RemoteBackend is a Backend that speaks the JSON-over-HTTP protocol of
// docs/backend-protocol.md to a GPU trainer. Every call has a deadline and
// is retried with exponential backoff on network errors, timeouts, 408,
// 429 and 5xx answers; a retried call carries the same request id so the
// server can answer it without doing the work twice.
type RemoteBackend struct {
	// URL is the server's base URL, e.g. http://gpu-trainer:9000.
	URL string
	// Token is sent as "Authorization: Bearer <Token>" when set.
	Token string
	// Timeout bounds one attempt of a call; SaveTimeout one attempt of save
	// or load. Zero: 5 minutes and 30 minutes.
	Timeout, SaveTimeout time.Duration
	// Retries is how many times a failed call is retried (0: never).
	Retries int
	// Backoff is the wait before the first retry, doubled each retry (zero:
	// one second).
	Backoff time.Duration
	// Client is the HTTP client (nil: a plain one; deadlines come from the
	// per-attempt context).
	Client *http.Client
	// Log receives one line per retried attempt (nil: none).
	Log *zap.Logger
}

// NewRemoteBackend returns the remote backend a configuration describes,
// reading the bearer token from the environment variable it names.
func NewRemoteBackend(c BackendConfig, getenv func(string) string, log *zap.Logger) (*RemoteBackend, error) {
	if c.URL == "" {
		return nil, errors.New("remote backend: backend.url is empty")
	}
	b := &RemoteBackend{URL: strings.TrimRight(c.URL, "/"), Timeout: c.Timeout, SaveTimeout: c.SaveTimeout, Retries: c.Retries, Backoff: c.RetryBackoff, Log: log}
	if c.TokenEnv != "" {
		b.Token = getenv(c.TokenEnv)
		if b.Token == "" {
			return nil, fmt.Errorf("remote backend: environment variable %s (backend.token_env) is not set; export the backend's bearer token in it", c.TokenEnv)
		}
	}
	return b, nil
}

// RemoteError is an error answer of the remote backend.
type RemoteError struct {
	Method string
	Status int
	Msg    string
}

func (e *RemoteError) Error() string {
	return fmt.Sprintf("remote backend %s: HTTP %d: %s", e.Method, e.Status, e.Msg)
}

func (e *RemoteError) retryable() bool {
	return e.Status == http.StatusRequestTimeout || e.Status == http.StatusTooManyRequests || e.Status >= 500
}

type fbRequest struct {
	RequestID string           `json:"request_id"`
	Batch     backend.Batch    `json:"batch"`
	Loss      *grpo.LossConfig `json:"loss,omitempty"`
}

type optimRequest struct {
	RequestID string              `json:"request_id"`
	Optim     backend.OptimConfig `json:"optim"`
}

type idRequest struct {
	RequestID string `json:"request_id"`
	Dir       string `json:"dir,omitempty"`
}

// ForwardBackward implements Backend.
func (b *RemoteBackend) ForwardBackward(ctx context.Context, batch backend.Batch, loss grpo.LossConfig) (backend.ForwardResult, error) {
	var out backend.ForwardResult
	err := b.call(ctx, "forward_backward", fbRequest{RequestID: uuid.NewString(), Batch: batch, Loss: &loss}, &out, b.timeout())
	return out, err
}

// SFTForwardBackward implements Backend.
func (b *RemoteBackend) SFTForwardBackward(ctx context.Context, batch backend.Batch) (backend.ForwardResult, error) {
	var out backend.ForwardResult
	err := b.call(ctx, "sft_forward_backward", fbRequest{RequestID: uuid.NewString(), Batch: batch}, &out, b.timeout())
	return out, err
}

// OptimStep implements Backend.
func (b *RemoteBackend) OptimStep(ctx context.Context, optim backend.OptimConfig) (backend.OptimResult, error) {
	var out backend.OptimResult
	err := b.call(ctx, "optim_step", optimRequest{RequestID: uuid.NewString(), Optim: optim}, &out, b.timeout())
	return out, err
}

// Publish implements Backend.
func (b *RemoteBackend) Publish(ctx context.Context) (backend.PublishResult, error) {
	var out backend.PublishResult
	err := b.call(ctx, "publish", idRequest{RequestID: uuid.NewString()}, &out, b.timeout())
	return out, err
}

// Save implements Backend: dir is a path on the backend's file system
// (shared with the controller, or mapped by the backend).
func (b *RemoteBackend) Save(ctx context.Context, dir string) error {
	return b.call(ctx, "save", idRequest{RequestID: uuid.NewString(), Dir: dir}, nil, b.saveTimeout())
}

// Load implements Backend.
func (b *RemoteBackend) Load(ctx context.Context, dir string) error {
	return b.call(ctx, "load", idRequest{RequestID: uuid.NewString(), Dir: dir}, nil, b.saveTimeout())
}

// Health is the backend's self-description.
type Health struct {
	Status string `json:"status"`
	Model  string `json:"model,omitempty"`
	Step   int    `json:"step"`
	// Version is the last published weights version.
	Version int `json:"version"`
}

// Health asks the backend whether it is up (GET /v1/health).
func (b *RemoteBackend) Health(ctx context.Context) (Health, error) {
	var out Health
	err := b.do(ctx, http.MethodGet, "health", nil, &out, b.timeout())
	return out, err
}

func (b *RemoteBackend) timeout() time.Duration {
	if b.Timeout > 0 {
		return b.Timeout
	}
	return 5 * time.Minute
}

func (b *RemoteBackend) saveTimeout() time.Duration {
	if b.SaveTimeout > 0 {
		return b.SaveTimeout
	}
	return 30 * time.Minute
}

func (b *RemoteBackend) call(ctx context.Context, method string, in, out any, timeout time.Duration) error {
	body, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("remote backend %s: encoding request: %w", method, err)
	}
	return b.do(ctx, http.MethodPost, method, body, out, timeout)
}

// do runs one call with retries. The body is resent unchanged, request id
// included, so a server that already did the work answers from its record.
func (b *RemoteBackend) do(ctx context.Context, httpMethod, method string, body []byte, out any, timeout time.Duration) error {
	backoff := b.Backoff
	if backoff <= 0 {
		backoff = time.Second
	}
	var last error
	for attempt := 0; attempt <= b.Retries; attempt++ {
		if attempt > 0 {
			if b.Log != nil {
				b.Log.Warn("remote backend call failed; retrying", zap.String("method", method), zap.Int("attempt", attempt), zap.Duration("backoff", backoff), zap.Error(last))
			}
			t := time.NewTimer(backoff)
			select {
			case <-ctx.Done():
				t.Stop()
				return fmt.Errorf("remote backend %s: %w (last error: %v)", method, ctx.Err(), last)
			case <-t.C:
			}
			backoff *= 2
		}
		err := b.once(ctx, httpMethod, method, body, out, timeout)
		if err == nil {
			return nil
		}
		last = err
		if ctx.Err() != nil {
			return fmt.Errorf("remote backend %s: %w", method, ctx.Err())
		}
		var re *RemoteError
		if errors.As(err, &re) && !re.retryable() {
			return err
		}
	}
	return fmt.Errorf("remote backend %s: giving up after %d attempts: %w", method, b.Retries+1, last)
}

func (b *RemoteBackend) once(ctx context.Context, httpMethod, method string, body []byte, out any, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, httpMethod, b.URL+"/v1/"+method, rd)
	if err != nil {
		return fmt.Errorf("remote backend %s: building request for %s: %w", method, b.URL, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if b.Token != "" {
		req.Header.Set("Authorization", "Bearer "+b.Token)
	}
	client := b.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return fmt.Errorf("remote backend %s: no answer within %s from %s", method, timeout, b.URL)
		}
		return fmt.Errorf("remote backend %s: %w", method, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("remote backend %s: reading answer: %w", method, err)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error string `json:"error"`
		}
		msg := strings.TrimSpace(string(data))
		if json.Unmarshal(data, &e) == nil && e.Error != "" {
			msg = e.Error
		}
		if len(msg) > 500 {
			msg = msg[:500] + "…"
		}
		return &RemoteError{Method: method, Status: resp.StatusCode, Msg: msg}
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("remote backend %s: decoding answer %.200q: %w", method, data, err)
	}
	return nil
}
