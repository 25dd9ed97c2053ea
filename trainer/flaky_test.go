package trainer

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"tabler1/rollout"
	"tabler1/rollout/openaitest"
	"tabler1/trainer/backendtest"
)

// A GRPO run whose only endpoint fails a third of its requests (500s, 429s,
// dropped connections, malformed bodies, hangs) completes every step with
// full groups: the rollout pool's deadlines and retries absorb the faults.
func TestGRPOThroughFlakyEndpoint(t *testing.T) {
	cfg, err := ParseConfig([]byte(resumeConfig))
	if err != nil {
		t.Fatal(err)
	}
	cfg.RunDir = t.TempDir()
	cfg.Stages = cfg.Stages[1:] // GRPO only
	d := fakeDeps(cfg, nil)
	gold := d.Generator.(*fakeGenerator).gold
	srv := openaitest.NewServer(openaitest.Config{
		Model:     "m",
		FaultRate: 0.34,
		Seed:      3,
		Script: func(req openaitest.Request, i int) openaitest.Choice {
			text := "Answer: nobody"
			if i%2 == 0 {
				text = gold[req.Prompt]
			}
			toks := make([]int, len(text))
			lps := make([]float64, len(text))
			for j := range text {
				toks[j], lps[j] = int(text[j]), -0.1
			}
			return openaitest.Choice{Text: text, TokenIDs: toks, Logprobs: lps}
		},
	})
	defer srv.Close()
	pool, err := rollout.NewPool(rollout.PoolConfig{
		Endpoints: []rollout.EndpointConfig{{URL: srv.URL}}, Model: "m",
		RequestTimeout: 300 * time.Millisecond, MaxRetries: 12, RetryBackoff: time.Millisecond, RetryMaxBackoff: 5 * time.Millisecond,
		FailureThreshold: 1000, ProbeInterval: 10 * time.Millisecond,
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	be := httptest.NewServer(backendtest.New(1))
	defer be.Close()
	d.Backend = &RemoteBackend{URL: be.URL}
	d.Generator = PoolGenerator{Pool: pool}
	tr, err := New(cfg, d)
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Run(context.Background(), false); err != nil {
		t.Fatalf("run through a flaky endpoint: %v", err)
	}
	ms, err := ReadMetrics(filepath.Join(cfg.RunDir, "metrics.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != cfg.TotalSteps() {
		t.Fatalf("%d steps logged, want %d", len(ms), cfg.TotalSteps())
	}
	for _, m := range ms {
		if m.Samples != 8 || m.Accuracy != 0.5 {
			t.Errorf("step %d: %d samples, accuracy %.2f; want 8 and 0.5", m.Step, m.Samples, m.Accuracy)
		}
	}
	st := srv.Stats()
	if len(st.Faults) == 0 {
		t.Errorf("no fault was injected (%+v); the test checks nothing", st)
	}
}
