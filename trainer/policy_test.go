package trainer

import (
	"context"
	"fmt"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"tabler1/episode"
	"tabler1/trainer/backendtest"
)

// countingGenerator records the N of every request.
type countingGenerator struct {
	Generator
	mu sync.Mutex
	ns []int
}

func (g *countingGenerator) Generate(ctx context.Context, req GenRequest) ([]episode.Completion, error) {
	g.mu.Lock()
	g.ns = append(g.ns, req.N)
	g.mu.Unlock()
	return g.Generator.Generate(ctx, req)
}

const policyConfig = `
name: policy
seed: 5
data:
  synthetic:
    questions: 9
stages:
  - kind: grpo
    steps: 2
    batch_size: 3
    group_size: 5
    %s
logging:
  progress: none
`

func runPolicy(t *testing.T, policy string, share float64) ([]StepMetrics, [][]episode.Episode, *countingGenerator) {
	t.Helper()
	cfg, err := ParseConfig([]byte(fmtPolicy(policy)))
	if err != nil {
		t.Fatal(err)
	}
	cfg.RunDir = t.TempDir()
	srv := httptest.NewServer(backendtest.New(1))
	defer srv.Close()
	d := fakeDeps(cfg, &RemoteBackend{URL: srv.URL, Retries: 1, Backoff: time.Millisecond})
	d.Generator.(*fakeGenerator).share = share
	gen := &countingGenerator{Generator: d.Generator}
	d.Generator = gen
	ms := runToMetrics(t, cfg, d)
	var groups [][]episode.Episode
	for _, m := range ms {
		by := map[int][]episode.Episode{}
		for _, s := range readRollouts(t, cfg.RunDir, m.Step) {
			by[s.Group] = append(by[s.Group], s)
		}
		for g := 0; g < len(by); g++ {
			groups = append(groups, by[g])
		}
	}
	return ms, groups, gen
}

func fmtPolicy(keys string) string {
	return fmt.Sprintf(policyConfig, keys)
}

func TestSplitGroupHasTheConfiguredParadigmCounts(t *testing.T) {
	ms, groups, gen := runPolicy(t, "paradigm_policy: split\n    program_samples: 3", 0.5)
	if len(groups) != 6 {
		t.Fatalf("%d groups logged, want 6", len(groups))
	}
	for i, g := range groups {
		n := map[episode.Paradigm]int{}
		for _, s := range g {
			n[s.Asked]++
		}
		if len(g) != 5 || n[episode.ParadigmProgram] != 3 || n[episode.ParadigmText] != 2 {
			t.Errorf("group %d: %d samples, asked %v; want 3 program and 2 text", i, len(g), n)
		}
	}
	ns := map[int]int{}
	for _, n := range gen.ns {
		ns[n]++
	}
	if ns[3] != 6 || ns[2] != 6 || len(ns) != 2 {
		t.Errorf("requests by n: %v; want six of 3 program samples and six of 2 text samples", ns)
	}
	for _, m := range ms {
		if _, ok := m.AskedAccuracy["program"]; m.ParadigmPolicy != "split" || !ok || len(m.AskedAccuracy) != 2 {
			t.Errorf("step %d: policy %q, asked accuracy %v; want split with program and text", m.Step, m.ParadigmPolicy, m.AskedAccuracy)
		}
	}
}

// A program_first group whose programs are all wrong draws
// fallback_samples text samples; the others are free of them.
func TestProgramFirstFallsBackToText(t *testing.T) {
	ms, groups, _ := runPolicy(t, "paradigm_policy: program_first\n    fallback_samples: 2", 0)
	fell := 0
	for i, g := range groups {
		n := map[episode.Paradigm]int{}
		for _, s := range g {
			n[s.Asked]++
		}
		if n[episode.ParadigmProgram] != 5 || n[episode.ParadigmText] != 2 {
			t.Errorf("group %d (all programs wrong): asked %v; want 5 program and 2 text", i, n)
		}
		fell++
	}
	got := 0
	for _, m := range ms {
		got += m.PolicyFallbackGroups
	}
	if got != fell || fell == 0 {
		t.Errorf("metrics count %d fallback groups; the rollouts show %d", got, fell)
	}
}
