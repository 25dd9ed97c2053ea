package trainer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"pgregory.net/rapid"

	"tabler1/episode"
	"tabler1/model"
	"tabler1/rollout"
	"tabler1/trainer/backendtest"
)

const asyncConfig = `
name: async
seed: 5
data:
  synthetic:
    questions: 11
stages:
  - kind: grpo
    steps: 8
    batch_size: 2
    group_size: 4
    async:
      enable: true
      staleness: 1
      max_ahead: 3
checkpoint:
  every: 3
logging:
  progress: none
`

// countingGen counts Generate calls (each made after the group's policy
// step was read).
type countingGen struct {
	Generator
	calls atomic.Int64
}

func (g *countingGen) Generate(ctx context.Context, req GenRequest) ([]episode.Completion, error) {
	g.calls.Add(1)
	return g.Generator.Generate(ctx, req)
}

// runAsync runs conf (async settings replaced by async, "" for none) in dir
// over the fake backend; hook, when set, runs after each step.
func runAsync(t *testing.T, dir, async string, resume bool, hook func(step int, gen *countingGen) error) error {
	t.Helper()
	conf := asyncConfig
	if async != "" {
		conf = strings.Replace(conf, "      enable: true\n      staleness: 1\n      max_ahead: 3\n", async, 1)
	}
	cfg, err := ParseConfig([]byte(conf))
	if err != nil {
		t.Fatal(err)
	}
	cfg.RunDir = dir
	srv := httptest.NewServer(backendtest.New(1))
	defer srv.Close()
	d := fakeDeps(cfg, &RemoteBackend{URL: srv.URL, Retries: 1, Backoff: time.Millisecond})
	gen := &countingGen{Generator: d.Generator}
	d.Generator = gen
	if hook != nil {
		d.AfterStep = func(step int) error { return hook(step, gen) }
	}
	tr, err := New(cfg, d)
	if err != nil {
		t.Fatal(err)
	}
	return tr.Run(context.Background(), resume)
}

// waitGoroutines waits (up to 5 s) for the goroutine count to fall back to
// n and reports whether it did: the pipeline must not outlive Run.
func waitGoroutines(n int) (int, bool) {
	deadline := time.Now().Add(5 * time.Second)
	for {
		g := runtime.NumGoroutine()
		if g <= n || time.Now().After(deadline) {
			return g, g <= n
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Holding the trainer after step 1 until generation has run max_ahead (3)
// steps ahead makes steps 4 and 5 more than staleness (1) steps
// off-policy: their groups are dropped and counted, every other kept group
// is within the bound, every step writes metrics, and no goroutine
// outlives the run.
func TestAsyncDropsStaleGroups(t *testing.T) {
	before := runtime.NumGoroutine()
	dir := t.TempDir()
	hook := func(step int, gen *countingGen) error {
		if step != 1 {
			return nil
		}
		deadline := time.Now().Add(10 * time.Second)
		for gen.calls.Load() < 5*2 {
			if time.Now().After(deadline) {
				return errors.New("the pipeline never ran 3 steps ahead")
			}
			time.Sleep(time.Millisecond)
		}
		return nil
	}
	if err := runAsync(t, dir, "", false, hook); err != nil {
		t.Fatal(err)
	}
	ms, err := ReadMetrics(filepath.Join(dir, "metrics.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 8 {
		t.Fatalf("%d metrics lines, want 8", len(ms))
	}
	for i, m := range ms {
		if m.Step != i+1 || len(m.Items) != 2 {
			t.Errorf("metrics line %d: step %d, items %v", i+1, m.Step, m.Items)
		}
		if m.StalenessMax > 3 || m.StaleDropped+m.Groups != 2 {
			t.Errorf("step %d: staleness max %d (bound by max_ahead 3), %d dropped + %d kept groups, want 2", m.Step, m.StalenessMax, m.StaleDropped, m.Groups)
		}
	}
	for _, s := range []int{4, 5} {
		if m := ms[s-1]; m.StaleDropped != 2 || m.Samples != 0 || m.StalenessMean < 2 {
			t.Errorf("step %d: stale_dropped %d, samples %d, staleness mean %g; want both groups dropped (staleness >= 2 > 1)", s, m.StaleDropped, m.Samples, m.StalenessMean)
		}
	}
	if ms[4].StalenessMax != 3 {
		t.Errorf("step 5 staleness max %d, want 3 (sampled on step 1's weights)", ms[4].StalenessMax)
	}
	if ms[0].StaleDropped != 0 || ms[0].StalenessMax != 0 {
		t.Errorf("step 1: %+v, want on-policy", ms[0])
	}
	// Every sample the rollout logs kept is within the bound.
	for _, m := range ms {
		for _, s := range readRollouts(t, dir, m.Step) {
			if s.Staleness > 1 || s.Staleness != m.Step-1-s.PolicyStep {
				t.Errorf("step %d: sample with policy step %d, staleness %d", m.Step, s.PolicyStep, s.Staleness)
			}
		}
	}
	if n, ok := waitGoroutines(before); !ok {
		t.Errorf("%d goroutines after the run, %d before: the pipeline leaked", n, before)
	}
}

func readRollouts(t *testing.T, dir string, step int) []episode.Episode {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "rollouts", "step-"+strconv.Itoa(step)+".jsonl"))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var out []episode.Episode
	dec := json.NewDecoder(bytes.NewReader(b))
	for dec.More() {
		var s episode.Episode
		if err := dec.Decode(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

// Asynchronous generation draws the same questions at every step as a
// synchronous run, and a run killed mid-stage and resumed draws them too.
func TestAsyncKeepsDataOrderAcrossResume(t *testing.T) {
	before := runtime.NumGoroutine()
	base := t.TempDir()
	syncDir, asyncDir, cutDir := filepath.Join(base, "sync"), filepath.Join(base, "async"), filepath.Join(base, "cut")
	if err := runAsync(t, syncDir, "      enable: false\n", false, nil); err != nil {
		t.Fatal(err)
	}
	on := "      enable: true\n      staleness: 2\n"
	if err := runAsync(t, asyncDir, on, false, nil); err != nil {
		t.Fatal(err)
	}
	crash := func(step int, _ *countingGen) error {
		if step == 5 {
			return errCrash
		}
		return nil
	}
	if err := runAsync(t, cutDir, on, false, crash); !errors.Is(err, errCrash) {
		t.Fatalf("crash run: %v", err)
	}
	if err := runAsync(t, cutDir, on, true, nil); err != nil {
		t.Fatalf("resume: %v", err)
	}
	want := drawnPerStep(t, syncDir)
	for _, dir := range []string{asyncDir, cutDir} {
		got := drawnPerStep(t, dir)
		if len(got) != len(want) {
			t.Fatalf("%s: %d steps, want %d", dir, len(got), len(want))
		}
		for i := range want {
			if !slices.Equal(got[i], want[i]) {
				t.Errorf("%s: step %d drew %v, synchronous %v", filepath.Base(dir), i+1, got[i], want[i])
			}
		}
	}
	ms, _ := ReadMetrics(filepath.Join(asyncDir, "metrics.jsonl"))
	for _, m := range ms {
		if m.StaleDropped != 0 || m.StalenessMax > 2 {
			t.Errorf("step %d: %d dropped, staleness max %d; with max_ahead = staleness = 2 none may be dropped", m.Step, m.StaleDropped, m.StalenessMax)
		}
	}
	if n, ok := waitGoroutines(before); !ok {
		t.Errorf("%d goroutines after the runs, %d before: the pipeline leaked", n, before)
	}
}

func TestAsyncStopsOnRolloutError(t *testing.T) {
	cfg, _ := ParseConfig([]byte(asyncConfig))
	cfg.RunDir = t.TempDir()
	srv := httptest.NewServer(backendtest.New(1))
	defer srv.Close()
	d := fakeDeps(cfg, &RemoteBackend{URL: srv.URL})
	d.Generator.(*fakeGenerator).fail = errors.New("endpoint down")
	tr, _ := New(cfg, d)
	if err := tr.Run(context.Background(), false); err == nil || !strings.Contains(err.Error(), "endpoint down") {
		t.Errorf("Run = %v, want the rollout error", err)
	}
}

// An asynchronous GRPO stage on the embedded backend: the model serves
// rollouts over HTTP while it trains, every step logs metrics, and every
// trained sample carries the sampler's token data and a policy step within
// the bound.
func TestAsyncEmbedded(t *testing.T) {
	cfg, err := ParseConfig([]byte(asyncConfig))
	if err != nil {
		t.Fatal(err)
	}
	cfg.RunDir = t.TempDir()
	cfg.Stages[0].Steps = 4
	cfg.Stages[0].GroupSize = 2
	cfg.Stages[0].Async.MaxAhead = 1
	cfg.Rollout.MaxTokens = 12
	ctx := context.Background()
	before := runtime.NumGoroutine()
	eb, err := StartEmbedded(ctx, EmbeddedModelConfig{Config: model.Config{Layers: 1, Width: 16, Heads: 2, MLP: 32, Context: 256, Vocab: model.VocabSize}, Addr: "127.0.0.1:0"}, 1, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	pool, err := rollout.NewPool(rollout.PoolConfig{Endpoints: []rollout.EndpointConfig{{URL: eb.BaseURL, Server: rollout.ServerEmbedded}}, Model: eb.ModelName}, nil)
	if err != nil {
		t.Fatal(err)
	}
	d := fakeDeps(cfg, eb)
	d.Generator = PoolGenerator{Pool: pool}
	tr, err := New(cfg, d)
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Run(ctx, false); err != nil {
		t.Fatal(err)
	}
	pool.Close()
	eb.Close()
	ms, err := ReadMetrics(filepath.Join(cfg.RunDir, "metrics.jsonl"))
	if err != nil || len(ms) != 4 {
		t.Fatalf("metrics: %d lines, %v; want 4", len(ms), err)
	}
	for _, m := range ms {
		if m.StaleDropped != 0 || m.StalenessMax > 1 || m.StaleDropped+m.Groups != 2 {
			t.Errorf("step %d: %+v", m.Step, m)
		}
		for _, s := range readRollouts(t, cfg.RunDir, m.Step) {
			if len(s.TokenIDs) == 0 || len(s.Logprobs) != len(s.TokenIDs) || s.PolicyStep > m.Step-1 || s.Staleness > 1 {
				t.Errorf("step %d: sample with %d tokens, %d logprobs, policy step %d, staleness %d", m.Step, len(s.TokenIDs), len(s.Logprobs), s.PolicyStep, s.Staleness)
			}
		}
	}
	if n, ok := waitGoroutines(before); !ok {
		t.Errorf("%d goroutines after the run, %d before: something leaked", n, before)
	}
}

// dropStale keeps exactly the groups within the bound, counts the rest,
// and reports the staleness of every group it received.
func TestDropStaleProperty(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		step := rapid.IntRange(1, 50).Draw(rt, "step")
		k := rapid.IntRange(0, 5).Draw(rt, "k")
		n := rapid.IntRange(0, 8).Draw(rt, "groups")
		var groups [][]episode.Episode
		want, maxStale := 0, 0
		for g := 0; g < n; g++ {
			p := rapid.IntRange(max(0, step-1-8), step-1).Draw(rt, "policy")
			groups = append(groups, []episode.Episode{{Group: g, PolicyStep: p}, {Group: g, PolicyStep: p}})
			if step-1-p <= k {
				want++
			}
			maxStale = max(maxStale, step-1-p)
		}
		var m StepMetrics
		kept := dropStale(groups, step, k, &m)
		if len(kept) != want || m.StaleDropped != n-want || m.StalenessMax != maxStale {
			rt.Fatalf("kept %d dropped %d max %d; want %d, %d, %d", len(kept), m.StaleDropped, m.StalenessMax, want, n-want, maxStale)
		}
		for _, g := range kept {
			for _, s := range g {
				if s.Staleness > k || s.Staleness != step-1-s.PolicyStep {
					rt.Fatalf("kept a sample with staleness %d (policy %d, step %d, k %d)", s.Staleness, s.PolicyStep, step, k)
				}
			}
		}
	})
}
