package eval

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// ScorePredictions refuses duplicate ids, counts unknown and missing ids as
// integers and summarises each in one warning line.
func TestScorePredictionsCounts(t *testing.T) {
	exs := []Example{
		{ID: "a", Benchmark: WTQ, Answer: []string{"1"}},
		{ID: "b", Benchmark: WTQ, Answer: []string{"2"}},
		{ID: "c", Benchmark: WTQ, Answer: []string{"3"}},
	}
	for _, tc := range []struct {
		name                string
		bench               string
		preds               []Prediction
		err                 string
		n, unknown, missing int
		warnings            int
	}{
		{"all", WTQ, []Prediction{Text("a", "1"), Text("b", "2"), Text("c", "3")}, "", 3, 0, 0, 0},
		{"duplicate", WTQ, []Prediction{Text("a", "1"), Text("a", "1"), Text("b", "2")}, "given more than once", 0, 0, 0, 0},
		{"duplicate tabfact", TabFact, []Prediction{Text("a", "1"), Text("a", "0")}, "given more than once", 0, 0, 0, 0},
		{"unknown and missing wtq", WTQ, []Prediction{Text("a", "1"), Text("x", "1"), Text("y", "1"), Text("z", "1"), Text("w", "1")}, "", 1, 4, 2, 2},
		{"missing scored wrong", AITQA, []Prediction{Text("a", "1")}, "", 3, 0, 2, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ex := append([]Example(nil), exs...)
			for i := range ex {
				ex[i].Benchmark = tc.bench
			}
			res, err := ScorePredictions(tc.bench, ex, tc.preds)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.N != tc.n || res.Unknown != tc.unknown || res.Missing != tc.missing || len(res.Warnings) != tc.warnings {
				t.Fatalf("n=%d unknown=%d missing=%d warnings=%q; want %d %d %d and %d warnings",
					res.N, res.Unknown, res.Missing, res.Warnings, tc.n, tc.unknown, tc.missing, tc.warnings)
			}
		})
	}
}

// Non-UTF-8 predictions and data are refused with the line, as the table
// readers refuse them.
func TestNonUTF8Refused(t *testing.T) {
	if _, err := ReadPredictions(strings.NewReader("{\"id\":\"a\",\"prediction\":\"1\"}\n{\"id\":\"b\",\"prediction\":\"caf\xe9\"}\n"), "p.jsonl"); err == nil ||
		!strings.Contains(err.Error(), "p.jsonl:2: invalid UTF-8") {
		t.Errorf("ReadPredictions: %v, want p.jsonl:2: invalid UTF-8", err)
	}
	if _, err := ReadJSONL(strings.NewReader("{\"id\":\"a\",\"benchmark\":\"wtq\",\"question\":\"caf\xe9\"}\n"), "d.jsonl"); err == nil ||
		!strings.Contains(err.Error(), "d.jsonl:1: invalid UTF-8") {
		t.Errorf("ReadJSONL: %v, want d.jsonl:1: invalid UTF-8", err)
	}
	tsv := filepath.Join(t.TempDir(), "f.tsv")
	if err := os.WriteFile(tsv, []byte("a\tb\nc\t\xff\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadPredictionsFile(tsv); err == nil || !strings.Contains(err.Error(), "f.tsv:2: invalid UTF-8 at byte 6") {
		t.Errorf("LoadPredictionsFile: %v, want f.tsv:2 byte 6", err)
	}
}
