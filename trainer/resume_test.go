package trainer

import (
	"context"
	"errors"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"tabler1/backend"
	"tabler1/trainer/backendtest"
)

const resumeConfig = `
name: resume
seed: 11
data:
  synthetic:
    questions: 13
stages:
  - kind: sft
    steps: 4
    batch_size: 3
  - kind: grpo
    steps: 6
    batch_size: 2
    group_size: 4
checkpoint:
  every: 3
  keep: 2
logging:
  progress: none
`

func runFake(t *testing.T, dir string, resume bool, crashAt int) error {
	t.Helper()
	return runFakeConfig(t, dir, resumeConfig, resume, crashAt)
}

// runFakeConfig runs the configuration yaml in dir on the fakes and the
// remote fake backend.
func runFakeConfig(t *testing.T, dir, yaml string, resume bool, crashAt int) error {
	t.Helper()
	return runConfig(t, yaml, dir, resume, crashAt, func(*Config) backend.Backend {
		srv := httptest.NewServer(backendtest.New(1))
		t.Cleanup(srv.Close)
		return &RemoteBackend{URL: srv.URL, Retries: 1, Backoff: time.Millisecond}
	})
}

// runConfig runs the configuration yaml in dir on the fakes and the backend
// newBackend returns; crashAt > 0 stops the run after that step as kill -9
// would.
func runConfig(t *testing.T, yaml, dir string, resume bool, crashAt int, newBackend func(*Config) backend.Backend) error {
	t.Helper()
	cfg, err := ParseConfig([]byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	cfg.RunDir = dir
	d := fakeDeps(cfg, newBackend(cfg))
	if crashAt > 0 {
		d.AfterStep = func(step int) error {
			if step == crashAt {
				return errCrash
			}
			return nil
		}
	}
	tr, err := New(cfg, d)
	if err != nil {
		t.Fatal(err)
	}
	return tr.Run(context.Background(), resume)
}

var errCrash = errors.New("simulated kill -9")

func drawnPerStep(t *testing.T, dir string) [][]string {
	t.Helper()
	ms, err := ReadMetrics(filepath.Join(dir, "metrics.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	out := make([][]string, len(ms))
	for i, m := range ms {
		if m.Step != i+1 {
			t.Fatalf("metrics line %d is step %d", i+1, m.Step)
		}
		out[i] = m.Items
	}
	return out
}

// A run killed between checkpoints and resumed draws, at every step, the
// same questions as an uninterrupted run: nothing replayed, nothing skipped.
func TestResumeDrawsSameQuestions(t *testing.T) {
	for _, crashAt := range []int{2, 5, 7} {
		base := t.TempDir()
		whole, cut := filepath.Join(base, "whole"), filepath.Join(base, "cut")
		if err := runFake(t, whole, false, 0); err != nil {
			t.Fatal(err)
		}
		if err := runFake(t, cut, false, crashAt); !errors.Is(err, errCrash) {
			t.Fatalf("crash run: %v", err)
		}
		if err := runFake(t, cut, true, 0); err != nil {
			t.Fatalf("resume after crash at %d: %v", crashAt, err)
		}
		a, b := drawnPerStep(t, whole), drawnPerStep(t, cut)
		if len(a) != 10 || len(b) != 10 {
			t.Fatalf("crash at %d: %d and %d steps, want 10", crashAt, len(a), len(b))
		}
		for i := range a {
			if !slices.Equal(a[i], b[i]) {
				t.Errorf("crash at %d: step %d drew %v uninterrupted but %v resumed", crashAt, i+1, a[i], b[i])
			}
		}
		// Every kept checkpoint is complete and only `keep` remain.
		steps, err := listCheckpoints(cut)
		if err != nil || len(steps) != 2 || steps[1] != 10 {
			t.Errorf("checkpoints after the run: %v, %v; want the last 2 ending at 10", steps, err)
		}
	}
}

func TestResumeRefusesOtherConfig(t *testing.T) {
	dir := t.TempDir()
	if err := runFake(t, dir, false, 4); !errors.Is(err, errCrash) {
		t.Fatal(err)
	}
	cfg, _ := ParseConfig([]byte(strings.Replace(resumeConfig, "seed: 11", "seed: 12", 1)))
	cfg.RunDir = dir
	srv := httptest.NewServer(backendtest.New(1))
	defer srv.Close()
	tr, err := New(cfg, fakeDeps(cfg, &RemoteBackend{URL: srv.URL}))
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Run(context.Background(), true); err == nil || !strings.Contains(err.Error(), "seed: 11 -> 12  (refused)") {
		t.Errorf("resume under another configuration: %v", err)
	}
}

// A resume may extend the run (more steps for the current and later
// stages, another checkpoint cadence); other changes are refused with the
// key-by-key diff.
func TestResumeExtends(t *testing.T) {
	edit := func(pairs ...string) string { return strings.NewReplacer(pairs...).Replace(resumeConfig) }
	for _, tc := range []struct {
		name    string
		crashAt int
		config  string
		err     []string // empty: accepted
		steps   int
	}{
		{"more grpo steps and another cadence", 4, edit("steps: 6", "steps: 8", "every: 3", "every: 2"), nil, 12},
		{"more steps of the current stage", 2, edit("steps: 4", "steps: 5"), nil, 11},
		{"finished stage", 7, edit("steps: 4", "steps: 5"), []string{"stages[0].steps: 4 -> 5  (refused: stage 0 is finished)"}, 0},
		{"current stage below its steps done", 10, edit("steps: 6", "steps: 4"), []string{"stages[1].steps: 6 -> 4  (refused: stage 1 has done 5 steps already"}, 0},
		{"learning signal", 4, edit("batch_size: 2", "batch_size: 3", "steps: 6", "steps: 7"),
			[]string{"stages[1].batch_size: 2 -> 3  (refused)", "stages[1].steps: 6 -> 7  (ok)"}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := runFake(t, dir, false, tc.crashAt); !errors.Is(err, errCrash) {
				t.Fatal(err)
			}
			err := runFakeConfig(t, dir, tc.config, true, 0)
			if len(tc.err) == 0 {
				if err != nil {
					t.Fatalf("resume: %v", err)
				}
				if got := len(drawnPerStep(t, dir)); got != tc.steps {
					t.Errorf("%d steps, want %d", got, tc.steps)
				}
				// Resumed again with the same configuration: nothing to do, no refusal.
				if err := runFakeConfig(t, dir, tc.config, true, 0); err != nil {
					t.Errorf("second resume: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("resume accepted")
			}
			for _, w := range tc.err {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\nwant %q", err, w)
				}
			}
		})
	}
}

// Cancelling the context (SIGINT) checkpoints the last completed step.
func TestInterruptCheckpoints(t *testing.T) {
	dir := t.TempDir()
	cfg, _ := ParseConfig([]byte(resumeConfig))
	cfg.RunDir = dir
	srv := httptest.NewServer(backendtest.New(1))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	d := fakeDeps(cfg, &RemoteBackend{URL: srv.URL})
	d.AfterStep = func(step int) error {
		if step == 2 {
			cancel()
		}
		return nil
	}
	tr, err := New(cfg, d)
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Run(ctx, false); !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v, want context.Canceled", err)
	}
	_, st, ok, err := LatestCheckpoint(dir)
	if err != nil || !ok || st.Step != 2 || st.Cursors[0] != 6 {
		t.Errorf("checkpoint after interrupt: %+v ok=%v err=%v; want step 2 with 6 drawn", st, ok, err)
	}
}

func TestRunWritesMetricsAndRollouts(t *testing.T) {
	dir := t.TempDir()
	if err := runFake(t, dir, false, 0); err != nil {
		t.Fatal(err)
	}
	ms, err := ReadMetrics(filepath.Join(dir, "metrics.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	last := ms[len(ms)-1]
	if last.Stage != StageGRPO || last.Samples != 8 || last.Groups != 2 || last.Rewards["answer"] != last.RewardMean {
		t.Errorf("last step metrics: %+v", last)
	}
	if ms[0].Stage != StageSFT || ms[0].Samples != 3 || ms[0].Loss <= 0 {
		t.Errorf("first step metrics: %+v", ms[0])
	}
	rs, err := filepath.Glob(filepath.Join(dir, "rollouts", "step-*.jsonl"))
	if err != nil || len(rs) != 6 {
		t.Errorf("rollout logs: %v (%v), want one per GRPO step", rs, err)
	}
}

func TestRunFailsLoudlyOnRolloutError(t *testing.T) {
	cfg, _ := ParseConfig([]byte(resumeConfig))
	cfg.RunDir = t.TempDir()
	srv := httptest.NewServer(backendtest.New(1))
	defer srv.Close()
	d := fakeDeps(cfg, &RemoteBackend{URL: srv.URL})
	d.Generator.(*fakeGenerator).fail = errors.New("endpoint down")
	tr, _ := New(cfg, d)
	err := tr.Run(context.Background(), false)
	if err == nil || !strings.Contains(err.Error(), "endpoint down") || !strings.Contains(err.Error(), "step 5") {
		t.Errorf("Run = %v, want the rollout error at step 5", err)
	}
	// The failed step is not counted: a resume redoes it.
	_, st, ok, _ := LatestCheckpoint(cfg.RunDir)
	if !ok || st.Step != 4 || st.Cursors[1] != 0 {
		t.Errorf("checkpoint after failure: %+v", st)
	}
}
