package trainer

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"

	"tabler1/episode"
	"tabler1/eval"
	"tabler1/layouts"
)

// LoadSource reads a benchmark file in the uniform JSONL schema as training
// items. A file holding an evaluation split is refused unless
// src.AllowEvalSplit is set (eval.IsEvalSplit says which splits are). A record's meta.program (a distilled or gold
// program that prints the answer) becomes the item's gold program.
//
// The paper's splits are the default: AIT-QA, which ships as one file
// (split "all"), is cut to the train part of the seeded 80/20
// eval.AITQASplit, whose other 20% is what `tabler1 eval --bench aitqa
// --split test` scores.
func LoadSource(src SourceConfig) ([]Item, error) {
	exs, err := loadSourceExamples(src)
	if err != nil {
		return nil, fmt.Errorf("training data %s: %w", src.Path, err)
	}
	items := make([]Item, 0, len(exs))
	for _, e := range exs {
		if eval.IsEvalSplit(e.Benchmark, e.Split) && !src.AllowEvalSplit {
			return nil, fmt.Errorf("training data %s: record %s is from %s's evaluation split %q; training on it would leak the evaluation set (set allow_eval_split: true on this source if that is really meant)", src.Path, e.ID, e.Benchmark, e.Split)
		}
		it := Item{ID: e.Benchmark + ":" + e.ID, Source: src.Path, Task: eval.PromptQuestion(&e).Task, Question: e.Question, Table: e.Table, Answers: e.Answer}
		if p := e.MetaString("program"); p != "" {
			it.GoldProgram = p
		}
		items = append(items, it)
		if src.Limit > 0 && len(items) == src.Limit {
			break
		}
	}
	if len(items) == 0 {
		return nil, fmt.Errorf("training data %s: no records", src.Path)
	}
	return items, nil
}

// loadSourceExamples reads a source's examples: a benchmark's training
// split, or a uniform JSONL whose one-file benchmarks (AIT-QA's split
// "all") are cut to their train part.
func loadSourceExamples(src SourceConfig) ([]eval.Example, error) {
	if src.Benchmark != "" {
		split := src.Split
		if split == "" {
			split = eval.TrainSplit(src.Benchmark)
		}
		return eval.LoadData(src.Benchmark, src.Path, split)
	}
	exs, err := eval.LoadJSONL(src.Path)
	if err != nil {
		return nil, err
	}
	return eval.TrainPart(exs), nil
}

// LoadLTI reads LTI triples (JSON lines of layouts.LTITask, as written by
// `tabler1 gen lti`).
func LoadLTI(path string) ([]Item, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("LTI data: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 256<<20)
	var items []Item
	line := 0
	for sc.Scan() {
		line++
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var t layouts.LTITask
		if err := json.Unmarshal(sc.Bytes(), &t); err != nil {
			return nil, fmt.Errorf("LTI data %s:%d: %w", path, line, err)
		}
		if t.Source == nil || t.Target == nil || t.Program == "" {
			return nil, fmt.Errorf("LTI data %s:%d: a task needs source, target and program", path, line)
		}
		items = append(items, ltiItem(t))
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("LTI data %s: %w", path, err)
	}
	return items, nil
}

func ltiItem(t layouts.LTITask) Item {
	return Item{ID: "lti:" + t.ID, Source: SourceLTI, Task: episode.TaskLTI, Question: "transform: " + strings.Join(t.Ops, ", "),
		Table: t.Source, Target: t.Target, GoldProgram: t.Program}
}

// GenerateLTI makes n LTI tasks over the given source tables (composing at
// most maxOps operators), a pure function of seed.
func GenerateLTI(seed uint64, tables []*layouts.Table, n, maxOps int, maxRows int) ([]Item, error) {
	g, err := layouts.NewLTIGenerator(tables, layouts.LTIOptions{MaxOps: maxOps, MaxRows: maxRows})
	if err != nil {
		return nil, fmt.Errorf("LTI generation: %w", err)
	}
	tasks, err := g.Generate(rand.New(rand.NewPCG(seed, 0x171)), n)
	if err != nil {
		return nil, fmt.Errorf("LTI generation: %w", err)
	}
	items := make([]Item, len(tasks))
	for i, t := range tasks {
		items[i] = ltiItem(t)
	}
	return items, nil
}
