package trainer

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const minimalConfig = `
name: t
seed: 3
data:
  synthetic:
    questions: 20
stages:
  - kind: sft
    steps: 2
  - kind: grpo
    steps: 3
    group_size: 4
`

func TestParseConfigDefaults(t *testing.T) {
	c, err := ParseConfig([]byte(minimalConfig))
	if err != nil {
		t.Fatal(err)
	}
	if c.RunDir != "runs/t" || c.Backend.Kind != BackendEmbedded || c.Stages[0].GroupSize != 1 || c.Stages[1].GroupSize != 4 {
		t.Errorf("defaults not applied: %+v", c)
	}
	if c.TotalSteps() != 5 {
		t.Errorf("TotalSteps = %d, want 5", c.TotalSteps())
	}
	for _, tc := range []struct{ step, stage, local int }{{1, 0, 1}, {2, 0, 2}, {3, 1, 1}, {5, 1, 3}} {
		s, l, ok := c.StageAt(tc.step)
		if !ok || s != tc.stage || l != tc.local {
			t.Errorf("StageAt(%d) = %d, %d, %v; want %d, %d", tc.step, s, l, ok, tc.stage, tc.local)
		}
	}
	if _, _, ok := c.StageAt(6); ok {
		t.Error("StageAt past the end is ok")
	}
}

func TestAsyncDefaults(t *testing.T) {
	for _, tc := range []struct {
		yaml                string
		staleness, maxAhead int
	}{
		{"{enable: true}", 1, 1},
		{"{enable: true, staleness: 3}", 3, 3},
		{"{enable: true, staleness: 2, max_ahead: 4}", 2, 4},
		{"{enable: false}", 0, 0},
	} {
		c, err := ParseConfig([]byte("data: {synthetic: {questions: 3}}\nstages: [{kind: grpo, steps: 1, async: " + tc.yaml + "}]\n"))
		if err != nil {
			t.Fatalf("%s: %v", tc.yaml, err)
		}
		if a := c.Stages[0].Async; a.Staleness != tc.staleness || a.MaxAhead != tc.maxAhead {
			t.Errorf("async %s resolved to %+v, want staleness %d, max_ahead %d", tc.yaml, a, tc.staleness, tc.maxAhead)
		}
	}
}

func TestParseConfigUnknownKey(t *testing.T) {
	tests := []struct {
		name, yaml, wantPath, wantSuggest string
		wantLine                          int
	}{
		{"top level", "nmae: x\n", "nmae", "name", 1},
		{"nested", "name: x\nbackend:\n  kind: remote\n  retires: 3\n", "backend.retires", "retries", 4},
		{"in a list", "stages:\n  - kind: sft\n    steps: 1\n    optim:\n      lrr: 0.1\n", "stages[0].optim.lrr", "lr", 5},
		{"far from any", "stages:\n  - kind: sft\n    zzzzzzzzzz: 1\n", "stages[0].zzzzzzzzzz", "", 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseConfig([]byte(tc.yaml))
			var uk *UnknownKeyError
			if !errors.As(err, &uk) {
				t.Fatalf("err = %v, want an UnknownKeyError", err)
			}
			if uk.Line != tc.wantLine || uk.Path != tc.wantPath || uk.Suggestion != tc.wantSuggest {
				t.Errorf("got line %d path %q suggestion %q; want %d %q %q", uk.Line, uk.Path, uk.Suggestion, tc.wantLine, tc.wantPath, tc.wantSuggest)
			}
			if !strings.Contains(err.Error(), "line ") {
				t.Errorf("message %q does not name the line", err)
			}
		})
	}
}

func TestParseConfigInvalid(t *testing.T) {
	tests := []struct{ name, yaml, want string }{
		{"no stages", "data: {synthetic: {questions: 3}}\n", "stages: at least one stage"},
		{"bad kind", "data: {synthetic: {questions: 3}}\nstages: [{kind: ppo, steps: 1}]\n", `kind: is "ppo"`},
		{"grpo group", "data: {synthetic: {questions: 3}}\nstages: [{kind: grpo, steps: 1, group_size: 1}]\n", "GRPO needs >= 2"},
		{"remote without url", "backend: {kind: remote}\nmodel: {name: m, endpoints: [{url: 'http://x'}]}\ndata: {synthetic: {questions: 3}}\nstages: [{kind: sft, steps: 1}]\n", "backend.url: is required"},
		{"no questions", "stages: [{kind: sft, steps: 1}]\n", "needs data.sources"},
		{"bad duration", "backend: {timeout: fast}\nstages: [{kind: sft, steps: 1}]\n", "decoding YAML"},
		{"lti without data", "stages: [{kind: lti_sft, steps: 1}]\n", "data.lti"},
		{"bad template", "data: {synthetic: {questions: 3, templates: [max]}}\nstages: [{kind: sft, steps: 1}]\n", `unknown template "max"`},
		{"async sft", "data: {synthetic: {questions: 3}}\nstages: [{kind: sft, steps: 1, async: {enable: true}}]\n", "async applies to grpo"},
		{"async negative", "data: {synthetic: {questions: 3}}\nstages: [{kind: grpo, steps: 1, async: {enable: true, staleness: -1}}]\n", "must be >= 0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseConfig([]byte(tc.yaml))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestDryRunNamesSecretsNotValues(t *testing.T) {
	c, err := ParseConfig([]byte(`
backend: {kind: remote, url: "http://b:9000", token_env: TB_TOKEN}
model: {name: m, endpoints: [{url: "http://v:8000/v1", api_key_env: TB_KEY}]}
data: {synthetic: {questions: 3}}
stages: [{kind: grpo, steps: 2}]
`))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	env := map[string]string{"TB_TOKEN": "s3cret"}
	if err := c.DryRun(&b, func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"TB_TOKEN: set", "TB_KEY: unset", "stage 1 grpo", "token_env: TB_TOKEN"} {
		if !strings.Contains(out, want) {
			t.Errorf("dry run lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "s3cret") {
		t.Error("dry run printed a secret's value")
	}
	// The printed configuration reads back to the same configuration.
	c2, err := ParseConfig([]byte(out))
	if err != nil {
		t.Fatalf("dry-run output does not parse: %v", err)
	}
	if c2.Hash() != c.Hash() {
		t.Errorf("hash changed through the dry-run output: %s vs %s", c2.Hash(), c.Hash())
	}
}

func TestShippedConfigsParse(t *testing.T) {
	for _, name := range []string{"smoke.yaml", "stage1-lti.yaml", "stage2-grpo.yaml"} {
		f := filepath.Join("..", "configs", name)
		if _, err := LoadConfig(f); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}

func TestEditDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		d    int
	}{{"", "", 0}, {"a", "", 1}, {"kitten", "sitting", 3}, {"lr", "lrr", 1}, {"retires", "retries", 2}} {
		if got := editDistance(tc.a, tc.b); got != tc.d {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.d)
		}
	}
}

func FuzzParseConfig(f *testing.F) {
	f.Add([]byte(minimalConfig))
	f.Add([]byte("stages: [{kind: sft}]\n"))
	f.Add([]byte("a: &x {b: 1}\nc: *x\n"))
	if b, err := os.ReadFile("../configs/smoke.yaml"); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseConfig(b)
		if err == nil && c.Validate() != nil {
			t.Errorf("ParseConfig accepted a configuration that does not validate")
		}
	})
}
