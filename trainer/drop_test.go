package trainer

import (
	"context"
	"math"
	"net/http/httptest"
	"strings"
	"testing"

	"tabler1/episode"
	"tabler1/sandbox/execution"
	"tabler1/trainer/backendtest"
)

// brokenExecutor fails with a sandbox error on the tables in bad (every
// table when all is set) and defers to next otherwise.
type brokenExecutor struct {
	next execution.Executor
	bad  map[any]bool
	all  bool
}

func (e *brokenExecutor) Run(ctx context.Context, job execution.Job) execution.Result {
	if e.all || e.bad[job.Table] {
		return execution.Result{Status: execution.StatusSandboxError, Detail: "worker died"}
	}
	return e.next.Run(ctx, job)
}

// maskText masks the text samples (as mask_truncated_completions masks
// truncated ones).
type maskText struct{ Scorer }

func (m maskText) Score(it Item, s *episode.Episode) episode.Reward {
	sc := m.Scorer.Score(it, s)
	sc.Masked = s.Paradigm == episode.ParadigmText
	return sc
}

// Samples the sandbox failed on are dropped and counted; masked samples
// stay in their group's baseline but are not trained on.
func TestSandboxErrorsDroppedAndMaskedKeptInBaseline(t *testing.T) {
	cfg, err := ParseConfig([]byte(resumeConfig))
	if err != nil {
		t.Fatal(err)
	}
	cfg.RunDir = t.TempDir()
	srv := httptest.NewServer(backendtest.New(1))
	defer srv.Close()
	d := fakeDeps(cfg, &RemoteBackend{URL: srv.URL})
	bad := map[any]bool{}
	for i, it := range d.Sources[SourceSynthetic] {
		if i%2 == 0 {
			bad[it.Table] = true
		}
	}
	d.Executor = &brokenExecutor{next: d.Executor, bad: bad}
	d.Scorer = maskText{d.Scorer}
	ms := runToMetrics(t, cfg, d)
	var sbx, masked int
	for _, m := range ms[4:] {
		sbx += m.SandboxErrors
		masked += m.MaskedSamples
		logged := readRollouts(t, cfg.RunDir, m.Step)
		nm := 0
		groups := map[int][]episode.Episode{}
		for _, s := range logged {
			if s.SandboxError || (s.Exec != nil && s.Exec.Status == execution.StatusSandboxError) {
				t.Errorf("step %d: a sample the sandbox failed on was kept: %+v", m.Step, s.Exec)
			}
			if s.Masked {
				nm++
			}
			groups[s.Group] = append(groups[s.Group], s)
		}
		if nm != m.MaskedSamples || m.Samples != len(logged)-nm {
			t.Errorf("step %d: %d logged, %d masked; metrics say %d trained and %d masked", m.Step, len(logged), nm, m.Samples, m.MaskedSamples)
		}
		if got := m.Samples + m.MaskedSamples + m.SandboxErrors; got > 8 || got < 8-m.SandboxErrorGroups {
			t.Errorf("step %d: %d trained + %d masked + %d sandbox errors (%d groups dropped) do not add up to 8", m.Step, m.Samples, m.MaskedSamples, m.SandboxErrors, m.SandboxErrorGroups)
		}
		// GRPO advantages are centred over the whole group, masked
		// samples included.
		for g, ss := range groups {
			sum := 0.0
			for _, s := range ss {
				sum += s.Advantage
			}
			if math.Abs(sum) > 1e-9 {
				t.Errorf("step %d group %d: advantages sum to %g, want 0 over masked and unmasked samples", m.Step, g, sum)
			}
		}
	}
	if sbx == 0 || masked == 0 {
		t.Errorf("%d sandbox errors and %d masked samples over the run; the test checks nothing", sbx, masked)
	}
}

// A sandbox that fails on every program stops the run loudly.
func TestBrokenSandboxStopsRun(t *testing.T) {
	cfg, _ := ParseConfig([]byte(resumeConfig))
	cfg.RunDir = t.TempDir()
	srv := httptest.NewServer(backendtest.New(1))
	defer srv.Close()
	d := fakeDeps(cfg, &RemoteBackend{URL: srv.URL})
	d.Executor = &brokenExecutor{all: true}
	tr, _ := New(cfg, d)
	if err := tr.Run(context.Background(), false); err == nil || !strings.Contains(err.Error(), "sandbox failed on the last") {
		t.Errorf("Run = %v, want the broken sandbox reported", err)
	}
}
