package main

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestDashRefusesOpenAddressWithoutToken(t *testing.T) {
	dir := t.TempDir()
	code, _, errs := runCmd(t, "dash", "--addr", "0.0.0.0:0", dir)
	if code != 1 || !strings.Contains(errs, "without a token") {
		t.Errorf("dash on 0.0.0.0 without a token: exit %d, %q", code, errs)
	}
	code, _, errs = runCmd(t, "train", "--config", filepath.Join("testdata", "dash-run.yaml"), "--run-dir", filepath.Join(dir, "run"), "--ui", "0.0.0.0:0")
	if code != 1 || !strings.Contains(errs, "without a token") {
		t.Errorf("train --ui 0.0.0.0 without a token: exit %d, %q", code, errs)
	}
	if code, _, _ := runCmd(t, "dash"); code != 2 {
		t.Errorf("dash without RUN_DIR: exit %d, want 2", code)
	}
	if code, _, errs := runCmd(t, "dash", filepath.Join(dir, "missing")); code != 1 || !strings.Contains(errs, "not a directory") {
		t.Errorf("dash of a missing directory: exit %d, %q", code, errs)
	}
}
