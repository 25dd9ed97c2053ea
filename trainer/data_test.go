package trainer

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestIsEvalSplit(t *testing.T) {
	for _, tc := range []struct {
		bench, split string
		want         bool
	}{
		{"wtq", "pristine-unseen-tables", true},
		{"wtq", "pristine-seen-tables", false},
		{"wtq", "train", false},
		{"tabfact", "test", true},
		{"tabfact", "small_test", true},
		{"tabfact", "val", false},
		{"hitab", "test", true},
		{"hitab", "dev", false},
		{"aitqa", "held-out", true},
	} {
		if got := IsEvalSplit(tc.bench, tc.split); got != tc.want {
			t.Errorf("IsEvalSplit(%s, %s) = %v, want %v", tc.bench, tc.split, got, tc.want)
		}
	}
}

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
