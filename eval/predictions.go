package eval

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"tabler1/answer"
	"tabler1/layouts"
)

// Prediction is a model's answer to one example. Value is the answer as
// decoded from JSON: a string, a json.Number, a list of those (HiTab regions
// nest lists) or nil. Scale is TAT-QA's predicted scale ("", thousand,
// million, billion, percent).
type Prediction struct {
	ID    string `json:"id"`
	Value any    `json:"prediction"`
	Scale string `json:"scale,omitempty"`
}

// Text is a prediction holding one answer string.
func Text(id, answer string) Prediction { return Prediction{ID: id, Value: answer} }

// List is a prediction holding a list of answer items.
func List(id string, items []string) Prediction {
	l := make([]any, len(items))
	for i, s := range items {
		l[i] = s
	}
	return Prediction{ID: id, Value: l}
}

// Items is the prediction as a flat list of strings: a scalar is one item,
// nested lists are flattened in order, nil is no item.
func (p Prediction) Items() []string {
	var out []string
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case nil:
		case []any:
			for _, e := range x {
				walk(e)
			}
		case []string:
			out = append(out, x...)
		default:
			out = append(out, scalarString(x))
		}
	}
	walk(p.Value)
	return out
}

// scalarString renders a JSON scalar as the string Python's str() would give
// for a str or number; booleans as Python does.
func scalarString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	case float64:
		return answer.PyFloatRepr(x)
	case int:
		return fmt.Sprint(x)
	case bool:
		if x {
			return "True"
		}
		return "False"
	case nil:
		return "None"
	}
	return fmt.Sprint(v)
}

// ReadPredictions reads a predictions JSONL: one {"id", "prediction"} object a
// line (prediction a string, a number, a list, or null; an optional "scale"
// for TAT-QA). Order and duplicates are kept: WTQ's official denominator
// counts every line.
func ReadPredictions(r io.Reader, name string) ([]Prediction, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1<<20), maxLine)
	var out []Prediction
	line := 0
	for sc.Scan() {
		line++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		if err := checkUTF8(name, line, b); err != nil {
			return nil, err
		}
		var rec struct {
			ID    *string         `json:"id"`
			Value json.RawMessage `json:"prediction"`
			Scale string          `json:"scale"`
		}
		if err := json.Unmarshal(b, &rec); err != nil {
			return nil, fmt.Errorf("%s:%d: want {\"id\": ..., \"prediction\": ...}: %w", name, line, err)
		}
		if rec.ID == nil {
			return nil, fmt.Errorf("%s:%d: prediction has no \"id\"", name, line)
		}
		p := Prediction{ID: *rec.ID, Scale: rec.Scale}
		if len(rec.Value) > 0 {
			v, err := decodeAny(rec.Value)
			if err != nil {
				return nil, fmt.Errorf("%s:%d: prediction: %w", name, line, err)
			}
			if err := checkPredictionValue(v); err != nil {
				return nil, fmt.Errorf("%s:%d: prediction for %q: %w", name, line, *rec.ID, err)
			}
			p.Value = v
		}
		out = append(out, p)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading %s after line %d: %w", name, line, err)
	}
	return out, nil
}

// LoadPredictions reads a predictions JSONL file.
func LoadPredictions(path string) ([]Prediction, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("opening predictions: %w", err)
	}
	defer f.Close()
	return ReadPredictions(f, path)
}

// checkUTF8 refuses input that is not valid UTF-8, as the table readers
// do: a prediction would be scored on text nobody wrote. line 0 means b is
// the whole file.
func checkUTF8(name string, line int, b []byte) error {
	return layouts.CheckUTF8(name, max(line, 1), b)
}

func checkPredictionValue(v any) error {
	switch x := v.(type) {
	case nil, string, json.Number, bool:
		return nil
	case []any:
		for _, e := range x {
			if err := checkPredictionValue(e); err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("want a string, a number or a list of them, got a JSON object")
}

// WritePredictions writes predictions as the JSONL that ReadPredictions reads.
func WritePredictions(w io.Writer, preds []Prediction) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	for _, p := range preds {
		if err := enc.Encode(p); err != nil {
			return fmt.Errorf("writing prediction %q: %w", p.ID, err)
		}
	}
	return bw.Flush()
}

// LoadPredictionsFile reads predictions in tabler1's JSONL or in an official
// scorer's format, chosen by the file name: *.tsv is WTQ's prediction TSV
// (id<TAB>item<TAB>item, items not unescaped, as evaluator.py reads them);
// *.json is an object of TAT-QA's {uid: [answer, scale]} or TabFact's
// {id: label}; anything else is the JSONL of ReadPredictions.
func LoadPredictionsFile(path string) ([]Prediction, error) {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".tsv":
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("opening predictions: %w", err)
		}
		if err := checkUTF8(path, 0, b); err != nil {
			return nil, err
		}
		var out []Prediction
		for _, line := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
			if line == "" {
				continue
			}
			f := strings.Split(strings.TrimSuffix(line, "\r"), "\t")
			out = append(out, List(f[0], f[1:]))
		}
		return out, nil
	case ".json":
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("opening predictions: %w", err)
		}
		if err := checkUTF8(path, 0, b); err != nil {
			return nil, err
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, fmt.Errorf("%s: want a JSON object of predictions by id: %w", path, err)
		}
		ids := make([]string, 0, len(m))
		for id := range m {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		out := make([]Prediction, 0, len(m))
		for _, id := range ids {
			v, err := decodeAny(m[id])
			if err != nil {
				return nil, fmt.Errorf("%s: prediction %q: %w", path, id, err)
			}
			p := Prediction{ID: id, Value: v}
			if pair, ok := v.([]any); ok && len(pair) == 2 {
				if scale, ok := pair[1].(string); ok {
					p.Value, p.Scale = pair[0], scale
				}
			}
			if err := checkPredictionValue(p.Value); err != nil {
				return nil, fmt.Errorf("%s: prediction %q: %w", path, id, err)
			}
			out = append(out, p)
		}
		return out, nil
	}
	return LoadPredictions(path)
}
