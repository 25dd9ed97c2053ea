package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTrainDryRunShippedConfigs dry-runs every training configuration in
// configs/ as written. A configuration added there must be placed in one
// of the lists below, so none goes unchecked.
func TestTrainDryRunShippedConfigs(t *testing.T) {
	// Real-run configurations name data, hosts and secrets a fresh clone
	// lacks: their dry run prints the plan, then says so (exit 1).
	realRun := map[string]bool{"stage1-lti.yaml": true, "stage2-grpo.yaml": true}
	// Not training configurations: eval configurations (the eval tests run
	// eval-smoke.yaml) and the ablation study (ablate's
	// TestShippedStudyResolves resolves every arm of it).
	other := map[string]bool{"eval.yaml": true, "eval-smoke.yaml": true, "eval-passk.yaml": true, "ablation-small.yaml": true}
	files, err := filepath.Glob(filepath.Join("..", "..", "configs", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no configurations in configs/: %v", err)
	}
	for _, path := range files {
		f := filepath.Base(path)
		if other[f] {
			continue
		}
		// The configurations that drive the PyTorch backend read its token
		// from the environment, as scripts/gpu-check.sh and the torch smoke
		// test set it.
		var out, errb bytes.Buffer
		getenv := func(k string) string {
			if k == "TABLER1_BACKEND_TOKEN" {
				return "dry-run-token"
			}
			return ""
		}
		code := run(context.Background(), &env{stdout: &out, stderr: &errb, getenv: getenv}, []string{"train", "--config", path, "--dry-run", "--offline"})
		errs := errb.String()
		switch {
		case realRun[f] && (code != 1 || !strings.Contains(errs, "the run would fail")):
			t.Errorf("%s: exit %d, want 1 naming what the run lacks: %s", f, code, errs)
			continue
		case !realRun[f] && code != 0:
			t.Errorf("%s: exit %d: %s (a new configuration that is not a training one goes into this test's lists)", f, code, errs)
			continue
		}
		if o := out.String(); !strings.Contains(o, "# plan:") || !strings.Contains(o, "stages:") {
			t.Errorf("%s: dry run output lacks the plan or the stages:\n%s", f, o)
		}
	}
}

func TestTrainBadConfig(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "bad.yaml")
	os.WriteFile(p, []byte("name: x\nstages:\n  - kind: sft\n    stepz: 3\n"), 0o644)
	code, _, errs := runCmd(t, "train", "--config", p, "--dry-run")
	if code != 1 || !strings.Contains(errs, "line 4") || !strings.Contains(errs, `did you mean "steps"`) {
		t.Errorf("exit %d, stderr %q", code, errs)
	}
	if code, _, _ := runCmd(t, "train"); code != 2 {
		t.Errorf("train without --config: exit %d, want 2", code)
	}
}

func TestPlotUsage(t *testing.T) {
	if code, _, _ := runCmd(t, "plot"); code != 2 {
		t.Errorf("plot without RUN_DIR: exit %d, want 2", code)
	}
	if code, _, errs := runCmd(t, "plot", t.TempDir()); code != 1 || !strings.Contains(errs, "metrics") {
		t.Errorf("plot of an empty directory: exit %d, %q", code, errs)
	}
}
