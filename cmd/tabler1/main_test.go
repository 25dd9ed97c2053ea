package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// runCmd runs the binary's entry point in-process and returns its exit code
// and output.
func runCmd(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), &env{stdout: &out, stderr: &errb, getenv: func(string) string { return "" }}, args)
	return code, out.String(), errb.String()
}

func TestTopLevelUsage(t *testing.T) {
	tests := []struct {
		args     []string
		code     int
		inStdout string
		inStderr string
	}{
		{nil, 2, "Commands:", ""},
		{[]string{"--help"}, 0, "Commands:", ""},
		{[]string{"help"}, 0, "train", ""},
		{[]string{"frobnicate"}, 2, "", `unknown command "frobnicate"`},
		{[]string{"bench"}, 2, "Usage: tabler1 bench", "name a benchmark"},
		{[]string{"bench", "nope"}, 2, "", `unknown benchmark "nope"`},
	}
	for _, tc := range tests {
		code, out, errs := runCmd(t, tc.args...)
		if code != tc.code || !strings.Contains(out, tc.inStdout) || !strings.Contains(errs, tc.inStderr) {
			t.Errorf("tabler1 %q: code %d, stdout %q, stderr %q; want code %d, stdout with %q, stderr with %q",
				tc.args, code, out, errs, tc.code, tc.inStdout, tc.inStderr)
		}
	}
}

// Every subcommand answers --help with exit 0 and its usage, and an unknown
// flag with exit 2.
func TestEverySubcommandHelpAndBadFlag(t *testing.T) {
	for name := range commands() {
		args := []string{name}
		if name == "bench" {
			args = []string{"bench", "sandbox"}
		}
		if name == "gen" {
			args = []string{"gen", "lti"}
		}
		code, out, _ := runCmd(t, append(args, "--help")...)
		if code != 0 || !strings.Contains(out, "Usage: tabler1") {
			t.Errorf("tabler1 %s --help: code %d, stdout %q; want 0 and a usage text", name, code, out)
		}
		code, _, errs := runCmd(t, append(args, "--no-such-flag")...)
		if code != 2 {
			t.Errorf("tabler1 %s --no-such-flag: code %d (stderr %q); want 2", name, code, errs)
		}
	}
}
