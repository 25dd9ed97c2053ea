package eval

import (
	"reflect"
	"strings"
	"testing"

	"tabler1/rollout"
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
		{"tatqa", "test_gold", true},
		{"tatqa", "dev", false},
		{"unknown", "my-heldout", true},
		{"unknown", "pristine-unseen-tables", false},
	} {
		if got := IsEvalSplit(tc.bench, tc.split); got != tc.want {
			t.Errorf("IsEvalSplit(%s, %s) = %v, want %v", tc.bench, tc.split, got, tc.want)
		}
	}
}

// Every row of the table is complete, and the lists derived from it keep
// the paper's four first.
func TestBenchmarkTable(t *testing.T) {
	names := Benchmarks()
	if want := []string{WTQ, TabFact, HiTab, AITQA, FeTaQA, TableBench, TATQA}; !reflect.DeepEqual(names, want) {
		t.Fatalf("Benchmarks() = %v, want %v", names, want)
	}
	if got, want := PaperBenchmarks(), names[:4]; !reflect.DeepEqual(got, want) {
		t.Errorf("PaperBenchmarks() = %v, want %v", got, want)
	}
	for _, n := range names {
		b, ok := row(n)
		if !ok || b.Name != n || b.Scorer == nil || b.Native == nil {
			t.Errorf("%s: incomplete row %+v", n, b)
		}
	}
	for bench, want := range map[string]string{WTQ: "pristine-unseen-tables", TATQA: "test_gold", AITQA: "all", HiTab: "test", "nope": "test"} {
		if got := DefaultSplit(bench); got != want {
			t.Errorf("DefaultSplit(%s) = %q, want %q", bench, got, want)
		}
	}
	for bench, want := range map[string]string{WTQ: "training", TabFact: "train", "nope": "train"} {
		if got := TrainSplit(bench); got != want {
			t.Errorf("TrainSplit(%s) = %q, want %q", bench, got, want)
		}
	}
	if _, ok := row("nope"); ok || KnownBenchmark("nope") {
		t.Error("an unknown name is found")
	}
}

func TestRegisterRefuses(t *testing.T) {
	for _, tc := range []struct {
		name string
		b    Benchmark
		want string
	}{
		{"taken name", Benchmark{Name: WTQ, Scorer: wtqScorer{}}, "taken"},
		{"no name", Benchmark{Scorer: wtqScorer{}}, "name"},
		{"comma in the name", Benchmark{Name: "a,b", Scorer: wtqScorer{}}, "name"},
		{"no scorer", Benchmark{Name: "fresh"}, "no scorer"},
	} {
		err := Register(tc.b)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Register = %v, want an error about %q", tc.name, err, tc.want)
		}
	}
	if KnownBenchmark("fresh") {
		t.Error("a refused benchmark was registered")
	}
}

func TestParseBenchmarks(t *testing.T) {
	got, err := ParseBenchmarks(" wtq, tatqa ,,")
	if err != nil || !reflect.DeepEqual(got, []string{WTQ, TATQA}) {
		t.Errorf("ParseBenchmarks = %v, %v", got, err)
	}
	if _, err := ParseBenchmarks("wtq,wikisql"); err == nil || !strings.Contains(err.Error(), `"wikisql"`) || !strings.Contains(err.Error(), "tatqa") {
		t.Errorf("an unknown name: %v, want an error naming it and the known ones", err)
	}
}

func TestPromptQuestion(t *testing.T) {
	for _, tc := range []struct {
		ex       Example
		task     string
		question string
	}{
		{Example{ID: "1", Benchmark: TabFact, Question: "s"}, rollout.TaskTabFact, "s"},
		{Example{ID: "2", Benchmark: WTQ, Question: "q"}, rollout.TaskQA, "q"},
		{Example{ID: "3", Benchmark: "unknown", Question: "q"}, rollout.TaskQA, "q"},
		{Example{ID: "4", Benchmark: TATQA, Question: "q", Paragraphs: []string{"p1", "p2"}}, rollout.TaskQA,
			"Text accompanying the table:\np1\np2\n\nQuestion: q"},
	} {
		q := PromptQuestion(&tc.ex)
		if q.Task != tc.task || q.Question != tc.question || q.ID != tc.ex.ID || q.Bench != tc.ex.Benchmark {
			t.Errorf("%s: %+v, want task %q question %q", tc.ex.Benchmark, q, tc.task, tc.question)
		}
	}
}

// TrainPart cuts AIT-QA's one file to AITQASplit's train part, after the
// other benchmarks' records, which pass through.
func TestTrainPart(t *testing.T) {
	var exs []Example
	for i := range 40 {
		exs = append(exs, Example{ID: string(rune('a'+i%26)) + strings.Repeat("x", i/26), Benchmark: AITQA, Split: "all"})
	}
	exs = append(exs, Example{ID: "w1", Benchmark: WTQ, Split: "training"}, Example{ID: "t1", Benchmark: AITQA, Split: "train"})
	got := TrainPart(exs)
	train, _ := AITQASplit(exs[:40], AITQASplitSeed, AITQATrainFraction)
	want := append([]Example{exs[40], exs[41]}, train...)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("TrainPart kept %d examples, want %d (the WTQ one, AIT-QA's train-split one, then AITQASplit's train part)", len(got), len(want))
	}
	if len(train) == 0 || len(train) == 40 {
		t.Fatalf("AITQASplit kept %d of 40: the test says nothing", len(train))
	}
}
