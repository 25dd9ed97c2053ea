package eval

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"tabler1/layouts"
)

// The benchmark names used in the uniform JSONL, on the command line and in
// reports.
const (
	WTQ        = "wtq"
	TabFact    = "tabfact"
	HiTab      = "hitab"
	AITQA      = "aitqa"
	FeTaQA     = "fetaqa"
	TableBench = "tablebench"
	TATQA      = "tatqa"
)

// Example is one benchmark question with its table and gold answer, as read
// from the uniform JSONL or from a benchmark's native files.
type Example struct {
	ID        string
	Benchmark string
	Split     string
	Task      string
	// Question is the question, or for TabFact the statement to verify.
	Question string
	Table    *layouts.Table
	// Paragraphs is the text that goes with the table (TAT-QA).
	Paragraphs []string
	// Answer is the gold answer as strings.
	Answer []string
	// Label is TabFact's gold label: 1 entailed, 0 refuted; -1 elsewhere.
	Label int
	// Meta holds the benchmark-specific fields of the uniform schema
	// (target_canon, answer_raw, scale, qsubtype, ...), numbers kept as
	// json.Number so that an int stays distinguishable from a float.
	Meta map[string]any
}

// MetaString is Meta[key] as a string, or "" when absent or not a string.
func (e *Example) MetaString(key string) string {
	s, _ := e.Meta[key].(string)
	return s
}

// MetaStrings is Meta[key] as a list of strings; non-string items are
// rendered with fmt. ok is false when the key is absent or not a list.
func (e *Example) MetaStrings(key string) (out []string, ok bool) {
	l, ok := e.Meta[key].([]any)
	if !ok {
		return nil, false
	}
	for _, v := range l {
		if s, isStr := v.(string); isStr {
			out = append(out, s)
		} else {
			out = append(out, fmt.Sprint(v))
		}
	}
	return out, true
}

// decodeAny decodes JSON keeping numbers as json.Number.
func decodeAny(raw []byte) (any, error) {
	d := json.NewDecoder(strings.NewReader(string(raw)))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

// indexByID maps each example's ID to its position, reporting the first
// duplicate.
func indexByID(exs []Example) (map[string]int, error) {
	idx := make(map[string]int, len(exs))
	for i, e := range exs {
		if _, dup := idx[e.ID]; dup {
			return nil, fmt.Errorf("example id %q appears twice in benchmark %q: ids must be unique", e.ID, e.Benchmark)
		}
		idx[e.ID] = i
	}
	return idx, nil
}

// GroupByBenchmark splits examples by benchmark, in the order of
// [Benchmarks] then by name for unknown ones.
func GroupByBenchmark(exs []Example) (names []string, groups map[string][]Example) {
	groups = map[string][]Example{}
	for _, e := range exs {
		groups[e.Benchmark] = append(groups[e.Benchmark], e)
	}
	for _, b := range Benchmarks() {
		if _, ok := groups[b]; ok {
			names = append(names, b)
		}
	}
	var extra []string
	for b := range groups {
		if !KnownBenchmark(b) {
			extra = append(extra, b)
		}
	}
	sort.Strings(extra)
	return append(names, extra...), groups
}
