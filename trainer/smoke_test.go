//go:build !race

// The smoke training end to end: minutes of real CPU training, so it is
// left out of race-detector runs (the race detector slows the model ~10x).

package trainer

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// TestSmokeTraining runs configs/smoke.yaml (seed from TABLER1_SMOKE_SEED,
// default the file's) and checks from metrics.jsonl that the SFT loss fell
// by at least half and that the GRPO reward of the last fifth of its steps
// beats the first fifth. scripts/smoke-seeds.sh runs it for three seeds.
func TestSmokeTraining(t *testing.T) {
	if testing.Short() {
		t.Skip("smoke training takes minutes; -short skips it")
	}
	requirePandas(t)
	cfg, err := LoadConfig(filepath.Join("..", "configs", "smoke.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if s := os.Getenv("TABLER1_SMOKE_SEED"); s != "" {
		seed, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("TABLER1_SMOKE_SEED=%q: %v", s, err)
		}
		cfg.Seed = seed
	}
	cfg.RunDir = t.TempDir()
	if d := os.Getenv("TABLER1_SMOKE_RUN_DIR"); d != "" {
		cfg.RunDir = d
	}
	cfg.Logging.Progress = "none"
	ctx := context.Background()
	tr, closeAll, err := Setup(ctx, cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer closeAll()
	if err := tr.Run(ctx, false); err != nil {
		t.Fatal(err)
	}
	ms, err := ReadMetrics(filepath.Join(cfg.RunDir, "metrics.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	// checkpoints/latest leads to the final checkpoint, what
	// configs/eval-smoke.yaml evaluates.
	if target, err := os.Readlink(filepath.Join(cfg.RunDir, "checkpoints", LatestLink)); err != nil || target != filepath.Base(CheckpointDir(cfg.RunDir, cfg.TotalSteps())) {
		t.Errorf("checkpoints/latest -> %q (%v), want step-%d", target, err, cfg.TotalSteps())
	}
	sum, err := CheckSmoke(ms)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("seed %d: %s", cfg.Seed, sum)
}
