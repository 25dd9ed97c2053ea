package ablate

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"tabler1/episode"
	"tabler1/rollout"
	"tabler1/trainer"
)

func loadTestStudy(t *testing.T) *Study {
	t.Helper()
	s, err := LoadStudy(filepath.Join("testdata", "study.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// flatten maps every leaf of a decoded YAML value to its key path
// (a.b[2].c), in the syntax of the overrides.
func flatten(prefix string, v any, out map[string]any) {
	switch x := v.(type) {
	case map[string]any:
		for k, c := range x {
			flatten(join(prefix, k), c, out)
		}
	case []any:
		for i, c := range x {
			flatten(fmt.Sprintf("%s[%d]", prefix, i), c, out)
		}
	default:
		out[prefix] = x
	}
}

func join(prefix, k string) string {
	if prefix == "" {
		return k
	}
	return prefix + "." + k
}

// flatConfig is a resolved configuration, encoded as the trainer writes it
// and flattened.
func flatConfig(t *testing.T, c *trainer.Config) map[string]any {
	t.Helper()
	b, err := yaml.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := yaml.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	out := map[string]any{}
	flatten("", v, out)
	return out
}

func under(key, prefix string) bool {
	return key == prefix || strings.HasPrefix(key, prefix+".") || strings.HasPrefix(key, prefix+"[")
}

// TestResolveOverridesExactly checks each arm's resolved configuration key
// by key against the base's: every override holds its value, every other
// key keeps the base's, and dropped stages are gone.
func TestResolveOverridesExactly(t *testing.T) {
	s := loadTestStudy(t)
	base, err := s.Resolve(Arm{Name: "full"}, 7, "/runs/x")
	if err != nil {
		t.Fatal(err)
	}
	bflat := flatConfig(t, base.Config)
	for _, a := range s.Arms {
		res, err := s.Resolve(a, 7, "/runs/x")
		if err != nil {
			t.Fatalf("arm %s: %v", a.Name, err)
		}
		if res.Config.Seed != 7 || res.Config.RunDir != "/runs/x" || res.Config.Name != "tiny-"+a.Name+"-seed7" {
			t.Errorf("arm %s: seed %d, run_dir %q, name %q", a.Name, res.Config.Seed, res.Config.RunDir, res.Config.Name)
		}
		if len(a.Stages.Without) > 0 {
			for _, st := range res.Config.Stages {
				for _, k := range a.Stages.Without {
					if st.Kind == k {
						t.Errorf("arm %s: stage %s still present", a.Name, k)
					}
				}
			}
			if got, want := len(res.Config.Stages), len(base.Config.Stages)-len(a.Stages.Without); got != want {
				t.Errorf("arm %s: %d stages, want %d", a.Name, got, want)
			}
			continue
		}
		aflat := flatConfig(t, res.Config)
		want := map[string]any{}
		for k, n := range a.Set {
			var v any
			if err := n.Decode(&v); err != nil {
				t.Fatal(err)
			}
			flatten(k, v, want)
		}
		for k, v := range want {
			if got, ok := aflat[k]; !ok || fmt.Sprint(got) != fmt.Sprint(v) {
				t.Errorf("arm %s: %s = %v (present %v), want the override %v", a.Name, k, got, ok, v)
			}
		}
		for k, v := range aflat {
			overridden := k == "name"
			for o := range a.Set {
				overridden = overridden || under(k, o)
			}
			if !overridden && !reflect.DeepEqual(v, bflat[k]) {
				t.Errorf("arm %s: %s = %v, want the base's %v (not overridden)", a.Name, k, v, bflat[k])
			}
		}
		for k := range bflat {
			if _, ok := aflat[k]; !ok {
				overridden := false
				for o := range a.Set {
					overridden = overridden || under(k, o)
				}
				if !overridden {
					t.Errorf("arm %s: key %s of the base is missing", a.Name, k)
				}
			}
		}
	}
}

func TestResolveRefusesBadOverrides(t *testing.T) {
	s := loadTestStudy(t)
	node := func(v string) yaml.Node {
		var n yaml.Node
		if err := yaml.Unmarshal([]byte(v), &n); err != nil {
			t.Fatal(err)
		}
		return *n.Content[0]
	}
	cases := []struct {
		name string
		arm  Arm
		want []string
	}{
		{"unknown leaf", Arm{Name: "a", Set: map[string]yaml.Node{"rewards.short_code.penaltyy": node("0")}},
			[]string{`arm "a"`, "rewards.short_code.penaltyy", "unknown configuration key", `did you mean "penalty"`}},
		{"unknown section", Arm{Name: "a", Set: map[string]yaml.Node{"paradigm.only": node("program")}},
			[]string{"paradigm.only", `unknown configuration key "paradigm"`}},
		{"unknown key in a stage", Arm{Name: "a", Set: map[string]yaml.Node{"stages[2].optim.lrr": node("1")}},
			[]string{"stages[2].optim.lrr", `did you mean "lr"`}},
		{"index past the end", Arm{Name: "a", Set: map[string]yaml.Node{"stages[9].steps": node("1")}},
			[]string{"stages[9].steps", "past the list's end"}},
		{"harness key", Arm{Name: "a", Set: map[string]yaml.Node{"seed": node("3")}},
			[]string{"harness sets"}},
		{"bad value", Arm{Name: "a", Set: map[string]yaml.Node{"rollout.template": node("nope")}},
			[]string{"rollout.template", "compact or table_r1"}},
		{"stage kind absent", Arm{Name: "a", Stages: StageEdit{Without: []string{"lti_grpo"}}},
			[]string{"no lti_grpo stage"}},
		{"stage kind unknown", Arm{Name: "a", Stages: StageEdit{Without: []string{"rl"}}},
			[]string{`unknown stage kind "rl"`}},
		{"bad path", Arm{Name: "a", Set: map[string]yaml.Node{"stages[x].steps": node("1")}},
			[]string{"bad list index"}},
	}
	for _, c := range cases {
		_, err := s.Resolve(c.arm, 1, "/r")
		if err == nil {
			t.Errorf("%s: no error", c.name)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q lacks %q", c.name, err, w)
			}
		}
	}
}

func TestParseStudyErrors(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "base.yaml"), []byte("name: b\n"), 0o644)
	cases := []struct{ src, want string }{
		{"", "empty"},
		{"base: base.yaml\nseeds: [1]\narms: [{name: a}]\nsedes: [2]\n", "sedes"},
		{"seeds: [1]\narms: [{name: a}]\n", "base: missing"},
		{"base: nope.yaml\nseeds: [1]\narms: [{name: a}]\n", "reading the training configuration"},
		{"base: base.yaml\narms: [{name: a}]\n", "seeds"},
		{"base: base.yaml\nseeds: [1, 1]\narms: [{name: a}]\n", "twice"},
		{"base: base.yaml\nseeds: [1]\n", "arms"},
		{"base: base.yaml\nseeds: [1]\narms: [{name: a}, {name: a}]\n", "used twice"},
		{"base: base.yaml\nseeds: [1]\narms: [{name: ../x}]\n", "arms[0].name"},
		{"base: base.yaml\nseeds: [1]\narms: [{name: a}]\nheldout: {seed: 1}\n", "heldout.seed"},
		{"base: [1]\nseeds: [1]\narms: [{name: a}]\n", "want a path or a mapping"},
		{"base: base.yaml\nseeds: [1]\narms: [{name: a, set: {'a..b': 1}}]\n", "empty key"},
	}
	for _, c := range cases {
		_, err := ParseStudy([]byte(c.src), dir)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want one containing %q", c.src, err, c.want)
		}
	}
	s, err := ParseStudy([]byte("base: {name: inline, stages: [{kind: sft, steps: 1}], data: {synthetic: {questions: 5}}}\nseeds: [3]\narms: [{name: a}]\n"), dir)
	if err != nil {
		t.Fatal(err)
	}
	if r, err := s.Resolve(s.Arms[0], 3, "/r"); err != nil || r.Config.Stages[0].Steps != 1 {
		t.Fatalf("inline base: %v, %+v", err, r)
	}
	if s.HeldOut.Questions != 100 || s.Bootstrap.Resamples != 10000 || s.Bootstrap.Seed != 1 {
		t.Errorf("defaults: %+v %+v", s.HeldOut, s.Bootstrap)
	}
}

func FuzzParseStudy(f *testing.F) {
	seed, _ := os.ReadFile(filepath.Join("testdata", "study.yaml"))
	f.Add(string(seed))
	f.Add("base: {name: x}\nseeds: [1]\narms: [{name: a, set: {stages[0].steps: 2}}]\n")
	f.Add("base: base.yaml\nseeds: [1]\narms: [{name: a, stages: {without: [sft]}}]\n")
	f.Fuzz(func(t *testing.T, src string) {
		s, err := ParseStudy([]byte(src), "testdata")
		if err != nil {
			return
		}
		// Whatever parses resolves or fails with an error, never a panic.
		for _, a := range s.Arms {
			_, _ = s.Resolve(a, s.Seeds[0], "/r")
		}
	})
}

// TestHeldOutPromptsMatchTraining checks that the eval template of the
// study renders a held-out question exactly as the trainer's compact
// format prompts training questions, and that the split avoids every
// question a training seed generates.
func TestHeldOutPromptsMatchTraining(t *testing.T) {
	s := loadTestStudy(t)
	exs, _, err := s.HeldOutExamples()
	if err != nil {
		t.Fatal(err)
	}
	if len(exs) == 0 {
		t.Fatal("no held-out examples")
	}
	tmpl, err := rollout.LoadTemplates(rollout.TemplateConfig{Dir: s.HeldOut.Templates, TableFormat: s.HeldOut.TableFormat, PreviewRows: 3})
	if err != nil {
		t.Fatal(err)
	}
	f := trainer.CompactFormat{PreviewRows: 3}
	base, _ := s.Resolve(s.Arms[0], 1, "/r")
	syn := base.Config.Data.Synthetic
	syn.MinRows, syn.MaxRows = 5, 5 // tables longer than the preview: the row count line shows
	for _, it := range append(trainer.Synthesize(s.HeldOut.Seed, 5, syn), trainer.Synthesize(s.HeldOut.Seed, 3, base.Config.Data.Synthetic)...) {
		got, _, err := tmpl.Prompt(rollout.Question{ID: it.ID, Task: episode.TaskQA, Question: it.Question, Table: it.Table}, "")
		if err != nil {
			t.Fatal(err)
		}
		if want := f.Prompt(it, ""); got != want {
			t.Fatalf("eval prompt\n%q\nwant the training prompt\n%q", got, want)
		}
	}
	trained := map[string]bool{}
	for _, seed := range s.Seeds {
		for _, it := range trainer.Synthesize(seed, syn.Questions, base.Config.Data.Synthetic) {
			trained[it.Question+it.Table.Compact()] = true
		}
	}
	for _, ex := range exs {
		if trained[ex.Question+ex.Table.Compact()] {
			t.Errorf("held-out %s is also a training question", ex.ID)
		}
	}
}

// TestShippedStudyResolves checks configs/ablation-small.yaml: every arm
// resolves for every seed, and its held-out split is whole.
func TestShippedStudyResolves(t *testing.T) {
	s, err := LoadStudy(filepath.Join("..", "configs", "ablation-small.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Arms) < 4 || len(s.Seeds) < 3 {
		t.Errorf("%d arms x %d seeds; the study needs at least 4 x 3", len(s.Arms), len(s.Seeds))
	}
	for _, a := range s.Arms {
		for _, seed := range s.Seeds {
			if _, err := s.Resolve(a, seed, "/r"); err != nil {
				t.Error(err)
			}
		}
	}
	exs, dropped, err := s.HeldOutExamples()
	if err != nil || len(exs)+dropped != s.HeldOut.Questions || len(exs) < s.HeldOut.Questions*9/10 {
		t.Errorf("held-out: %d examples, %d dropped, %v", len(exs), dropped, err)
	}
	if _, err := rollout.LoadTemplates(rollout.TemplateConfig{Dir: s.HeldOut.Templates, TableFormat: s.HeldOut.TableFormat}); err != nil {
		t.Error(err)
	}
}
