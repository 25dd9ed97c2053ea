package eval

import (
	"context"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"tabler1/sandbox"
	"tabler1/sandbox/execution"
)

// Program mode through the real sandbox: programs run on the full table
// (pandas df), their printed answers are scored, their failures classified.
func TestRunnerRealSandbox(t *testing.T) {
	python := sandbox.DefaultPython(os.Getenv)
	if err := exec.Command(python, "-c", "import pandas").Run(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s cannot import pandas: %v", python, err)
		}
		t.Skipf("%s cannot import pandas (%v): run scripts/setup.sh or set TABLER1_PYTHON", python, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sb, err := sandbox.NewPool(ctx, sandbox.PoolConfig{Workers: 1, Python: python})
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()

	// Questions whose answer is the table's row count, which the prompt's
	// 10-row preview does not show for long tables.
	src := loadBench(t, WTQ)[:6]
	exs := make([]Example, len(src))
	for i, e := range src {
		exs[i] = e
		exs[i].Question = "how many rows has table " + strconv.Itoa(i) + "?"
		exs[i].Answer = []string{strconv.Itoa(len(e.Table.Rows))}
		exs[i].Meta = map[string]any{}
	}
	programs := []string{"print(len(df))", "print(len(df))", "print(len(df))", "print(df['no such column'])", "print(1/0", "x = 1"}
	srv := scriptServer(t, exs, func(ex *Example, i int) string {
		return "```python\n" + programs[indexOf(exs, ex.ID)] + "\n```"
	})
	r, err := NewRunner(pool(t, srv), Config{Mode: ModeProgram, Executor: sb, Limits: execution.Limits{Wall: 20 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := r.Run(ctx, exs)
	if err != nil {
		t.Fatal(err)
	}
	b := rep.Benchmarks[0]
	if b.Metrics["accuracy"] != 0.5 {
		t.Errorf("accuracy %v, want 0.5; samples %+v", b.Metrics["accuracy"], rep.Samples)
	}
	want := map[string]int{"runtime_error": 1, "syntax_error": 1, FailNoOutput: 1}
	for k, n := range want {
		if b.Failures[k] != n {
			t.Errorf("failures %v: want %s = %d", b.Failures, k, n)
		}
	}
	if fe := b.FailureExamples["runtime_error"]; len(fe) != 1 || fe[0].Detail == "" {
		t.Errorf("runtime_error example %+v: want the exception named", fe)
	}
}
