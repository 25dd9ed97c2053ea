package eval

import (
	"bufio"
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
	var out []Prediction
	err := eachJSONLine(r, name, func(b []byte) error {
		var rec struct {
			ID    *string         `json:"id"`
			Value json.RawMessage `json:"prediction"`
			Scale string          `json:"scale"`
		}
		if err := json.Unmarshal(b, &rec); err != nil {
			return fmt.Errorf("want {\"id\": ..., \"prediction\": ...}: %w", err)
		}
		if rec.ID == nil {
			return fmt.Errorf("prediction has no \"id\"")
		}
		p := Prediction{ID: *rec.ID, Scale: rec.Scale}
		if len(rec.Value) > 0 {
			v, err := decodeAny(rec.Value)
			if err != nil {
				return fmt.Errorf("prediction: %w", err)
			}
			if err := checkPredictionValue(v); err != nil {
				return fmt.Errorf("prediction for %q: %w", *rec.ID, err)
			}
			p.Value = v
		}
		out = append(out, p)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// LoadPredictions reads a predictions JSONL file.
func LoadPredictions(path string) ([]Prediction, error) {
	return readFile(path, "predictions", ReadPredictions)
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
		if err := layouts.CheckUTF8(path, 1, b); err != nil {
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
		if err := layouts.CheckUTF8(path, 1, b); err != nil {
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
