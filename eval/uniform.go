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
	var out []Example
	err := eachJSONLine(r, name, func(b []byte) error {
		ex, err := parseUniform(b)
		if err != nil {
			return err
		}
		out = append(out, ex)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// LoadJSONL reads a uniform JSONL file.
func LoadJSONL(path string) ([]Example, error) {
	return readFile(path, "benchmark data", ReadJSONL)
}

// eachJSONLine calls fn on each non-blank line of a JSONL stream, trimmed;
// an error is reported with name and the line number.
func eachJSONLine(r io.Reader, name string, fn func(line []byte) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1<<20), maxLine)
	n := 0
	for sc.Scan() {
		n++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		// encoding/json would read each bad byte as U+FFFD.
		if err := layouts.CheckUTF8(name, n, b); err != nil {
			return err
		}
		if err := fn(b); err != nil {
			return fmt.Errorf("%s:%d: %w", name, n, err)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("reading %s after line %d: %w (lines are limited to %d bytes)", name, n, err, maxLine)
	}
	return nil
}

// readFile opens path and reads it with read; what names the file in the
// error when it cannot be opened.
func readFile[T any](path, what string, read func(io.Reader, string) ([]T, error)) ([]T, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", what, err)
	}
	defer f.Close()
	return read(f, path)
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
