package eval

import (
	"fmt"
	"os"
	"path/filepath"
)

// LoadData loads a benchmark's examples from path: a uniform JSONL file (only
// the records of bench are kept), or a directory holding the benchmark's
// native files (read with LoadNative and split). A directory that holds
// <bench>.<anything>.jsonl files instead is read as uniform JSONL:
// <bench>.<split>.jsonl when split is given, else every such file. A
// benchmark that ships one file (AIT-QA) reads it whole for the split
// "train" or "test" and keeps that part by its Split (for AIT-QA the
// seeded 80/20 AITQASplit that training and evaluation share).
func LoadData(bench, path, split string) ([]Example, error) {
	b, err := lookup(bench)
	if err != nil {
		return nil, err
	}
	if b.Split == nil || (split != "train" && split != "test") {
		return loadData(bench, path, split)
	}
	exs, err := loadData(bench, path, "")
	if err != nil {
		return nil, err
	}
	return b.Split(exs, split), nil
}

// LoadBenchmarks loads each named benchmark from path with LoadData and
// keeps a SeededSubset of n examples of each (n <= 0: all), in the order
// of benches.
func LoadBenchmarks(benches []string, path, split string, n int, seed uint64) ([]Example, error) {
	var out []Example
	for _, b := range benches {
		exs, err := LoadData(b, path, split)
		if err != nil {
			return nil, err
		}
		if n > 0 {
			exs = SeededSubset(exs, n, seed)
		}
		out = append(out, exs...)
	}
	return out, nil
}

func loadData(bench, path, split string) ([]Example, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("benchmark data: %w", err)
	}
	if !st.IsDir() {
		all, err := LoadJSONL(path)
		if err != nil {
			return nil, err
		}
		var out []Example
		for _, e := range all {
			if e.Benchmark == bench {
				out = append(out, e)
			}
		}
		if len(out) == 0 {
			return nil, fmt.Errorf("%s has no %s records (%d records of other benchmarks)", path, bench, len(all))
		}
		return out, nil
	}
	pattern := bench + ".*.jsonl"
	if split != "" {
		pattern = bench + "." + split + ".jsonl"
	}
	files, _ := filepath.Glob(filepath.Join(path, pattern))
	if len(files) == 0 {
		return LoadNative(bench, path, split)
	}
	var out []Example
	for _, f := range files {
		exs, err := LoadJSONL(f)
		if err != nil {
			return nil, err
		}
		for _, e := range exs {
			if e.Benchmark == bench {
				out = append(out, e)
			}
		}
	}
	return out, nil
}
