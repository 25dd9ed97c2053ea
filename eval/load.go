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
// <bench>.<split>.jsonl when split is given, else every such file. AIT-QA
// has a single file: its split "train" or "test" is the seeded 80/20
// AITQASplit that training and evaluation share.
func LoadData(bench, path, split string) ([]Example, error) {
	exs, err := loadData(bench, path, split)
	if err != nil || bench != AITQA {
		return exs, err
	}
	return applyAITQASplit(exs, split), nil
}

func loadData(bench, path, split string) ([]Example, error) {
	if bench == AITQA && (split == "train" || split == "test") {
		split = "" // AIT-QA has one file; its train/test split is AITQASplit
	}
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
