package eval

import (
	"fmt"
	"strings"
	"sync"

	"tabler1/rollout"
)

// Benchmark is one row of the benchmark table: everything tabler1 knows of
// a benchmark, so that loading, prompting, scoring, training and the
// command line read it from one place. Adding a benchmark is one file that
// defines its row (loader, scorer) plus one entry in [builtin], or a
// [Register] call for one defined outside this package.
type Benchmark struct {
	// Name is the name in the uniform JSONL, on the command line and in
	// reports.
	Name string
	// Paper marks the Table-r1 paper's four benchmarks, run when none is
	// named.
	Paper bool
	// Task is the kind of task, as the prompt templates know it:
	// rollout.TaskQA (the default when empty) or rollout.TaskTabFact.
	Task string
	// TestSplit is the split evaluated by default (default "test");
	// TrainSplit the split trained on (default "train").
	TestSplit, TrainSplit string
	// EvalSplits are its evaluation splits beyond those of every benchmark
	// ([IsEvalSplit]): training on them is refused.
	EvalSplits []string
	// Native reads one split of the benchmark's native files under root, as
	// its repository lays them out; nil when there is no native loader.
	Native func(root, split string) ([]Example, error)
	// Split, for a benchmark that ships one file with no train/test split,
	// keeps the part of its examples named "train" or "test" (AIT-QA's
	// seeded split); nil elsewhere.
	Split func(exs []Example, split string) []Example
	// Scorer is the benchmark's official metric.
	Scorer Scorer
	// PerLine scores every prediction line whose id is known (duplicates
	// twice, as WTQ's evaluator.py), instead of every gold example with its
	// last prediction.
	PerLine bool
	// Predict turns a model's answer items into a prediction; nil: a list.
	Predict func(id string, items []string) Prediction
	// Official writes predictions in the official scorer's format into dir;
	// nil when tabler1's JSONL is all there is.
	Official func(dir string, preds []Prediction) error
}

// Scorer is one benchmark's metric: Score grades one prediction (the
// caller fills Outcome.ID), Summarize aggregates the scored predictions
// into metrics with at least "accuracy" ([MeanSummary] for the plain
// ones).
type Scorer interface {
	Score(ex *Example, p Prediction) Outcome
	Summarize(scored []Scored) Metrics
}

// builtin is the benchmark table, the paper's four first.
func builtin() []*Benchmark {
	return []*Benchmark{&wtqBenchmark, &tabfactBenchmark, &hitabBenchmark, &aitqaBenchmark,
		&fetaqaBenchmark, &tablebenchBenchmark, &tatqaBenchmark}
}

// registry holds the table; Register adds to it, so it is guarded.
var registry = struct {
	sync.RWMutex
	list   []*Benchmark
	byName map[string]*Benchmark
}{list: builtin(), byName: map[string]*Benchmark{}}

func init() {
	for _, b := range registry.list {
		registry.byName[b.Name] = b
	}
}

// Register adds a benchmark defined outside this package to the table, as
// image.RegisterFormat does: call it from an init function or before any
// other use of the table. The name must be new and the row must have a
// scorer.
func Register(b Benchmark) error {
	if b.Name == "" || strings.ContainsAny(b.Name, ", \t\n") {
		return fmt.Errorf("registering a benchmark: name %q must be non-empty, without commas or spaces", b.Name)
	}
	if b.Scorer == nil {
		return fmt.Errorf("registering benchmark %q: no scorer", b.Name)
	}
	registry.Lock()
	defer registry.Unlock()
	if _, dup := registry.byName[b.Name]; dup {
		return fmt.Errorf("registering benchmark %q: the name is taken", b.Name)
	}
	registry.list = append(registry.list, &b)
	registry.byName[b.Name] = &b
	return nil
}

// row is the named benchmark's row in the table.
func row(name string) (*Benchmark, bool) {
	registry.RLock()
	defer registry.RUnlock()
	b, ok := registry.byName[name]
	return b, ok
}

// lookup is row with the error that names the known benchmarks.
func lookup(name string) (*Benchmark, error) {
	if b, ok := row(name); ok {
		return b, nil
	}
	return nil, fmt.Errorf("unknown benchmark %q: want one of %s", name, strings.Join(Benchmarks(), ", "))
}

// Benchmarks lists every benchmark eval knows, in table order: the paper's
// four first.
func Benchmarks() []string {
	registry.RLock()
	defer registry.RUnlock()
	out := make([]string, len(registry.list))
	for i, b := range registry.list {
		out[i] = b.Name
	}
	return out
}

// PaperBenchmarks lists the paper's four benchmarks, the default of eval
// and distillation.
func PaperBenchmarks() []string {
	registry.RLock()
	defer registry.RUnlock()
	var out []string
	for _, b := range registry.list {
		if b.Paper {
			out = append(out, b.Name)
		}
	}
	return out
}

// KnownBenchmark reports whether name is one of [Benchmarks].
func KnownBenchmark(name string) bool {
	_, ok := row(name)
	return ok
}

// ParseBenchmarks reads a comma-separated list of benchmark names (blanks
// around names and empty items ignored); an unknown name is an error that
// lists the known ones.
func ParseBenchmarks(list string) ([]string, error) {
	var out []string
	for _, n := range strings.Split(list, ",") {
		if n = strings.TrimSpace(n); n == "" {
			continue
		}
		if _, err := lookup(n); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, nil
}

// DefaultSplit is the split a benchmark is evaluated on by default: the
// official test split where one has labels here; "test" for an unknown
// benchmark.
func DefaultSplit(bench string) string {
	if b, ok := row(bench); ok && b.TestSplit != "" {
		return b.TestSplit
	}
	return "test"
}

// TrainSplit is the split a benchmark is trained on: the paper's training
// split ("train" unless the table says otherwise).
func TrainSplit(bench string) string {
	if b, ok := row(bench); ok && b.TrainSplit != "" {
		return b.TrainSplit
	}
	return "train"
}

// everyEvalSplit are the evaluation split names of every benchmark.
var everyEvalSplit = []string{"test", "held-out", "heldout"}

// IsEvalSplit reports whether split is an evaluation split of benchmark:
// test, held-out or heldout (alone or as a "-" or "_" suffix) or one of the
// benchmark's EvalSplits. Training on one would leak the evaluation set.
func IsEvalSplit(benchmark, split string) bool {
	s := strings.ToLower(split)
	lists := [][]string{everyEvalSplit}
	if b, ok := row(strings.ToLower(benchmark)); ok {
		lists = append(lists, b.EvalSplits)
	}
	for _, list := range lists {
		for _, e := range list {
			if s == e || strings.HasSuffix(s, "-"+e) || strings.HasSuffix(s, "_"+e) {
				return true
			}
		}
	}
	return false
}

// PromptQuestion is ex as the prompt templates see it: the benchmark's
// prompt task (rollout.TaskQA for an unknown benchmark), and the question
// with the paragraphs that go with the table (TAT-QA) before it.
func PromptQuestion(ex *Example) rollout.Question {
	task := rollout.TaskQA
	if b, ok := row(ex.Benchmark); ok && b.Task != "" {
		task = b.Task
	}
	return rollout.Question{ID: ex.ID, Task: task, Bench: ex.Benchmark, Question: promptQuestion(ex), Table: ex.Table}
}

// promptQuestion is the question as the prompt shows it: TAT-QA's
// paragraphs go before it.
func promptQuestion(ex *Example) string {
	if len(ex.Paragraphs) == 0 {
		return ex.Question
	}
	return "Text accompanying the table:\n" + strings.Join(ex.Paragraphs, "\n") + "\n\nQuestion: " + ex.Question
}

// TrainPart keeps what training may use of examples read from a uniform
// JSONL: the examples of a one-file benchmark (a row with a Split, its
// records in split "all") are cut to their train part and put after the
// others, in table order; the others pass through in their order.
func TrainPart(exs []Example) []Example {
	whole := map[string][]Example{}
	out := exs[:0:0]
	for _, e := range exs {
		if b, ok := row(e.Benchmark); ok && b.Split != nil && e.Split == "all" {
			whole[e.Benchmark] = append(whole[e.Benchmark], e)
			continue
		}
		out = append(out, e)
	}
	for _, name := range Benchmarks() {
		if w := whole[name]; len(w) > 0 {
			b, _ := row(name)
			out = append(out, b.Split(w, "train")...)
		}
	}
	return out
}
