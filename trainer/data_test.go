package trainer

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"tabler1/eval"
)

func TestLoadSource(t *testing.T) {
	items, err := LoadSource(SourceConfig{Path: "../../shared/data/wtq.dev.jsonl", Limit: 5})
	if err != nil {
		t.Skipf("shared data not available: %v", err)
	}
	if len(items) != 5 || items[0].Table == nil || len(items[0].Answers) == 0 || !strings.HasPrefix(items[0].ID, "wtq:") {
		t.Errorf("items: %d, first %+v", len(items), items[0])
	}
	// An evaluation split is refused unless allowed.
	dir := t.TempDir()
	b, _ := os.ReadFile("../../shared/data/wtq.dev.jsonl")
	line := strings.SplitN(string(b), "\n", 2)[0]
	test := filepath.Join(dir, "test.jsonl")
	os.WriteFile(test, []byte(strings.Replace(line, `"split": "pristine-seen-tables"`, `"split": "pristine-unseen-tables"`, 1)+"\n"), 0o644)
	if _, err := LoadSource(SourceConfig{Path: test}); err == nil || !strings.Contains(err.Error(), "evaluation split") {
		t.Errorf("eval split accepted: %v", err)
	}
	if _, err := LoadSource(SourceConfig{Path: test, AllowEvalSplit: true}); err != nil {
		t.Errorf("allowed eval split refused: %v", err)
	}
}

// AIT-QA (one file, split "all") trains on the seeded 80% part only, and a
// source can name a benchmark to read its native files.
func TestLoadSourceSplits(t *testing.T) {
	const shared = "../../shared/data"
	if _, err := os.Stat(shared); err != nil {
		t.Skipf("shared data not available: %v", err)
	}
	items, err := LoadSource(SourceConfig{Path: filepath.Join(shared, "aitqa.dev.jsonl")})
	if err != nil {
		t.Fatal(err)
	}
	all, err := eval.LoadJSONL(filepath.Join(shared, "aitqa.dev.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	_, test := eval.AITQASplit(all, eval.AITQASplitSeed, eval.AITQATrainFraction)
	if len(items)+len(test) != len(all) || len(test) == 0 {
		t.Fatalf("aitqa: %d training items + %d test questions != %d", len(items), len(test), len(all))
	}
	held := map[string]bool{}
	for _, e := range test {
		held["aitqa:"+e.ID] = true
	}
	for _, it := range items {
		if held[it.ID] {
			t.Fatalf("aitqa test question %s is in the training data", it.ID)
		}
	}
	native, err := LoadSource(SourceConfig{Path: filepath.Join(shared, "raw", "tabfact"), Benchmark: "tabfact", Split: "val"})
	if err != nil {
		t.Fatal(err)
	}
	uniform, err := LoadSource(SourceConfig{Path: filepath.Join(shared, "tabfact.dev.jsonl")})
	if err != nil {
		t.Fatal(err)
	}
	if len(native) != len(uniform) || native[0].Question != uniform[0].Question {
		t.Errorf("tabfact native files give %d items, the uniform JSONL %d", len(native), len(uniform))
	}
	if _, err := LoadSource(SourceConfig{Path: shared, Benchmark: "nosuch"}); err == nil || !strings.Contains(err.Error(), "unknown benchmark") {
		t.Errorf("unknown benchmark accepted: %v", err)
	}
}
