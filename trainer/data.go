package trainer

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"

	"tabler1/episode"
	"tabler1/eval"
	"tabler1/layouts"
	"tabler1/rollout"
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
//
// A file of `tabler1 distill` records (rollout.SFTRecord: a prompt and the
// teacher's verified completion) is read as it is: SFT stages train on the
// prompt and completion verbatim; GRPO stages skip them (no table).
func LoadSource(src SourceConfig) ([]Item, error) {
	if src.Benchmark == "" {
		if items, ok, err := loadDistilled(src); ok || err != nil {
			return items, err
		}
	}
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

// loadDistilled reads a file of `tabler1 distill` records as SFT items;
// ok is false when path is not one (a directory, or a JSONL file whose
// first record has no "prompt" and "completion"): a benchmark file.
func loadDistilled(src SourceConfig) (items []Item, ok bool, err error) {
	if st, err := os.Stat(src.Path); err != nil || st.IsDir() {
		return nil, false, nil // the benchmark loaders say what is wrong
	}
	f, err := os.Open(src.Path)
	if err != nil {
		return nil, false, fmt.Errorf("training data: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 256<<20)
	seen := map[string]int{}
	line := 0
	for sc.Scan() {
		line++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		if len(items) == 0 && !ok {
			var keys map[string]json.RawMessage
			if json.Unmarshal(b, &keys) != nil {
				return nil, false, nil
			}
			_, p := keys["prompt"]
			_, c := keys["completion"]
			if !p || !c {
				return nil, false, nil
			}
			ok = true
		}
		if err := layouts.CheckUTF8("training data "+src.Path, line, b); err != nil {
			return nil, true, err
		}
		var r rollout.SFTRecord
		if err := json.Unmarshal(b, &r); err != nil {
			return nil, true, fmt.Errorf("training data %s:%d: not a distilled record: %w", src.Path, line, err)
		}
		if r.Prompt == "" || r.Completion == "" {
			return nil, true, fmt.Errorf("training data %s:%d: a distilled record needs a prompt and a completion", src.Path, line)
		}
		id := r.Bench + ":" + r.QuestionID
		if r.QuestionID == "" {
			id = r.ID
		}
		if seen[id]++; seen[id] > 1 {
			id = fmt.Sprintf("%s#%d", id, seen[id]) // several kept samples of one question
		}
		items = append(items, Item{ID: id, Source: src.Path, Task: r.Task, Answers: r.Gold, GoldProgram: r.Program,
			Prompt: r.Prompt, Completion: r.Completion})
		if src.Limit > 0 && len(items) == src.Limit {
			break
		}
	}
	if err := sc.Err(); err != nil {
		return nil, ok, fmt.Errorf("training data %s: %w", src.Path, err)
	}
	if ok && len(items) == 0 {
		return nil, true, fmt.Errorf("training data %s: no records", src.Path)
	}
	return items, ok, nil
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
