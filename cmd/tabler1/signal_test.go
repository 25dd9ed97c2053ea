package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// tinySFTConfig trains the embedded model without sandbox or rollouts, long
// enough to be interrupted.
const tinySFTConfig = `
name: sig
seed: 1
model:
  embedded: {layers: 1, width: 16, heads: 2, mlp: 32, context: 512}
rollout: {template: compact}
data:
  synthetic: {questions: 8}
stages:
  - {kind: sft, steps: 100000, batch_size: 1}
logging: {progress: none}
`

// SIGINT and SIGTERM stop training with a checkpoint, exit 130 and 143, and
// say on stderr where the checkpoint is and how to resume.
func TestTrainSignalExitCodes(t *testing.T) {
	for _, tc := range []struct {
		sig  syscall.Signal
		code int
	}{{syscall.SIGINT, 130}, {syscall.SIGTERM, 143}} {
		t.Run(signalName(tc.sig), func(t *testing.T) {
			dir := t.TempDir()
			cfg := filepath.Join(dir, "c.yaml")
			if err := os.WriteFile(cfg, []byte(tinySFTConfig), 0o644); err != nil {
				t.Fatal(err)
			}
			runDir := filepath.Join(dir, "run")
			ctx, cancel := context.WithCancelCause(context.Background())
			defer cancel(nil)
			go func() {
				// Signal once the first step is logged.
				for ctx.Err() == nil {
					if fi, err := os.Stat(filepath.Join(runDir, "metrics.jsonl")); err == nil && fi.Size() > 0 {
						cancel(interrupted{tc.sig})
						return
					}
					time.Sleep(10 * time.Millisecond)
				}
			}()
			var out, errb bytes.Buffer
			code := run(ctx, &env{stdout: &out, stderr: &errb, getenv: func(string) string { return "" }},
				[]string{"train", "--config", cfg, "--run-dir", runDir})
			if code != tc.code {
				t.Fatalf("exit %d, want %d; stderr:\n%s", code, tc.code, errb.String())
			}
			m := regexp.MustCompile(`checkpoint (\S+) written`).FindStringSubmatch(errb.String())
			if m == nil {
				t.Fatalf("stderr names no checkpoint:\n%s", errb.String())
			}
			if _, err := os.Stat(filepath.Join(m[1], "state.json")); err != nil {
				t.Errorf("the checkpoint stderr names is not complete: %v", err)
			}
			resume := "tabler1 train --config " + cfg + " --run-dir " + runDir + " --resume"
			if !strings.Contains(errb.String(), resume) || !strings.Contains(errb.String(), signalName(tc.sig)) {
				t.Errorf("stderr lacks the resume command %q or the signal:\n%s", resume, errb.String())
			}
		})
	}
}
