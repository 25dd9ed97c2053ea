package dash

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"

	"tabler1/eval"
)

// evalReport is an eval report found in a run directory.
type evalReport struct {
	// Path is the report's directory, relative to the run directory.
	Path       string             `json:"path"`
	Meta       map[string]any     `json:"meta,omitempty"`
	Benchmarks []eval.BenchReport `json:"benchmarks"`
}

// findReports walks a run directory for eval reports (report.json), those
// of evaluations during training and of its checkpoints; rollouts and
// TensorBoard files are not searched.
func findReports(dir string) ([]evalReport, error) {
	out := []evalReport{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if path == dir {
				return err
			}
			return nil // a directory that vanished or cannot be read
		}
		if d.IsDir() && path != dir && (d.Name() == "rollouts" || d.Name() == "tb") {
			return filepath.SkipDir
		}
		if d.IsDir() || d.Name() != eval.ReportJSON {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return nil
		}
		var rep eval.Report
		if json.Unmarshal(b, &rep) != nil {
			return nil // being written, or not an eval report
		}
		rel, _ := filepath.Rel(dir, filepath.Dir(path))
		for i := range rep.Benchmarks {
			rep.Benchmarks[i].FailureExamples = nil
		}
		out = append(out, evalReport{Path: rel, Meta: rep.Meta, Benchmarks: rep.Benchmarks})
		return nil
	})
	return out, err
}
