package main

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"tabler1/rollout/openaitest"
	"tabler1/trainer/backendtest"
)

// --dry-run validates as a run does: the rollout timeouts (stall_timeout
// is a key, and one shorter than timeout is refused), data paths that
// exist, and, unless --offline, a backend and endpoints that answer.
func TestTrainDryRunChecks(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "train.jsonl")
	if err := os.WriteFile(data, []byte("{}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	backend := httptest.NewServer(backendtest.New(1))
	defer backend.Close()
	endpoint := openaitest.NewServer(openaitest.Config{})
	defer endpoint.Close()
	dead := httptest.NewServer(nil)
	deadURL := dead.URL
	dead.Close()
	config := func(backendURL, endpointURL, dataPath, rollout string) string {
		return "backend: {kind: remote, url: \"" + backendURL + "\", retry_backoff: 1ms}\n" +
			"model: {name: m, endpoints: [{url: \"" + endpointURL + "\"}]}\n" +
			"rollout: " + rollout + "\n" +
			"data: {sources: [{path: \"" + dataPath + "\"}]}\n" +
			"stages: [{kind: grpo, steps: 1}]\n"
	}
	missing := filepath.Join(dir, "missing.jsonl")
	tests := []struct {
		name      string
		yaml      string
		offline   bool
		code      int
		stderr    []string
		notStderr []string
	}{
		{"all up", config(backend.URL, endpoint.URL, data, "{timeout: 15m}"), false, 0, nil, nil},
		{"stall_timeout shorter than timeout", config(backend.URL, endpoint.URL, data, "{timeout: 15m, stall_timeout: 10m}"), false, 1,
			[]string{"stall_timeout (10m0s) is shorter than request_timeout (15m0s)"}, nil},
		{"everything down or missing", config(deadURL, deadURL+"/v1", missing, "{}"), false, 1,
			[]string{missing, deadURL + " is not answering its health check", "endpoint " + deadURL + "/v1 is not answering"}, nil},
		{"offline skips the network", config(deadURL, deadURL+"/v1", missing, "{}"), true, 1,
			[]string{missing}, []string{"health check", "not answering"}},
		{"offline and present", config(deadURL, deadURL+"/v1", data, "{}"), true, 0, nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "c.yaml")
			if err := os.WriteFile(p, []byte(tc.yaml), 0o644); err != nil {
				t.Fatal(err)
			}
			args := []string{"train", "--config", p, "--dry-run"}
			if tc.offline {
				args = append(args, "--offline")
			}
			code, out, errs := runCmd(t, args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d; stdout:\n%s\nstderr:\n%s", code, tc.code, out, errs)
			}
			for _, want := range tc.stderr {
				if !strings.Contains(errs, want) {
					t.Errorf("stderr lacks %q:\n%s", want, errs)
				}
			}
			for _, not := range tc.notStderr {
				if strings.Contains(errs, not) {
					t.Errorf("stderr has %q:\n%s", not, errs)
				}
			}
			if code == 0 && (!strings.Contains(out, "# checks:") || !strings.Contains(out, "ok   data "+data)) {
				t.Errorf("stdout lacks the checks:\n%s", out)
			}
		})
	}
}
