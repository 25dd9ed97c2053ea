package main

import (
	"strings"

	"tabler1/eval"
)

// benchmarksUsage is the line of a command's help that lists the
// benchmarks of eval's table.
func benchmarksUsage() string {
	return "Benchmarks: " + strings.Join(eval.Benchmarks(), ", ") + " (the paper's: " + strings.Join(eval.PaperBenchmarks(), ", ") + ")."
}

// parseBenchmarks reads a --bench list; an unknown name is a usage error.
func parseBenchmarks(list string) ([]string, error) {
	names, err := eval.ParseBenchmarks(list)
	if err != nil {
		return nil, usageError{err.Error()}
	}
	return names, nil
}
