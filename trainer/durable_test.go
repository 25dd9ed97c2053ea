package trainer

import (
	"context"
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"tabler1/model"
	"tabler1/trainer/backendtest"
)

// sameDraws checks that the run in cut drew, at each of its 10 steps, the
// questions the uninterrupted run in whole drew.
func sameDraws(t *testing.T, whole, cut string) {
	t.Helper()
	a, b := drawnPerStep(t, whole), drawnPerStep(t, cut)
	if len(b) != 10 {
		t.Fatalf("%d steps after resume, want 10", len(b))
	}
	for i := range a {
		if !slices.Equal(a[i], b[i]) {
			t.Errorf("step %d drew %v uninterrupted but %v resumed", i+1, a[i], b[i])
		}
	}
}

func appendFile(t *testing.T, path, text string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(text); err != nil {
		t.Fatal(err)
	}
}

// A full disk during a metrics write leaves a torn last line: resume drops
// it (and only a last line) and the run completes as an uninterrupted one.
func TestResumeDropsTornMetricsTail(t *testing.T) {
	for _, tc := range []struct {
		name, tail string
		ok         bool
	}{
		{"torn last line", `{"step":6,"stage":"grpo","lo`, true},
		{"torn last line and newline", `{"step":6,"sta` + "\n", true},
		{"garbage before a good line", "{oops\n" + `{"step":5}` + "\n", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base := t.TempDir()
			whole, cut := filepath.Join(base, "whole"), filepath.Join(base, "cut")
			if err := runFake(t, whole, false, 0); err != nil {
				t.Fatal(err)
			}
			if err := runFake(t, cut, false, 5); !errors.Is(err, errCrash) {
				t.Fatalf("crash run: %v", err)
			}
			appendFile(t, filepath.Join(cut, "metrics.jsonl"), tc.tail)
			err := runFake(t, cut, true, 0)
			if !tc.ok {
				if err == nil || !strings.Contains(err.Error(), "metrics.jsonl:") {
					t.Fatalf("resume over a torn line inside the file = %v, want an error naming the line", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("resume after a torn metrics line: %v", err)
			}
			sameDraws(t, whole, cut)
		})
	}
}

// A truncated newest checkpoint (the backend cannot load it) makes resume
// fall back to the previous complete one with a warning, set the bad one
// aside, and still finish with the same draws as an uninterrupted run.
func TestResumeFallsBackFromCorruptCheckpoint(t *testing.T) {
	base := t.TempDir()
	whole, cut := filepath.Join(base, "whole"), filepath.Join(base, "cut")
	if err := runFake(t, whole, false, 0); err != nil {
		t.Fatal(err)
	}
	if err := runFake(t, cut, false, 7); !errors.Is(err, errCrash) {
		t.Fatalf("crash run: %v", err)
	}
	if steps, _ := listCheckpoints(cut); !slices.Equal(steps, []int{3, 6}) {
		t.Fatalf("checkpoints before resume: %v, want [3 6]", steps)
	}
	weights := filepath.Join(CheckpointDir(cut, 6), "backendtest.json")
	if err := os.Truncate(weights, 7); err != nil {
		t.Fatal(err)
	}
	if err := runFake(t, cut, true, 0); err != nil {
		t.Fatalf("resume over a corrupt newest checkpoint: %v", err)
	}
	if _, err := os.Stat(CheckpointDir(cut, 6) + corruptSuffix); err != nil {
		t.Errorf("the corrupt checkpoint was not set aside: %v", err)
	}
	sameDraws(t, whole, cut)
}

// A backend that cannot be reached is not a corrupt checkpoint: resume
// fails instead of falling back to older weights.
func TestResumeDoesNotFallBackWhenBackendIsDown(t *testing.T) {
	dir := t.TempDir()
	if err := runFake(t, dir, false, 7); !errors.Is(err, errCrash) {
		t.Fatal(err)
	}
	cfg, _ := ParseConfig([]byte(resumeConfig))
	cfg.RunDir = dir
	srv := httptest.NewServer(backendtest.New(1))
	url := srv.URL
	srv.Close()
	tr, err := New(cfg, fakeDeps(cfg, &RemoteBackend{URL: url}))
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Run(context.Background(), true); err == nil || !strings.Contains(err.Error(), "step-6") {
		t.Fatalf("resume with the backend down = %v, want an error naming step-6", err)
	}
	if steps, _ := listCheckpoints(dir); !slices.Equal(steps, []int{3, 6}) {
		t.Errorf("checkpoints after a failed resume: %v, want [3 6] untouched", steps)
	}
}

// Unfinished checkpoint directories and temporary files of interrupted
// atomic writes are removed when a run starts; complete checkpoints stay.
func TestRunCleansUnfinishedWrites(t *testing.T) {
	dir := t.TempDir()
	if err := runFake(t, dir, false, 4); !errors.Is(err, errCrash) {
		t.Fatal(err)
	}
	unfinished := CheckpointDir(dir, 4)
	leftovers := []string{
		filepath.Join(unfinished, "backendtest.json"),
		filepath.Join(CheckpointDir(dir, 3), stateFile+tmpSuffix),
		filepath.Join(dir, "config.yaml"+tmpSuffix),
		filepath.Join(dir, "rollouts", "step-4.jsonl"+tmpSuffix),
	}
	for _, p := range leftovers {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("partial"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	users := filepath.Join(dir, "notes", "draft.tmp") // not the run's: kept
	os.MkdirAll(filepath.Dir(users), 0o755)
	os.WriteFile(users, []byte("mine"), 0o644)
	if err := runFake(t, dir, true, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(users); err != nil {
		t.Errorf("a file of the user's in the run directory was removed: %v", err)
	}
	for _, p := range leftovers[1:] {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s survived the next run (%v)", p, err)
		}
	}
	// step-4 was redone as a real step, but never checkpointed (every: 3):
	// the unfinished directory must be gone.
	if _, err := os.Stat(unfinished); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the unfinished checkpoint %s survived (%v)", unfinished, err)
	}
	if _, _, ok, err := LatestCheckpoint(dir); !ok || err != nil {
		t.Errorf("no complete checkpoint left: %v", err)
	}
}

func TestWriteFileAtomicReplaces(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "config.yaml")
	for _, content := range []string{"a: 1\n", "a: 2\n"} {
		if err := writeFileAtomic(p, []byte(content)); err != nil {
			t.Fatal(err)
		}
		if b, _ := os.ReadFile(p); string(b) != content {
			t.Errorf("file holds %q, want %q", b, content)
		}
	}
	if err := writeFileAtomic(filepath.Join(dir, "missing", "x"), nil); err == nil {
		t.Error("writing into a missing directory succeeded")
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("directory holds %d entries, want only config.yaml", len(ents))
	}
	if err := syncTree(dir); err != nil {
		t.Error(err)
	}
	if err := syncTree(filepath.Join(dir, "missing")); err == nil {
		t.Error("syncing a missing directory succeeded")
	}
}

const embeddedResumeConfig = `
name: versions
seed: 3
model:
  embedded: {layers: 1, width: 16, heads: 2, mlp: 32, context: 512}
rollout: {template: compact}
data:
  synthetic:
    questions: 6
stages:
  - kind: sft
    steps: 5
    batch_size: 2
checkpoint:
  every: 2
logging:
  progress: none
`

// runEmbedded runs embeddedResumeConfig on a fresh embedded backend (its
// server starts counting versions at 1, as after a process restart).
func runEmbedded(t *testing.T, dir string, resume bool, crashAt int) error {
	t.Helper()
	return runConfig(t, embeddedResumeConfig, dir, resume, crashAt, func(cfg *Config) Backend {
		b, err := StartEmbedded(context.Background(), cfg.Model.Embedded, cfg.Seed, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { b.Close() })
		return b
	})
}

// The published weights' version only grows within a run, across a resume
// on a backend that restarted its count; a truncated newest checkpoint of
// the embedded model falls back to the previous one.
func TestResumeKeepsPublishVersionGrowing(t *testing.T) {
	for _, corrupt := range []bool{false, true} {
		dir := t.TempDir()
		if err := runEmbedded(t, dir, false, 5); !errors.Is(err, errCrash) {
			t.Fatalf("crash run: %v", err)
		}
		if corrupt {
			w := filepath.Join(CheckpointDir(dir, 4), model.WeightsFile)
			fi, err := os.Stat(w)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Truncate(w, fi.Size()/2); err != nil {
				t.Fatal(err)
			}
		}
		if err := runEmbedded(t, dir, true, 0); err != nil {
			t.Fatalf("resume (corrupt newest checkpoint: %v): %v", corrupt, err)
		}
		ms, err := ReadMetrics(filepath.Join(dir, "metrics.jsonl"))
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) != 5 {
			t.Fatalf("%d metrics lines, want 5", len(ms))
		}
		for i := 1; i < len(ms); i++ {
			if ms[i].Version <= ms[i-1].Version {
				t.Errorf("corrupt=%v: step %d published version %d after step %d's %d; versions must grow within a run",
					corrupt, ms[i].Step, ms[i].Version, ms[i-1].Step, ms[i-1].Version)
			}
		}
		_, st, _, _ := LatestCheckpoint(dir)
		if st.PublishVersion != ms[len(ms)-1].Version {
			t.Errorf("state.json publish_version %d, last step's version %d", st.PublishVersion, ms[len(ms)-1].Version)
		}
	}
}
