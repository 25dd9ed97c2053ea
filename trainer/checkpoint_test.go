package trainer

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"tabler1/trainer/backendtest"
)

func TestCheckpointsKeepAndIgnoreUnfinished(t *testing.T) {
	dir := t.TempDir()
	srv := httptest.NewServer(backendtest.New(1))
	defer srv.Close()
	b := &RemoteBackend{URL: srv.URL}
	for step := 1; step <= 4; step++ {
		if _, err := SaveCheckpoint(context.Background(), b, dir, State{Step: step, Cursors: []int{step}}, 2, time.Unix(0, 0)); err != nil {
			t.Fatal(err)
		}
	}
	steps, err := listCheckpoints(dir)
	if err != nil || len(steps) != 2 || steps[0] != 3 || steps[1] != 4 {
		t.Fatalf("kept %v (%v), want [3 4]", steps, err)
	}
	// checkpoints/latest names the newest complete checkpoint, relatively.
	if target, err := os.Readlink(filepath.Join(dir, "checkpoints", LatestLink)); err != nil || target != "step-4" {
		t.Errorf("checkpoints/latest -> %q (%v), want step-4", target, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "checkpoints", LatestLink, stateFile)); err != nil {
		t.Errorf("checkpoints/latest does not lead to a checkpoint: %v", err)
	}
	// A checkpoint directory without state.json (a crash during save) is
	// not a checkpoint.
	os.MkdirAll(CheckpointDir(dir, 9), 0o755)
	_, st, ok, err := LatestCheckpoint(dir)
	if err != nil || !ok || st.Step != 4 || st.Cursors[0] != 4 {
		t.Errorf("latest = %+v %v %v, want step 4", st, ok, err)
	}
	if _, _, ok, err := LatestCheckpoint(t.TempDir()); ok || err != nil {
		t.Errorf("an empty run has a checkpoint: %v %v", ok, err)
	}
}

func FuzzDecodeMetrics(f *testing.F) {
	f.Add([]byte(`{"step":1,"stage":"sft","actor/loss":2.5,"items":["a"]}` + "\n"))
	f.Add([]byte(`{"step":3,"critic/rewards/format/mean":0.5,"fallback/rescued":2,"eval/wtq/test/accuracy":0.25}` + "\n"))
	f.Add([]byte("\n\n{\"step\":2}\n"))
	f.Add([]byte("{"))
	f.Fuzz(func(t *testing.T, b []byte) {
		ms, err := decodeMetrics(strings.NewReader(string(b)), "fuzz")
		if err == nil && len(ms) > strings.Count(string(b), "\n")+1 {
			t.Errorf("%d metrics lines from %d lines", len(ms), strings.Count(string(b), "\n")+1)
		}
	})
}
