//go:build !race

package trainer

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// TestSmokeTorchBackend is the smoke run against the PyTorch reference
// trainer (backends/torch) instead of the embedded backend: configs/
// smoke-torch.yaml (smoke.yaml's stages, backend.kind remote, rollouts
// served by the backend itself), on a free port, checked like the smoke
// run (SFT loss halves, GRPO reward of the last fifth beats the first).
func TestSmokeTorchBackend(t *testing.T) {
	if testing.Short() {
		t.Skip("smoke training takes minutes; -short skips it")
	}
	requirePandas(t)
	py := "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import torch").Run(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s cannot import torch (run scripts/setup-torch.sh): %v", py, err)
		}
		t.Skipf("%s cannot import torch (run scripts/setup-torch.sh): %v", py, err)
	}
	cfg, err := LoadConfig(filepath.Join("..", "configs", "smoke-torch.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	key := make([]byte, 16)
	rand.Read(key)
	token := hex.EncodeToString(key)
	t.Setenv(cfg.Backend.TokenEnv, token)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	cfg.Backend.URL = base
	cfg.Model.Endpoints[0].URL = base + "/v1"
	cfg.RunDir = t.TempDir()
	cfg.Logging.Progress = "none"

	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", filepath.Join(root, "scripts", "torch-backend.sh"),
		"--model", "embedded:"+filepath.Join(root, "configs", "smoke-torch-model.json"),
		"--seed", strconv.FormatUint(cfg.Seed, 10), "--port", strconv.Itoa(port))
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	// Its own group, killed with the test; and killed if the test dies.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		cmd.Wait()
	}()
	waitHealthy(t, base+"/v1/health", token, 90*time.Second)

	start := time.Now()
	ctx := context.Background()
	tr, closeAll, err := Setup(ctx, cfg, Options{Getenv: os.Getenv})
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
	sum, err := CheckSmoke(ms)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("seed %d, torch backend: %s; wall %.0fs", cfg.Seed, sum, time.Since(start).Seconds())
}

// waitHealthy polls the backend's health route until it answers 200.
func waitHealthy(t *testing.T, url, token string, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(300 * time.Millisecond)
	}
	t.Fatalf("the torch backend did not answer %s within %s", url, limit)
}
