package trainer

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"tabler1/episode"
	"tabler1/rollout/openaitest"
	"tabler1/sandbox"
	"tabler1/sandbox/execution"
	"tabler1/trainer/backendtest"
)

// needPandas skips a test that runs programs in the real sandbox when
// Python lacks pandas (and fails under CI, where it must be there).
func needPandas(t *testing.T) {
	t.Helper()
	py := sandbox.DefaultPython(os.Getenv)
	if err := exec.Command(py, "-c", "import pandas").Run(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s has no pandas (%v); run scripts/setup.sh", py, err)
		}
		t.Skipf("%s has no pandas (%v); run scripts/setup.sh or set TABLER1_PYTHON", py, err)
	}
}

// realRun sets up conf (with %s for the backend URL, then the endpoint
// URL) through Setup: a real sandbox pool, the rollout pool over a fake
// OpenAI server whose completion i of a prompt is script(item, i) (item:
// the prompt's training item), and the fake gradient backend. It runs to
// the end and returns the run directory.
func realRun(t *testing.T, conf string, script func(it Item, i int) string) string {
	t.Helper()
	needPandas(t)
	var golds atomic.Pointer[map[string]Item]
	ai := openaitest.NewServer(openaitest.Config{Script: func(req openaitest.Request, i int) openaitest.Choice {
		return openaitest.Choice{Text: script((*golds.Load())[req.Prompt], i)}
	}})
	defer ai.Close()
	be := httptest.NewServer(backendtest.New(1))
	defer be.Close()
	cfg, err := ParseConfig(fmt.Appendf(nil, conf, be.URL, ai.URL))
	if err != nil {
		t.Fatal(err)
	}
	cfg.RunDir = t.TempDir()
	ctx := context.Background()
	tr, closeAll, err := Setup(ctx, cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer closeAll()
	m := map[string]Item{}
	for _, o := range tr.orders {
		for _, src := range o.sources {
			for _, it := range src {
				m[tr.d.Format.Prompt(it, "")] = it
			}
		}
	}
	golds.Store(&m)
	if err := tr.Run(ctx, false); err != nil {
		t.Fatal(err)
	}
	ms, err := ReadMetrics(filepath.Join(cfg.RunDir, "metrics.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != cfg.TotalSteps() {
		t.Fatalf("%d metrics lines, want %d", len(ms), cfg.TotalSteps())
	}
	return cfg.RunDir
}

func fenced(code string) string { return "```python\n" + code + "\n```" }

// detail is a logged sample's reward.
func detail(t *testing.T, s episode.Episode) episode.Reward {
	t.Helper()
	return s.Reward
}

const ltiGRPOConfig = `
name: lti-grpo
seed: 3
backend:
  kind: remote
  url: %s
  retries: 1
model:
  name: fake-model
  endpoints:
    - url: %s
rollout:
  template: compact
  max_tokens: 256
sandbox:
  workers: 2
data:
  synthetic:
    questions: 6
  lti:
    tasks: 4
stages:
  - kind: lti_grpo
    steps: 2
    batch_size: 2
    group_size: 2
logging:
  progress: none
`

// The lti_grpo stage grades the model's program by running it on the
// source table in the sandbox and comparing the table it leaves with the
// target (grpo.LTIScore): the generator's own program scores full marks, a
// program that empties the table does not.
func TestLTIGRPOStageExecutes(t *testing.T) {
	const wrong = "df = df.iloc[:0]"
	dir := realRun(t, ltiGRPOConfig, func(it Item, i int) string {
		if i == 0 {
			return fenced(it.GoldProgram)
		}
		return fenced(wrong)
	})
	var golds, wrongs int
	for step := 1; step <= 2; step++ {
		ss := readRollouts(t, dir, step)
		if len(ss) != 4 {
			t.Fatalf("step %d: %d samples logged, want 4", step, len(ss))
		}
		for _, s := range ss {
			r := detail(t, s)
			if s.Exec == nil || s.Exec.Status != execution.StatusOK || s.Exec.Table == nil {
				t.Fatalf("step %d: %q did not run to a table: %+v", step, s.Code, s.Exec)
			}
			if s.Code == wrong {
				wrongs++
				if s.Correct || r.AnswerScore == 1 {
					t.Errorf("emptying the table scored %g (correct %v)", r.AnswerScore, s.Correct)
				}
				continue
			}
			golds++
			if !s.Correct || r.AnswerScore != 1 || s.Components.Answer != 1 {
				t.Errorf("the gold program %q scored %g, answer component %g, correct %v; want 1", s.Code, r.AnswerScore, s.Components.Answer, s.Correct)
			}
		}
	}
	if golds != 4 || wrongs != 4 {
		t.Errorf("%d gold and %d wrong samples, want 4 and 4", golds, wrongs)
	}
}

const perturbConfig = `
name: perturb
seed: 4
backend:
  kind: remote
  url: %s
  retries: 1
model:
  name: fake-model
  endpoints:
    - url: %s
rollout:
  template: compact
  max_tokens: 256
sandbox:
  workers: 2
data:
  synthetic:
    questions: 4
    templates: [extremum]
rewards:
  computes_nothing:
    syntax: false
    perturb: true
stages:
  - kind: grpo
    steps: 1
    batch_size: 2
    group_size: 3
logging:
  progress: none
`

// With rewards.computes_nothing.perturb, a program that ran ok is run again
// on a perturbed table: one printing a literal gives the same answer and is
// penalised, one computing from df does not; a program that failed is not
// re-run.
func TestPerturbedReexecution(t *testing.T) {
	const failing = "print(df['no such column'].max())"
	dir := realRun(t, perturbConfig, func(it Item, i int) string {
		switch i {
		case 0:
			return fenced(it.GoldProgram)
		case 1:
			// The gold answer as a literal: right, but not computed.
			return fenced(fmt.Sprintf("print(%q)", it.Answers[0]))
		default:
			return fenced(failing)
		}
	})
	ss := readRollouts(t, dir, 1)
	if len(ss) != 6 {
		t.Fatalf("%d samples logged, want 6", len(ss))
	}
	for _, s := range ss {
		r := detail(t, s)
		switch {
		case s.Code == failing:
			if s.Exec == nil || s.Exec.Status == execution.StatusOK || s.Perturbed != nil {
				t.Errorf("failing program: exec %+v, perturbed %+v; want a failed run and no re-run", s.Exec, s.Perturbed)
			}
		case strings.HasPrefix(s.Code, "print(\""):
			if s.Perturbed == nil || s.Perturbed.Status != execution.StatusOK || r.ComputesNothing != "unchanged_on_perturbed_table" || s.Components.ComputesNothing >= 0 {
				t.Errorf("literal %q: perturbed run %+v, computes_nothing %q (%g); want it caught by the perturbed table", s.Code, s.Perturbed, r.ComputesNothing, s.Components.ComputesNothing)
			}
		default:
			if s.Perturbed == nil || s.Perturbed.Status != execution.StatusOK || s.Perturbed.Answer() == s.Exec.Answer() || r.ComputesNothing != "" || !s.Correct {
				t.Errorf("gold %q: answer %q, on the perturbed table %+v, computes_nothing %q, correct %v; want a different answer and no penalty", s.Code, s.Exec.Answer(), s.Perturbed, r.ComputesNothing, s.Correct)
			}
		}
	}
}
