package eval

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Report is an eval's outcome: per benchmark, the official metrics, the
// accuracy per paradigm, and the execution failures with examples.
type Report struct {
	// Meta describes the run (model, mode, sampling); set by the caller.
	Meta       map[string]any `json:"meta,omitempty"`
	K          int            `json:"k"`
	Benchmarks []BenchReport  `json:"benchmarks"`
	// Samples are every scored sample, for the prediction files.
	Samples []Sample `json:"-"`
}

// BenchReport is one benchmark's part of a Report.
type BenchReport struct {
	Benchmark string `json:"benchmark"`
	N         int    `json:"n"`
	Samples   int    `json:"samples"`
	// Metrics are the benchmark's official metrics, averaged over the K
	// sample indices (so with K > 1, "accuracy" is avg@k).
	Metrics Metrics `json:"metrics"`
	// PassAtK is the fraction of examples with at least one correct sample,
	// AvgAtK the mean score over all samples (K > 1 only).
	PassAtK float64 `json:"pass_at_k,omitempty"`
	AvgAtK  float64 `json:"avg_at_k,omitempty"`
	// PassAt holds the unbiased estimate of pass@k (see passAt) for k = 1,
	// the powers of two below K, and K, keyed by k (K > 1 only). A missing
	// sample counts as wrong; PassAt[K] equals PassAtK.
	PassAt map[int]float64 `json:"pass_at,omitempty"`
	// Paradigms are the samples by paradigm (program, text, invalid).
	Paradigms map[string]ParadigmStats `json:"paradigms"`
	// FailedRequests counts the samples whose request failed
	// (request_error and request_rejected): no answer came back at all.
	FailedRequests int `json:"failed_requests"`
	// Failures counts samples by failure kind; FailureExamples keeps up to
	// three of each.
	Failures        map[string]int              `json:"failures,omitempty"`
	FailureExamples map[string][]FailureExample `json:"failure_examples,omitempty"`
	// WrongAnswers are up to wrongAnswersKept samples that answered (no
	// failure) but wrongly, with the gold answer.
	WrongAnswers []WrongAnswer `json:"wrong_answers,omitempty"`
}

// WrongAnswer is a sample that gave an answer, and the wrong one.
type WrongAnswer struct {
	ID         string `json:"id"`
	Question   string `json:"question"`
	Gold       string `json:"gold"`
	Prediction string `json:"prediction"`
	Paradigm   string `json:"paradigm"`
	Program    string `json:"program,omitempty"`
}

const wrongAnswersKept = 20

func wrongAnswer(ex *Example, s *Sample) WrongAnswer {
	gold := strings.Join(ex.Answer, " | ")
	if ex.Label >= 0 {
		gold = map[int]string{0: "refuted", 1: "entailed"}[ex.Label]
	}
	return WrongAnswer{ID: ex.ID, Question: ex.Question, Gold: gold, Prediction: strings.Join(s.Prediction.Items(), " | "),
		Paradigm: s.Paradigm, Program: s.Program}
}

// ParadigmStats are the samples of one paradigm.
type ParadigmStats struct {
	Samples  int     `json:"samples"`
	Share    float64 `json:"share"`
	Accuracy float64 `json:"accuracy"`
}

// FailureExample is one failed sample, shortened for the report.
type FailureExample struct {
	ID       string `json:"id"`
	Question string `json:"question"`
	Program  string `json:"program,omitempty"`
	Detail   string `json:"detail,omitempty"`
	Output   string `json:"output,omitempty"`
}

const failureExamplesPerKind = 3

// BuildReport scores samples per benchmark. Examples with no sample at an
// index count as an empty (wrong) prediction there.
func BuildReport(exs []Example, samples []Sample, k int) *Report {
	k = max(k, 1)
	rep := &Report{K: k, Samples: samples}
	type key struct {
		bench, id string
		idx       int
	}
	byKey := make(map[key]*Sample, len(samples))
	for i := range samples {
		s := &samples[i]
		byKey[key{s.Bench, s.ID, s.Index}] = s
	}
	names, groups := GroupByBenchmark(exs)
	for _, bench := range names {
		gexs := groups[bench]
		br := BenchReport{Benchmark: bench, N: len(gexs), Metrics: Metrics{}, Paradigms: map[string]ParadigmStats{},
			Failures: map[string]int{}, FailureExamples: map[string][]FailureExample{}}
		passed := 0
		scoreSum := 0.0
		paraN, paraScore := map[string]int{}, map[string]float64{}
		for j := 0; j < k; j++ {
			scored := make([]Scored, len(gexs))
			for i := range gexs {
				ex := &gexs[i]
				if s := byKey[key{bench, ex.ID, j}]; s != nil {
					scored[i] = Scored{Example: ex, Prediction: s.Prediction, Outcome: s.Outcome}
				} else {
					o, _ := ScoreExample(ex, Prediction{ID: ex.ID})
					scored[i] = Scored{Example: ex, Prediction: Prediction{ID: ex.ID}, Outcome: o}
				}
			}
			m, _ := Summarize(bench, scored)
			for name, v := range m {
				br.Metrics[name] += v / float64(k)
			}
		}
		ks := passAtKs(k)
		passSum := make([]float64, len(ks))
		for i := range gexs {
			ex := &gexs[i]
			correct := 0
			for j := 0; j < k; j++ {
				s := byKey[key{bench, ex.ID, j}]
				if s == nil {
					continue
				}
				br.Samples++
				if s.Outcome.Correct {
					correct++
				}
				scoreSum += s.Outcome.Score
				p := s.Paradigm
				if p == "" {
					p = "invalid"
				}
				paraN[p]++
				paraScore[p] += s.Outcome.Score
				if s.Failure == "" && !s.Outcome.Correct && len(br.WrongAnswers) < wrongAnswersKept {
					br.WrongAnswers = append(br.WrongAnswers, wrongAnswer(ex, s))
				}
				if s.Failure == FailRequest || s.Failure == FailRejected {
					br.FailedRequests++
				}
				if s.Failure != "" {
					br.Failures[s.Failure]++
					if fes := br.FailureExamples[s.Failure]; len(fes) < failureExamplesPerKind && (len(fes) == 0 || fes[len(fes)-1].ID != ex.ID) {
						br.FailureExamples[s.Failure] = append(br.FailureExamples[s.Failure], failureExample(ex, s))
					}
				}
			}
			if correct > 0 {
				passed++
			}
			for x, kk := range ks {
				passSum[x] += passAt(k, correct, kk)
			}
		}
		br.Metrics["n"] = float64(len(gexs))
		if k > 1 && len(gexs) > 0 {
			br.PassAtK = float64(passed) / float64(len(gexs))
			br.PassAt = make(map[int]float64, len(ks))
			for x, kk := range ks {
				br.PassAt[kk] = passSum[x] / float64(len(gexs))
			}
			if br.Samples > 0 {
				br.AvgAtK = scoreSum / float64(len(gexs)*k)
			}
		}
		for p, n := range paraN {
			br.Paradigms[p] = ParadigmStats{Samples: n, Share: float64(n) / float64(max(br.Samples, 1)), Accuracy: paraScore[p] / float64(n)}
		}
		rep.Benchmarks = append(rep.Benchmarks, br)
	}
	return rep
}

func failureExample(ex *Example, s *Sample) FailureExample {
	fe := FailureExample{ID: ex.ID, Question: clip(ex.Question, 300), Program: clip(s.Program, 1500)}
	if s.Exec != nil {
		d := s.Exec.Detail
		if s.Exec.ExceptionType != "" {
			d = strings.TrimSpace(fmt.Sprintf("%s (line %d) %s", s.Exec.ExceptionType, s.Exec.ErrorLine, d))
		}
		if d == "" {
			d = lastLines(s.Exec.Stderr, 3)
		}
		fe.Detail = d // in full: a clipped traceback hides its cause
		fe.Output = clip(s.Exec.Stdout, 300)
	}
	if s.Program == "" {
		fe.Output = clip(s.Completion, 600)
	}
	return fe
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// Report file names in an output directory.
const (
	ReportJSON     = "report.json"
	ReportMarkdown = "report.md"
	ReportHTML     = "report.html"
)

// WriteFiles writes report.json, report.md and report.html into dir.
func (r *Report) WriteFiles(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("writing the report: %w", err)
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding report.json: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, ReportJSON), append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("writing the report: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, ReportMarkdown), []byte(r.Markdown()), 0o644); err != nil {
		return fmt.Errorf("writing the report: %w", err)
	}
	html, err := r.HTML()
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, ReportHTML), []byte(html), 0o644); err != nil {
		return fmt.Errorf("writing the report: %w", err)
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// FailedRequests sums the benchmarks' failed requests and samples.
func (r *Report) FailedRequests() (failed, samples int) {
	for _, br := range r.Benchmarks {
		failed += br.FailedRequests
		samples += br.Samples
	}
	return failed, samples
}

// Markdown renders the report as a markdown page.
func (r *Report) Markdown() string {
	var b strings.Builder
	b.WriteString("# tabler1 eval report\n\n")
	for _, k := range sortedKeys(r.Meta) {
		fmt.Fprintf(&b, "- %s: %v\n", k, r.Meta[k])
	}
	fmt.Fprintf(&b, "- samples per example (k): %d\n", r.K)
	failed, total := r.FailedRequests()
	fmt.Fprintf(&b, "- failed requests (no answer from the server): %d of %d samples\n\n", failed, total)
	b.WriteString("## Accuracy\n\n| benchmark | n | accuracy | program | text | invalid |")
	if r.K > 1 {
		b.WriteString(" pass@1 | pass@k | avg@k |")
	}
	b.WriteString(" other metrics |\n|---|---|---|---|---|---|")
	if r.K > 1 {
		b.WriteString("---|---|---|")
	}
	b.WriteString("---|\n")
	for _, br := range r.Benchmarks {
		fmt.Fprintf(&b, "| %s | %d | %.2f |", br.Benchmark, br.N, 100*br.Metrics["accuracy"])
		for _, p := range []string{"program", "text", "invalid"} {
			if st, ok := br.Paradigms[p]; ok {
				fmt.Fprintf(&b, " %.2f (%d) |", 100*st.Accuracy, st.Samples)
			} else {
				b.WriteString(" – |")
			}
		}
		if r.K > 1 {
			fmt.Fprintf(&b, " %.2f | %.2f | %.2f |", 100*br.PassAt[1], 100*br.PassAtK, 100*br.AvgAtK)
		}
		var other []string
		for _, k := range sortedKeys(br.Metrics) {
			if k == "accuracy" || k == "n" || k == "unknown" || k == "missing" || strings.Contains(k, "/") {
				continue
			}
			other = append(other, fmt.Sprintf("%s %.4g", k, br.Metrics[k]))
		}
		fmt.Fprintf(&b, " %s |\n", strings.Join(other, ", "))
	}
	b.WriteString("\nParadigm cells: accuracy on the samples answered in that paradigm (number of samples).\n")
	if r.K > 1 {
		b.WriteString("pass@1 is the unbiased estimate from all k samples (Chen et al. 2021); report.json has it for every power of two up to k.\n")
	}
	b.WriteString("\n## Execution failures\n\n")
	anyFail := false
	for _, br := range r.Benchmarks {
		if len(br.Failures) == 0 {
			continue
		}
		anyFail = true
		fmt.Fprintf(&b, "### %s\n\n| failure | samples |\n|---|---|\n", br.Benchmark)
		for _, k := range sortedKeys(br.Failures) {
			fmt.Fprintf(&b, "| %s | %d |\n", k, br.Failures[k])
		}
		b.WriteString("\n")
		for _, k := range sortedKeys(br.FailureExamples) {
			for _, fe := range br.FailureExamples[k] {
				fmt.Fprintf(&b, "- **%s** `%s`: %s\n", k, fe.ID, oneLine(fe.Question))
				if fe.Detail != "" {
					fmt.Fprintf(&b, "  - detail: %s\n", oneLine(fe.Detail))
				}
				if fe.Program != "" {
					fmt.Fprintf(&b, "\n  ```python\n%s\n  ```\n", indent(fe.Program, "  "))
				} else if fe.Output != "" {
					fmt.Fprintf(&b, "  - output: %s\n", oneLine(fe.Output))
				}
			}
		}
		b.WriteString("\n")
	}
	if !anyFail {
		b.WriteString("None.\n")
	}
	return b.String()
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func indent(s, pre string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i := range lines {
		lines[i] = pre + lines[i]
	}
	return strings.Join(lines, "\n")
}
