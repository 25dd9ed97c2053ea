package trainer

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"tabler1/backend"
	"tabler1/episode"
	"tabler1/grpo"
	"tabler1/trainer/backendtest"
)

func newRemote(t *testing.T, srv *backendtest.Server) *RemoteBackend {
	t.Helper()
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	return &RemoteBackend{URL: hs.URL, Token: srv.Token, Timeout: 200 * time.Millisecond, Retries: 3, Backoff: time.Millisecond}
}

func TestRemoteBackendProtocol(t *testing.T) {
	srv := backendtest.New(1)
	srv.Token = "tok"
	b := newRemote(t, srv)
	ctx := context.Background()
	batch := backend.Batch{Step: 1, Sequences: []episode.Sequence{{ID: "a", Prompt: "p", Completion: "xyz", Advantage: 0.5}, {ID: "b", Prompt: "p", Completion: "q", Advantage: -0.5}}}
	fb, err := b.ForwardBackward(ctx, batch, grpo.DefaultLossConfig())
	if err != nil || fb.Tokens != 4 {
		t.Fatalf("ForwardBackward = %+v, %v", fb, err)
	}
	if _, err := b.SFTForwardBackward(ctx, batch); err != nil {
		t.Fatal(err)
	}
	or, err := b.OptimStep(ctx, backend.OptimConfig{LR: 0.01})
	if err != nil || or.LR != 0.01 {
		t.Fatalf("OptimStep = %+v, %v", or, err)
	}
	pr, err := b.Publish(ctx)
	if err != nil || pr.Version != 1 {
		t.Fatalf("Publish = %+v, %v", pr, err)
	}
	dir := t.TempDir()
	if err := b.Save(ctx, dir); err != nil {
		t.Fatal(err)
	}
	if _, err := b.OptimStep(ctx, backend.OptimConfig{LR: 1}); err == nil {
		t.Error("optim_step without forward_backward accepted")
	}
	if err := b.Load(ctx, dir); err != nil {
		t.Fatal(err)
	}
	h, err := b.Health(ctx)
	if err != nil || h.Status != "ok" || h.Step != 1 || h.Version != 1 {
		t.Errorf("Health = %+v, %v", h, err)
	}
	st := srv.State()
	if st.ForwardBackward != 1 || st.SFT != 1 || st.Sequences != 4 {
		t.Errorf("server state %+v", st)
	}
}

func TestRemoteBackendAuth(t *testing.T) {
	srv := backendtest.New(1)
	srv.Token = "right"
	b := newRemote(t, srv)
	b.Token = "wrong"
	_, err := b.Publish(context.Background())
	var re *RemoteError
	if !errors.As(err, &re) || re.Status != 401 {
		t.Fatalf("Publish with a wrong token = %v, want HTTP 401", err)
	}
	if srv.Requests() != 0 {
		t.Errorf("a 401 was retried")
	}
}

// Failures are retried with the same request id: the work is done once.
func TestRemoteBackendRetriesFailures(t *testing.T) {
	srv := backendtest.New(7)
	srv.SetFaults(0, 0, 0.34)
	b := newRemote(t, srv)
	b.Retries = 8
	ctx := context.Background()
	for step := 1; step <= 30; step++ {
		if _, err := b.ForwardBackward(ctx, backend.Batch{Step: step, Sequences: []episode.Sequence{{Completion: "x", Advantage: 1}}}, grpo.LossConfig{}); err != nil {
			t.Fatalf("step %d: %v", step, err)
		}
		if _, err := b.OptimStep(ctx, backend.OptimConfig{LR: 1}); err != nil {
			t.Fatalf("step %d: %v", step, err)
		}
	}
	st := srv.State()
	if st.Step != 30 || st.ForwardBackward != 30 {
		t.Errorf("after 30 steps through a flaky server: %+v", st)
	}
	if srv.Requests() <= 60 {
		t.Errorf("no request failed (%d requests); the test checks nothing", srv.Requests())
	}
}

// A hanging server is abandoned at the deadline and the call retried.
func TestRemoteBackendHangs(t *testing.T) {
	srv := backendtest.New(1)
	srv.SetFaults(0, 1, 0) // every request hangs
	b := newRemote(t, srv)
	b.Timeout = 20 * time.Millisecond
	b.Retries = 2
	start := time.Now()
	_, err := b.Publish(context.Background())
	if err == nil || !strings.Contains(err.Error(), "giving up after 3 attempts") || !strings.Contains(err.Error(), "no answer within") {
		t.Fatalf("Publish to a hanging server = %v", err)
	}
	if srv.Requests() != 3 {
		t.Errorf("%d attempts, want 3", srv.Requests())
	}
	_ = start
	// A cancelled context stops the retries at once.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := b.Publish(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Publish with a cancelled context = %v", err)
	}
}

func TestNewRemoteBackendNeedsToken(t *testing.T) {
	_, err := NewRemoteBackend(BackendConfig{URL: "http://x", TokenEnv: "NOPE"}, func(string) string { return "" }, nil)
	if err == nil || !strings.Contains(err.Error(), "NOPE") {
		t.Errorf("missing token: %v", err)
	}
	b, err := NewRemoteBackend(BackendConfig{URL: "http://x/", TokenEnv: "T"}, func(string) string { return "v" }, nil)
	if err != nil || b.Token != "v" || b.URL != "http://x" {
		t.Errorf("NewRemoteBackend = %+v, %v", b, err)
	}
}
