package eval

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"

	"tabler1/answer"
	"tabler1/layouts"
)

// LoadNative reads one split of a benchmark from its native files under
// root, laid out as the benchmark's repository is (../shared/data/raw
// mirrors them). The examples carry the same fields as the uniform JSONL's
// records of the same ids. split is the native split name: a WTQ data file
// ("pristine-unseen-tables", "training", ...), TabFact "val"/"test"/"train",
// HiTab/FeTaQA "dev"/"test"/"train", TAT-QA "dev"/"test_gold"/"train"; AIT-QA and TableBench have one
// file and ignore it.
func LoadNative(bench, root, split string) ([]Example, error) {
	b, err := lookup(bench)
	if err != nil {
		return nil, err
	}
	if b.Native == nil {
		return nil, fmt.Errorf("benchmark %q has no native loader: give its data as uniform JSONL", bench)
	}
	if split == "" {
		split = DefaultSplit(bench)
	}
	exs, err := b.Native(root, split)
	if err != nil {
		return nil, fmt.Errorf("loading %s (%s) from %s: %w", bench, split, root, err)
	}
	return exs, nil
}

// tableOf converts a uniform table object through layouts.UniformTable, as
// the uniform loader does, so both loaders give the same Table.
func tableOf(u layouts.UniformTable) (*layouts.Table, error) {
	return u.Table()
}

// readJSONFile decodes a JSON file keeping numbers as json.Number.
func readJSONFile(path string) (any, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	v, err := decodeAny(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return v, nil
}

// readJSONLFile decodes each non-blank line of a JSONL file into an object.
func readJSONLFile(path string) ([]map[string]any, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []map[string]any
	err = eachJSONLine(f, path, func(b []byte) error {
		v, err := decodeAny(b)
		if err != nil {
			return err
		}
		m, ok := v.(map[string]any)
		if !ok {
			return fmt.Errorf("not a JSON object")
		}
		out = append(out, m)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// numberString renders a JSON number the way the uniform JSONL does: an
// integral value without a fraction, anything else as Python's repr.
func numberString(v any) string {
	switch x := v.(type) {
	case json.Number:
		f, err := strconv.ParseFloat(x.String(), 64)
		if err != nil {
			return x.String()
		}
		if f == math.Trunc(f) && math.Abs(f) < 1e15 {
			return strconv.FormatFloat(f, 'f', -1, 64)
		}
		return answer.PyFloatRepr(f)
	case nil:
		return ""
	}
	return scalarString(v)
}

func str(m map[string]any, k string) string {
	s, _ := m[k].(string)
	return s
}

// stringGrid reads a JSON list of lists as strings (numbers rendered by
// numberString, null as "").
func stringGrid(v any) ([][]string, error) {
	rows, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("table is not a list of rows")
	}
	out := make([][]string, len(rows))
	for i, r := range rows {
		cells, ok := r.([]any)
		if !ok {
			return nil, fmt.Errorf("table row %d is not a list", i)
		}
		out[i] = make([]string, len(cells))
		for j, c := range cells {
			out[i][j] = numberString(c)
		}
	}
	return out, nil
}

func stringList(v any) []string {
	l, _ := v.([]any)
	out := make([]string, len(l))
	for i, e := range l {
		out[i] = numberString(e)
	}
	return out
}

func joinPath(root string, parts ...string) string {
	return filepath.Join(append([]string{root}, parts...)...)
}
