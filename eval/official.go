package eval

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// WritePredictionFiles writes the first sample of every example into dir:
// <bench>.predictions.jsonl for every benchmark (the format tabler1 score
// reads), and the official scorers' formats: wtq.predictions.tsv
// (id<TAB>item<TAB>item, for evaluator.py), tatqa.predictions.json
// ({uid: [answer, scale]}, for tatqa_eval.py), tabfact.predictions.json
// ({id: label}, unparseable verdicts left out) and hitab.predictions.jsonl
// ({"id", "answer"}): each benchmark's Official writer.
func WritePredictionFiles(dir string, samples []Sample) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("writing predictions: %w", err)
	}
	byBench := map[string][]Sample{}
	for _, s := range samples {
		if s.Index == 0 {
			byBench[s.Bench] = append(byBench[s.Bench], s)
		}
	}
	for bench, ss := range byBench {
		sort.Slice(ss, func(i, j int) bool { return ss[i].ID < ss[j].ID })
		preds := make([]Prediction, len(ss))
		for i, s := range ss {
			preds[i] = s.Prediction
			preds[i].ID = s.ID
		}
		if err := writeWith(filepath.Join(dir, bench+".predictions.jsonl"), func(f *os.File) error { return WritePredictions(f, preds) }); err != nil {
			return err
		}
		if b, ok := row(bench); ok && b.Official != nil {
			if err := b.Official(dir, preds); err != nil {
				return err
			}
		}
	}
	return nil
}

// writeWTQOfficial writes wtq.predictions.tsv for evaluator.py.
func writeWTQOfficial(dir string, preds []Prediction) error {
	return writeWith(filepath.Join(dir, "wtq.predictions.tsv"), func(f *os.File) error {
		var b strings.Builder
		for _, p := range preds {
			b.WriteString(tsvField(p.ID))
			for _, it := range p.Items() {
				b.WriteString("\t" + tsvField(it))
			}
			b.WriteString("\n")
		}
		_, err := f.WriteString(b.String())
		return err
	})
}

// writeTATQAOfficial writes tatqa.predictions.json for tatqa_eval.py.
func writeTATQAOfficial(dir string, preds []Prediction) error {
	m := map[string][2]any{}
	for _, p := range preds {
		m[p.ID] = [2]any{p.Value, p.Scale}
	}
	return writeJSONFile(filepath.Join(dir, "tatqa.predictions.json"), m)
}

// writeTabFactOfficial writes tabfact.predictions.json ({id: label}),
// unparseable verdicts left out.
func writeTabFactOfficial(dir string, preds []Prediction) error {
	m := map[string]int{}
	for _, p := range preds {
		if items := p.Items(); len(items) == 1 {
			if l, ok := TabFactLabel(items[0]); ok {
				m[p.ID] = l
			}
		}
	}
	return writeJSONFile(filepath.Join(dir, "tabfact.predictions.json"), m)
}

// writeHiTabOfficial writes hitab.predictions.jsonl ({"id", "answer"}).
func writeHiTabOfficial(dir string, preds []Prediction) error {
	return writeWith(filepath.Join(dir, "hitab.predictions.jsonl"), func(f *os.File) error {
		enc := json.NewEncoder(f)
		enc.SetEscapeHTML(false)
		for _, p := range preds {
			v := p.Value
			if v == nil {
				v = []any{}
			}
			if err := enc.Encode(map[string]any{"id": p.ID, "answer": v}); err != nil {
				return err
			}
		}
		return nil
	})
}

// tsvField keeps an item on its line and in its column: evaluator.py does
// not unescape predictions, and its normaliser collapses whitespace anyway.
func tsvField(s string) string {
	return strings.NewReplacer("\t", " ", "\n", " ", "\r", " ").Replace(s)
}

func writeJSONFile(path string, v any) error {
	return writeWith(path, func(f *os.File) error {
		enc := json.NewEncoder(f)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", " ")
		return enc.Encode(v)
	})
}

func writeWith(path string, write func(*os.File) error) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("writing predictions: %w", err)
	}
	if err := write(f); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
