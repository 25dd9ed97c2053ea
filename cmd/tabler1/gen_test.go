package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"tabler1/layouts"
)

func TestGenBadFlags(t *testing.T) {
	out := filepath.Join(t.TempDir(), "x.jsonl")
	tests := []struct {
		args []string
		msg  string
	}{
		{[]string{"gen"}, "want a subcommand"},
		{[]string{"gen", "frob"}, `unknown subcommand "frob"`},
		{[]string{"gen", "lti", "--n", "5"}, "--out is required"},
		{[]string{"gen", "lti", "--out", out}, "--n must be positive"},
		{[]string{"gen", "lti", "--out", out, "--n", "3", "--max-ops", "0"}, "--max-ops 0"},
		{[]string{"gen", "lti", "--out", out, "--n", "3", "--ops", "frobnicate"}, `unknown operator "frobnicate"`},
		{[]string{"gen", "lti", "--out", out, "--n", "3", "--ops", "sort_rows=-1"}, "want name=number"},
		{[]string{"gen", "lti", "--out", out, "--n", "x"}, "invalid value"},
		{[]string{"gen", "tables", "--out", out}, "want --n > 0"},
		{[]string{"gen", "tables", "--out", out, "--n", "2", "--max-rows", "1"}, "min-rows <= max-rows"},
	}
	for _, tc := range tests {
		code, _, errs := runCmd(t, tc.args...)
		if code != 2 || !strings.Contains(errs, tc.msg) {
			t.Errorf("tabler1 %q: code %d, stderr %q; want 2 and %q", tc.args, code, errs, tc.msg)
		}
	}
	code, _, errs := runCmd(t, "gen", "lti", "--in", filepath.Join(t.TempDir(), "missing.jsonl"), "--n", "2", "--out", out)
	if code != 1 || !strings.Contains(errs, "missing.jsonl") {
		t.Errorf("missing --in file: code %d, stderr %q; want 1 naming the file", code, errs)
	}
}

// genTwice runs a gen command twice and fails unless both outputs are the
// same bytes; it returns them.
func genTwice(t *testing.T, args ...string) []byte {
	t.Helper()
	dir := t.TempDir()
	var outs [2][]byte
	for i := range outs {
		p := filepath.Join(dir, fmt.Sprintf("out%d.jsonl", i))
		if code, _, errs := runCmd(t, append(args, "--out", p)...); code != 0 {
			t.Fatalf("tabler1 %q: exit %d: %s", args, code, errs)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		outs[i] = b
	}
	if !bytes.Equal(outs[0], outs[1]) {
		t.Fatalf("tabler1 %q: two runs with one seed wrote different bytes", args)
	}
	return outs[0]
}

type genTriple struct {
	ID      string         `json:"id"`
	Source  *layouts.Table `json:"source"`
	Target  *layouts.Table `json:"target"`
	Program string         `json:"program"`
	Ops     []string       `json:"ops"`
}

func decodeTriples(t *testing.T, b []byte) []genTriple {
	t.Helper()
	var out []genTriple
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		var tr genTriple
		if err := json.Unmarshal(sc.Bytes(), &tr); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		if tr.ID == "" || tr.Source == nil || tr.Target == nil || tr.Program == "" || len(tr.Ops) == 0 {
			t.Fatalf("incomplete triple %q", sc.Text())
		}
		out = append(out, tr)
	}
	return out
}

// checkWithPandas runs every triple's program on its source with Python,
// pandas and the bridge (layouts/testdata/lti/check.py, an independent
// checker) and compares with the target.
func checkWithPandas(t *testing.T, triples []genTriple) {
	t.Helper()
	py := os.Getenv("TABLER1_PYTHON")
	if py == "" {
		py = "/usr/bin/python3"
	}
	skip := func(why string) {
		t.Helper()
		msg := fmt.Sprintf("%s cannot run the pandas check (%s): run scripts/setup.sh or set TABLER1_PYTHON", py, why)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	if _, err := exec.LookPath(py); err != nil {
		skip(err.Error())
	}
	dir := t.TempDir()
	bridge := filepath.Join(dir, "frame.py")
	if err := os.WriteFile(bridge, []byte(layouts.PandasBridge), 0o644); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	for _, tr := range triples {
		b, _ := json.Marshal(map[string]any{"id": tr.ID, "source": tr.Source, "program": tr.Program})
		buf.Write(append(b, '\n'))
	}
	cases := filepath.Join(dir, "cases.jsonl")
	if err := os.WriteFile(cases, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(py, filepath.Join("..", "..", "layouts", "testdata", "lti", "check.py"), bridge, cases)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		if strings.Contains(stderr.String(), "ModuleNotFoundError") {
			skip(strings.TrimSpace(stderr.String()))
		}
		t.Fatalf("check.py: %v\n%s", err, stderr.String())
	}
	got := map[string]struct {
		Table *layouts.Table `json:"table"`
		Error string         `json:"error"`
	}{}
	for _, line := range bytes.Split(bytes.TrimSpace(out), []byte("\n")) {
		var r struct {
			ID    string         `json:"id"`
			Table *layouts.Table `json:"table"`
			Error string         `json:"error"`
		}
		if err := json.Unmarshal(line, &r); err != nil {
			t.Fatalf("check.py output %q: %v", line, err)
		}
		got[r.ID] = struct {
			Table *layouts.Table `json:"table"`
			Error string         `json:"error"`
		}{r.Table, r.Error}
	}
	for _, tr := range triples {
		r, ok := got[tr.ID]
		switch {
		case !ok:
			t.Errorf("%s: no result", tr.ID)
		case r.Error != "":
			t.Errorf("%s %v: pandas raised %s\n%s", tr.ID, tr.Ops, r.Error, tr.Program)
		case !layouts.EqualCanonical(r.Table, tr.Target):
			t.Errorf("%s %v: pandas result differs from the target\n%s", tr.ID, tr.Ops, tr.Program)
		}
	}
}

// The check, at n=100 per benchmark: deterministic bytes, n
// distinct triples, every program reproducing its target in pandas. Also:
// tiny tables written by gen tables feed gen lti --in; without --in gen lti
// uses its own tiny tables; --ops restricts the operators. One Python
// process checks everything.
func TestGenLTIChecked(t *testing.T) {
	var all []genTriple
	for _, bench := range []string{"wtq", "hitab"} {
		in := filepath.Join("..", "..", "..", "shared", "data", bench+".dev.jsonl")
		if _, err := os.Stat(in); err != nil {
			t.Logf("no %s sample (%v): skipped", bench, err)
			continue
		}
		triples := decodeTriples(t, genTwice(t, "gen", "lti", "--in", in, "--n", "100", "--seed", "7"))
		if len(triples) != 100 {
			t.Fatalf("%s: %d triples, want 100", bench, len(triples))
		}
		ids := map[string]bool{}
		for _, tr := range triples {
			if ids[tr.ID] {
				t.Errorf("%s: duplicate triple %s", bench, tr.ID)
			}
			ids[tr.ID] = true
		}
		all = append(all, triples...)
	}

	tables := genTwice(t, "gen", "tables", "--n", "40", "--seed", "3")
	if n := bytes.Count(tables, []byte("\n")); n != 40 {
		t.Fatalf("%d tables, want 40", n)
	}
	in := filepath.Join(t.TempDir(), "tables.jsonl")
	if err := os.WriteFile(in, tables, 0o644); err != nil {
		t.Fatal(err)
	}
	triples := decodeTriples(t, genTwice(t, "gen", "lti", "--in", in, "--n", "30", "--seed", "1", "--ops", "sort_rows,melt=2", "--max-ops", "1"))
	for _, tr := range triples {
		if len(tr.Ops) != 1 || (tr.Ops[0] != "sort_rows" && tr.Ops[0] != "melt") {
			t.Errorf("%s: ops %v outside --ops sort_rows,melt --max-ops 1", tr.ID, tr.Ops)
		}
	}
	all = append(all, triples...)
	all = append(all, decodeTriples(t, genTwice(t, "gen", "lti", "--n", "30", "--seed", "2"))...)
	checkWithPandas(t, all)
}
