package layouts

import (
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"
)

func ltiSources(n int) []*Table { return tinyTables(21, n) }

func TestLTIGeneratorDeterministicAndDistinct(t *testing.T) {
	gen := func() []byte {
		g, err := NewLTIGenerator(ltiSources(50), LTIOptions{})
		if err != nil {
			t.Fatal(err)
		}
		tasks, err := g.Generate(rand.New(rand.NewPCG(7, 7)), 300)
		if err != nil {
			t.Fatal(err)
		}
		ids := map[string]bool{}
		for _, tk := range tasks {
			if ids[tk.ID] {
				t.Errorf("task %s repeats", tk.ID)
			}
			ids[tk.ID] = true
			if len(tk.Ops) < 1 || len(tk.Ops) > 3 {
				t.Errorf("%s: %d ops, want 1..3", tk.ID, len(tk.Ops))
			}
			if EqualCanonical(tk.Source, tk.Target) {
				t.Errorf("%s: target equals source", tk.ID)
			}
			if tk.Source.NumRows() > 20 || tk.Source.NumCols() > 8 {
				t.Errorf("%s: source %dx%d exceeds the 20x8 default caps", tk.ID, tk.Source.NumRows(), tk.Source.NumCols())
			}
			if err := tk.Target.Validate(); err != nil && tk.Target.NumRows() > 0 {
				t.Errorf("%s: invalid target: %v", tk.ID, err)
			}
		}
		b, _ := json.Marshal(tasks)
		return b
	}
	if a, b := gen(), gen(); string(a) != string(b) {
		t.Error("same seed, different tasks")
	}
}

func TestLTIOptions(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	g, err := NewLTIGenerator(ltiSources(30), LTIOptions{MinOps: 2, MaxOps: 2, MaxRows: 5, MaxCols: 3,
		Weights: map[string]float64{"sort_rows": 1, "reorder_columns": 1, "transpose": 0}})
	if err != nil {
		t.Fatal(err)
	}
	for range 50 {
		tk, err := g.Next(rng)
		if err != nil {
			t.Fatal(err)
		}
		if len(tk.Ops) != 2 {
			t.Errorf("%d ops, want 2", len(tk.Ops))
		}
		for _, op := range tk.Ops {
			if op != "sort_rows" && op != "reorder_columns" {
				t.Errorf("op %s outside the weights", op)
			}
		}
		if tk.Source.NumRows() > 5 || tk.Source.NumCols() > 3 {
			t.Errorf("source %dx%d exceeds 5x3", tk.Source.NumRows(), tk.Source.NumCols())
		}
		if tk.Program != strings.TrimSpace(tk.Program) || strings.Count(tk.Program, "df") < 2 {
			t.Errorf("program %q", tk.Program)
		}
	}
	if _, err := NewLTIGenerator(ltiSources(3), LTIOptions{Weights: map[string]float64{"nope": 1}}); err == nil {
		t.Error("unknown operator in weights accepted")
	}
	if _, err := NewLTIGenerator(ltiSources(3), LTIOptions{Weights: map[string]float64{"melt": 0}}); err == nil {
		t.Error("weights selecting nothing accepted")
	}
	if _, err := NewLTIGenerator([]*Table{{}}, LTIOptions{}); err == nil {
		t.Error("no usable source accepted")
	}
}

// A single tiny source runs out of distinct tasks: Generate says so
// instead of looping or repeating.
func TestLTIExhaustion(t *testing.T) {
	g, err := NewLTIGenerator([]*Table{tbl([]string{"a", "b"}, row("1", "2"), row("3", "4"))},
		LTIOptions{MaxOps: 1, Weights: map[string]float64{"reorder_columns": 1}})
	if err != nil {
		t.Fatal(err)
	}
	tasks, err := g.Generate(rand.New(rand.NewPCG(1, 1)), 5)
	if err == nil || len(tasks) != 1 {
		t.Errorf("got %d tasks, err %v; want 1 task then an exhaustion error", len(tasks), err)
	}
}

func TestParseOpWeights(t *testing.T) {
	w, err := ParseOpWeights("melt, sort_rows=2.5")
	if err != nil || w["melt"] != 1 || w["sort_rows"] != 2.5 || len(w) != 2 {
		t.Errorf("got %v, %v", w, err)
	}
	if w, err := ParseOpWeights(""); w != nil || err != nil {
		t.Errorf("empty: %v, %v", w, err)
	}
	for _, bad := range []string{"frob", "melt=x", "melt=-1", "melt=NaN", "melt=inf"} {
		if _, err := ParseOpWeights(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// Every operator shows up in a default run over tiny and benchmark tables.
func TestLTIOperatorCoverage(t *testing.T) {
	t.Parallel() // CPU-bound; overlaps the pandas cross-check's Python time
	srcs := append(tinyTables(31, 200), benchmarkTables(t, 20, 8)...)
	g, err := NewLTIGenerator(srcs, LTIOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tasks, err := g.Generate(rand.New(rand.NewPCG(2, 2)), 1200)
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, tk := range tasks {
		for _, op := range tk.Ops {
			count[op]++
		}
	}
	for _, name := range OpNames() {
		if count[name] == 0 {
			t.Errorf("operator %s never used in 1200 tasks", name)
		}
	}
	t.Logf("operator use in 1200 tasks: %v", count)
}

// BenchmarkLTIGenerate measures triples per second on tiny sources (up to
// 20x8) without the pandas check: triples/s by wall clock, and
// triples/cpu-s by the process's CPU time (the honest figure on a shared
// machine; run with GOMAXPROCS=1 for one core).
func BenchmarkLTIGenerate(b *testing.B) {
	srcs := tinyTables(41, 500)
	g, err := NewLTIGenerator(srcs, LTIOptions{})
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	cpu0 := cpuTime()
	for b.Loop() {
		if _, err := g.Next(rng); err != nil {
			// The distinct tasks of 500 sources can run out in a very
			// long run: start over with an empty memory.
			g, _ = NewLTIGenerator(srcs, LTIOptions{})
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "triples/s")
	if cpu := cpuTime() - cpu0; cpu > 0 {
		b.ReportMetric(float64(b.N)/cpu.Seconds(), "triples/cpu-s")
	}
}
