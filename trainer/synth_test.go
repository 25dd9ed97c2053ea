package trainer

import (
	"context"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"tabler1/sandbox"
)

// requirePandas skips (or, under CI, fails) when the sandbox's Python lacks
// pandas.
func requirePandas(t *testing.T) {
	t.Helper()
	py := os.Getenv("TABLER1_PYTHON")
	if py == "" {
		py = "/usr/bin/python3"
	}
	if err := exec.Command(py, "-c", "import pandas").Run(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s cannot import pandas (run scripts/setup.sh): %v", py, err)
		}
		t.Skipf("%s cannot import pandas (run scripts/setup.sh): %v", py, err)
	}
}

func TestSynthesizeIsPure(t *testing.T) {
	cfg := SyntheticConfig{MinRows: 3, MaxRows: 6}
	a, b := Synthesize(4, 30, cfg), Synthesize(4, 30, cfg)
	for i := range a {
		if a[i].ID != b[i].ID || a[i].Question != b[i].Question || a[i].GoldProgram != b[i].GoldProgram || !slices.Equal(a[i].Answers, b[i].Answers) {
			t.Fatalf("item %d differs between two calls", i)
		}
	}
	seen := map[string]bool{}
	for _, it := range a {
		seen[it.Template] = true
		if err := it.Table.Validate(); err != nil {
			t.Errorf("%s: invalid table: %v", it.ID, err)
		}
		if n := len(it.Table.Rows); n < 3 || n > 6 {
			t.Errorf("%s: %d rows, want 3..6", it.ID, n)
		}
	}
	if len(seen) != len(SynthTemplates) {
		t.Errorf("templates used: %v, want all of %v", seen, SynthTemplates)
	}
	only := Synthesize(4, 10, SyntheticConfig{Templates: []string{SynthCount}, Columns: []string{"age", "score"}})
	for _, it := range only {
		if it.Template != SynthCount || !strings.Contains(it.GoldProgram, ".sum()") {
			t.Errorf("restricted to count, got %s: %s", it.Template, it.GoldProgram)
		}
		if h := it.Table.Header[0]; !slices.Contains(h, "age") || !slices.Contains(h, "score") {
			t.Errorf("columns %v, want age and score", h)
		}
	}
}

// Every template's gold program prints its gold answer in the real sandbox.
func TestSynthGoldProgramsRunInSandbox(t *testing.T) {
	requirePandas(t)
	ctx := context.Background()
	pool, err := sandbox.NewPool(ctx, sandbox.PoolConfig{Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	items := Synthesize(9, 12, SyntheticConfig{MinRows: 3, MaxRows: 8})
	kept, dropped, err := VerifyGold(ctx, pool, items)
	if err != nil {
		t.Fatal(err)
	}
	if len(dropped) > 0 {
		t.Errorf("gold programs that fail: %v", dropped)
	}
	if len(kept) != len(items) {
		t.Errorf("kept %d of %d", len(kept), len(items))
	}
	// A wrong gold answer is dropped, not kept.
	bad := items[0]
	bad.Answers = []string{"not-the-answer"}
	kept, dropped, err = VerifyGold(ctx, pool, []Item{bad})
	if err != nil || len(kept) != 0 || len(dropped) != 1 {
		t.Errorf("wrong gold: kept %d dropped %v err %v", len(kept), dropped, err)
	}
}
