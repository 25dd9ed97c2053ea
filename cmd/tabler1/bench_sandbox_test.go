package main

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestBenchSandboxJSON(t *testing.T) {
	sandboxPythonOrSkip(t)
	code, out, errs := runCmd(t, "bench", "sandbox", "--json", "--workers", "1", "--jobs", "8", "--half-load-jobs", "4", "--baseline", "1")
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var rep map[string]any
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &rep); err != nil {
		t.Fatalf("last line %q is not a JSON object: %v", lines[len(lines)-1], err)
	}
	for _, k := range []string{"jobs_per_s", "baseline_jobs_per_s", "speedup", "p50_ms", "p99_ms", "workers", "pool_memory_bytes"} {
		v, ok := rep[k].(float64)
		if !ok || v <= 0 {
			t.Errorf("%s = %v, want a positive number", k, rep[k])
		}
	}
}
