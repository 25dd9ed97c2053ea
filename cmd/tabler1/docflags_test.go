package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// subcommands are the commands whose flags depend on a subcommand.
var subcommands = map[string][]string{"gen": {"lti", "tables"}, "bench": {"sandbox", "rollout", "model"}}

var docFlag = regexp.MustCompile(`^--[a-z][a-z0-9-]*`)

// docFlagUses finds "tabler1 CMD [SUB] ... --flag" (or "`CMD --flag`") in
// a line of text: the command and subcommand each flag is named for.
func docFlagUses(line string, cmds map[string]command) [][3]string {
	var out [][3]string
	cmd, sub := "", ""
	toks := strings.FieldsFunc(line, func(r rune) bool {
		return r == ' ' || r == '\t' || r == '`' || r == '(' || r == ')' || r == '|' || r == ','
	})
	for i, tok := range toks {
		if _, ok := cmds[tok]; ok && (i == 0 || strings.HasSuffix(toks[i-1], "tabler1") || strings.Contains(line, "`"+tok+" --")) {
			cmd, sub = tok, ""
			if subs, ok := subcommands[tok]; ok && i+1 < len(toks) {
				for _, s := range subs {
					if toks[i+1] == s {
						sub = s
					}
				}
			}
			continue
		}
		if strings.HasSuffix(tok, "tabler1") {
			cmd, sub = "", "" // another command starts
			continue
		}
		if f := docFlag.FindString(tok); f != "" && cmd != "" {
			out = append(out, [3]string{cmd, sub, strings.TrimPrefix(f, "--")})
		}
	}
	return out
}

// Every `tabler1 CMD --flag` named in README.md and docs/*.md is a flag of
// that command: the documentation never cites a flag that does not exist.
func TestDocumentedFlagsExist(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("..", "..", "docs", "*.md"))
	files = append(files, filepath.Join("..", "..", "README.md"))
	cmds := commands()
	help := map[string]string{}
	checked := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for n, line := range strings.Split(string(b), "\n") {
			for _, u := range docFlagUses(line, cmds) {
				key := u[0] + " " + u[1]
				if _, ok := help[key]; !ok {
					args := []string{u[0]}
					if u[1] != "" {
						args = append(args, u[1])
					}
					_, out, errs := runCmd(t, append(args, "--help")...)
					help[key] = out + errs
				}
				checked++
				if u[2] == "help" {
					continue
				}
				h := help[key]
				if !strings.Contains(h, "  -"+u[2]+" ") && !strings.Contains(h, "  -"+u[2]+"\n") {
					t.Errorf("%s:%d: `tabler1 %s --%s`: %s has no flag --%s", filepath.Base(f), n+1, strings.TrimSpace(key), u[2], strings.TrimSpace(key), u[2])
				}
			}
		}
	}
	if checked < 10 {
		t.Errorf("only %d documented flags found: the scan is broken", checked)
	}
}

func TestDocFlagUses(t *testing.T) {
	cmds := commands()
	for _, tc := range []struct {
		line string
		want []string
	}{
		{"go run ./cmd/tabler1 train --config configs/smoke.yaml", []string{"train  config"}},
		{"| Cold start | `tabler1 distill`: kept | `distill --max-per-dataset` |", []string{"distill  max-per-dataset"}},
		{"tabler1 gen lti --in t.jsonl --n 1000", []string{"gen lti in", "gen lti n"}},
		{"go test -fuzz FuzzName ./pkg/ --flag", nil},
		{"`tabler1 eval --bench aitqa --split test` scores", []string{"eval  bench", "eval  split"}},
	} {
		var got []string
		for _, u := range docFlagUses(tc.line, cmds) {
			got = append(got, strings.Join(u[:], " "))
		}
		if strings.Join(got, ";") != strings.Join(tc.want, ";") {
			t.Errorf("%q: %q, want %q", tc.line, got, tc.want)
		}
	}
}
