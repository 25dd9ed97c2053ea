package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"tabler1/sandbox"
	"tabler1/sandbox/execution"
)

// sandboxPythonOrSkip skips (fails under CI=true) when the sandbox's Python lacks
// pandas.
func sandboxPythonOrSkip(t *testing.T) {
	t.Helper()
	py := sandbox.DefaultPython(os.Getenv)
	if err := exec.Command(py, "-c", "import pandas").Run(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s cannot import pandas: %v", py, err)
		}
		t.Skipf("%s cannot import pandas (%v): run scripts/setup.sh", py, err)
	}
}

func TestExecJSON(t *testing.T) {
	sandboxPythonOrSkip(t)
	dir := t.TempDir()
	table := filepath.Join(dir, "t.csv")
	os.WriteFile(table, []byte("city,pop\nOslo,\"700,000\"\nRome,2800000\n"), 0o644)
	tests := []struct {
		name, code string
		status     execution.Status
		answer     string
	}{
		{"answer", "print(df['pop'].max())\n", execution.StatusOK, "2800000"},
		{"runtime error", "print(df['nope'])\n", execution.StatusRuntimeError, ""},
		{"syntax error", "print(\n", execution.StatusSyntaxError, ""},
	}
	for _, tc := range tests {
		prog := filepath.Join(dir, "p.py")
		os.WriteFile(prog, []byte(tc.code), 0o644)
		code, out, errs := runCmd(t, "exec", "--table", table, "--code", prog, "--json")
		if code != 0 {
			t.Fatalf("%s: exit %d, stderr %q", tc.name, code, errs)
		}
		var got map[string]any
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatalf("%s: output %q is not one JSON object: %v", tc.name, out, err)
		}
		for _, k := range []string{"status", "stdout", "stderr", "wall_ms"} {
			if _, ok := got[k]; !ok {
				t.Errorf("%s: JSON lacks %q: %s", tc.name, k, out)
			}
		}
		if got["status"] != string(tc.status) || (tc.answer != "" && got["answer"] != tc.answer) {
			t.Errorf("%s: status %v answer %v, want %s %q", tc.name, got["status"], got["answer"], tc.status, tc.answer)
		}
	}
}

func TestExecPlainAndErrors(t *testing.T) {
	sandboxPythonOrSkip(t)
	dir := t.TempDir()
	table := filepath.Join(dir, "t.csv")
	os.WriteFile(table, []byte("a\n1\n2\n"), 0o644)
	ok := filepath.Join(dir, "ok.py")
	os.WriteFile(ok, []byte("print(df.a.sum())\n"), 0o644)
	bad := filepath.Join(dir, "bad.py")
	os.WriteFile(bad, []byte("1/0\n"), 0o644)
	tests := []struct {
		args     []string
		code     int
		inStdout string
		inStderr string
	}{
		{[]string{"exec", "--table", table, "--code", ok}, 0, "3", ""},
		{[]string{"exec", "--table", table, "--code", bad}, 1, "", "runtime_error (ZeroDivisionError at line 1)"},
		{[]string{"exec", "--code", ok}, 2, "", "--table is required"},
		{[]string{"exec", "--table", filepath.Join(dir, "missing.csv"), "--code", ok}, 1, "", "reading the table"},
		{[]string{"exec", "--help"}, 0, "Usage: tabler1 exec", ""},
	}
	for _, tc := range tests {
		code, out, errs := runCmd(t, tc.args...)
		if code != tc.code || !strings.Contains(out, tc.inStdout) || !strings.Contains(errs, tc.inStderr) {
			t.Errorf("tabler1 %q: code %d, stdout %q, stderr %q; want %d, %q, %q", tc.args, code, out, errs, tc.code, tc.inStdout, tc.inStderr)
		}
	}
}
