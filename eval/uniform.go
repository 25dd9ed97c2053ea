package eval

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"tabler1/layouts"
)

// maxLine bounds one JSONL line (a record with its whole table).
const maxLine = 64 << 20

// uniformRecord is one line of the uniform JSONL (../shared/data/README.md).
type uniformRecord struct {
	ID         string          `json:"id"`
	Benchmark  string          `json:"benchmark"`
	Split      string          `json:"split"`
	Task       string          `json:"task"`
	Question   string          `json:"question"`
	Table      json.RawMessage `json:"table"`
	Paragraphs []string        `json:"paragraphs"`
	Answer     []string        `json:"answer"`
	Label      *int            `json:"label"`
	Meta       json.RawMessage `json:"meta"`
}

// ReadJSONL reads uniform-schema examples, one JSON object per line; blank
// lines are skipped. name is used in error messages (a file name).
func ReadJSONL(r io.Reader, name string) ([]Example, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1<<20), maxLine)
	var out []Example
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
		ex, err := parseUniform(b)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, line, err)
		}
		out = append(out, ex)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading %s after line %d: %w (lines are limited to %d bytes)", name, line, err, maxLine)
	}
	return out, nil
}

// LoadJSONL reads a uniform JSONL file.
func LoadJSONL(path string) ([]Example, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("opening benchmark data: %w", err)
	}
	defer f.Close()
	return ReadJSONL(f, path)
}

func parseUniform(b []byte) (Example, error) {
	var rec uniformRecord
	if err := json.Unmarshal(b, &rec); err != nil {
		return Example{}, fmt.Errorf("not a uniform-schema record: %w", err)
	}
	if rec.ID == "" {
		return Example{}, fmt.Errorf("record has no \"id\"")
	}
	if rec.Benchmark == "" {
		return Example{}, fmt.Errorf("record %q has no \"benchmark\"", rec.ID)
	}
	ex := Example{
		ID: rec.ID, Benchmark: rec.Benchmark, Split: rec.Split, Task: rec.Task,
		Question: rec.Question, Paragraphs: rec.Paragraphs, Answer: rec.Answer, Label: -1,
	}
	if rec.Label != nil {
		if *rec.Label != 0 && *rec.Label != 1 {
			return Example{}, fmt.Errorf("record %q has label %d, want 0 or 1", rec.ID, *rec.Label)
		}
		ex.Label = *rec.Label
	}
	if len(rec.Table) > 0 && string(rec.Table) != "null" {
		t, err := uniformTable(rec.Table)
		if err != nil {
			return Example{}, fmt.Errorf("record %q: table: %w", rec.ID, err)
		}
		ex.Table = t
	}
	ex.Meta = map[string]any{}
	if len(rec.Meta) > 0 && string(rec.Meta) != "null" {
		m, err := decodeAny(rec.Meta)
		if err != nil {
			return Example{}, fmt.Errorf("record %q: meta: %w", rec.ID, err)
		}
		mm, ok := m.(map[string]any)
		if !ok {
			return Example{}, fmt.Errorf("record %q: meta is not an object", rec.ID)
		}
		ex.Meta = mm
	}
	return ex, nil
}

// uniformTable converts the uniform schema's table object through
// layouts.UniformTable, the one definition of that conversion.
func uniformTable(raw json.RawMessage) (*layouts.Table, error) {
	var u layouts.UniformTable
	if err := json.Unmarshal(raw, &u); err != nil {
		return nil, err
	}
	return u.Table()
}
