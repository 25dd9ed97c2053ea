package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"tabler1/ablate"
	"tabler1/trainer"
)

func writeStudy(t *testing.T, dir string, seeds string, parallel int) string {
	t.Helper()
	base, _ := filepath.Abs(filepath.Join("..", "..", "ablate", "testdata", "base.yaml"))
	tmpl, _ := filepath.Abs(filepath.Join("..", "..", "configs", "ablation", "templates"))
	src := fmt.Sprintf(`name: tiny
base: %s
seeds: [%s]
parallel: %d
heldout: {seed: 99, questions: 6, templates: %s, table_format: compact}
bootstrap: {resamples: 200}
arms:
  - name: full
`, base, seeds, parallel, tmpl)
	p := filepath.Join(dir, "study.yaml")
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func readResult(t *testing.T, out string, seed int) ablate.Result {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(out, "full", fmt.Sprintf("seed-%d", seed), ablate.ResultFile))
	if err != nil {
		t.Fatal(err)
	}
	var r ablate.Result
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

func readItems(t *testing.T, out string, seed int) []string {
	t.Helper()
	ms, err := trainer.ReadMetrics(filepath.Join(out, "full", fmt.Sprintf("seed-%d", seed), "run", "metrics.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var items []string
	for _, m := range ms {
		items = append(items, m.Items...)
	}
	return items
}

// TestAblateSeedsReproducibleAndIndependent trains a tiny arm for real:
// seed 1 alone, then seeds 1 and 2 side by side, must give seed 1 the
// same held-out metrics and data order (reproducible, and independent of
// what runs beside it), while seed 2 draws other data; a rerun of the
// finished study runs nothing.
func TestAblateSeedsReproducibleAndIndependent(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a model")
	}
	distillNeedsPandas(t)
	dir := t.TempDir()
	outA, outB := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	if code, _, errs := runCmd(t, "ablate", "--config", writeStudy(t, dir, "1", 1), "--out", outA); code != 0 {
		t.Fatalf("study a: exit %d: %s", code, errs)
	}
	code, stdout, errs := runCmd(t, "ablate", "--config", writeStudy(t, dir, "1, 2", 2), "--out", outB)
	if code != 0 {
		t.Fatalf("study b: exit %d: %s", code, errs)
	}
	a1, b1 := readResult(t, outA, 1), readResult(t, outB, 1)
	if len(a1.Metrics) == 0 || !reflect.DeepEqual(a1.Metrics, b1.Metrics) {
		t.Errorf("seed 1 alone and beside seed 2 differ:\n%v\n%v", a1.Metrics, b1.Metrics)
	}
	for _, k := range []string{"heldout/accuracy", "heldout/program_share", "heldout/text_share", ablate.HardCoded, ablate.TextTruncated} {
		if _, ok := a1.Metrics[k]; !ok {
			t.Errorf("no %s in %v", k, a1.Metrics)
		}
	}
	if ia, ib := readItems(t, outA, 1), readItems(t, outB, 1); !reflect.DeepEqual(ia, ib) {
		t.Error("seed 1 drew different data in the two studies")
	}
	if reflect.DeepEqual(readItems(t, outB, 1), readItems(t, outB, 2)) {
		t.Error("seeds 1 and 2 drew the same data")
	}
	for _, f := range []string{"table.md", "table.json", filepath.Join("plots", "grpo_reward.png"), filepath.Join("plots", "heldout_accuracy.png")} {
		if _, err := os.Stat(filepath.Join(outB, f)); err != nil {
			t.Error(err)
		}
	}
	if !strings.Contains(stdout, "| full |") {
		t.Errorf("stdout lacks the table:\n%s", stdout)
	}
	code, _, errs = runCmd(t, "ablate", "--config", writeStudy(t, dir, "1, 2", 2), "--out", outB)
	if code != 0 || strings.Count(errs, "finished earlier, skipped") != 2 || strings.Contains(errs, "started") {
		t.Errorf("rerun: exit %d, stderr:\n%s", code, errs)
	}
}

func TestAblateUsage(t *testing.T) {
	if code, _, _ := runCmd(t, "ablate"); code != 2 {
		t.Errorf("ablate without --config: exit %d, want 2", code)
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "s.yaml")
	base, _ := filepath.Abs(filepath.Join("..", "..", "ablate", "testdata", "base.yaml"))
	os.WriteFile(p, []byte("base: "+base+"\nseeds: [1]\narms: [{name: a, set: {rewards.short_code.penaltyy: 0}}]\n"), 0o644)
	code, _, errs := runCmd(t, "ablate", "--config", p, "--out", filepath.Join(dir, "out"))
	if code != 1 || !strings.Contains(errs, `unknown configuration key "rewards.short_code.penaltyy"`) {
		t.Errorf("unknown key: exit %d, stderr %q", code, errs)
	}
}
