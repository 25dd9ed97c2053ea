package ablate

import (
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"
	"sort"
	"strings"
)

// Table is a study's result: one row per arm.
type Table struct {
	Study     string          `json:"study"`
	Seeds     []uint64        `json:"seeds"`
	Bootstrap BootstrapConfig `json:"bootstrap"`
	// HeldOut is the number of held-out examples each checkpoint answered.
	HeldOut int        `json:"heldout_examples"`
	Arms    []ArmTable `json:"arms"`
}

// ArmTable is one arm's row: every metric summarised over seeds.
type ArmTable struct {
	Arm string `json:"arm"`
	// Metrics maps a metric name to its summary over seeds; WallSeconds
	// summarises each arm-seed's wall time.
	Metrics     map[string]Summary `json:"metrics"`
	WallSeconds Summary            `json:"wall_seconds"`
	// PerSeed holds the raw values, by metric, in the order of Seeds.
	PerSeed map[string][]float64 `json:"per_seed"`
}

// Aggregate summarises the results of a study per arm.
func Aggregate(s *Study, results []Result, heldOut int) Table {
	t := Table{Study: s.Name, Seeds: s.Seeds, Bootstrap: s.Bootstrap, HeldOut: heldOut}
	for _, a := range s.Arms {
		row := ArmTable{Arm: a.Name, Metrics: map[string]Summary{}, PerSeed: map[string][]float64{}}
		var wall []float64
		for _, seed := range s.Seeds {
			for _, r := range results {
				if r.Arm != a.Name || r.Seed != seed {
					continue
				}
				wall = append(wall, r.WallSeconds)
				for k, v := range r.Metrics {
					row.PerSeed[k] = append(row.PerSeed[k], v)
				}
			}
		}
		for k, xs := range row.PerSeed {
			row.Metrics[k] = Summarize(xs, s.Bootstrap)
		}
		row.WallSeconds = Summarize(wall, s.Bootstrap)
		t.Arms = append(t.Arms, row)
	}
	return t
}

// tableColumns are the metrics the markdown table shows, in order, with
// their headings; the JSON keeps every metric.
var tableColumns = []struct{ key, head string }{
	{"heldout/accuracy", "held-out accuracy"},
	{"heldout/program_share", "program share"},
	{HardCoded, "hard-coded"},
	{ComputesNothing, "computes nothing"},
	{TextTruncated, "text on truncated"},
}

// Markdown writes the table: per arm, each metric as mean ± sd [95% CI]
// over seeds, then the benchmark metrics when there are any, and the wall
// time per arm-seed.
func (t Table) Markdown() string {
	cols := append([]struct{ key, head string }(nil), tableColumns...)
	extra := map[string]bool{}
	for _, a := range t.Arms {
		for k := range a.Metrics {
			if !strings.HasPrefix(k, "heldout/") && !strings.HasPrefix(k, "hacking/") && strings.HasSuffix(k, "/accuracy") {
				extra[k] = true
			}
		}
	}
	var ek []string
	for k := range extra {
		ek = append(ek, k)
	}
	sort.Strings(ek)
	for _, k := range ek {
		cols = append(cols, struct{ key, head string }{k, k})
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Study %s: %d seeds (%s), %d held-out questions; mean ± sd [95%% bootstrap CI over seeds, %d resamples, seed %d].\n\n",
		t.Study, len(t.Seeds), joinSeeds(t.Seeds), t.HeldOut, t.Bootstrap.Resamples, t.Bootstrap.Seed)
	b.WriteString("| arm |")
	for _, c := range cols {
		b.WriteString(" " + c.head + " |")
	}
	b.WriteString(" wall time per run (s) |\n|---|")
	for range cols {
		b.WriteString("---|")
	}
	b.WriteString("---|\n")
	for _, a := range t.Arms {
		b.WriteString("| " + a.Arm + " |")
		for _, c := range cols {
			s, ok := a.Metrics[c.key]
			if !ok {
				b.WriteString(" – |")
				continue
			}
			b.WriteString(" " + formatSummary(s, 3) + " |")
		}
		b.WriteString(" " + formatSummary(a.WallSeconds, 0) + " |\n")
	}
	return b.String()
}

func formatSummary(s Summary, prec int) string {
	if s.N == 0 || math.IsNaN(s.Mean) {
		return "–"
	}
	return fmt.Sprintf("%.*f ± %.*f [%.*f, %.*f]", prec, s.Mean, prec, s.SD, prec, s.Lo, prec, s.Hi)
}

func joinSeeds(seeds []uint64) string {
	parts := make([]string, len(seeds))
	for i, s := range seeds {
		parts[i] = fmt.Sprint(s)
	}
	return strings.Join(parts, ", ")
}

// WriteFiles writes table.json and table.md into dir.
func (t Table) WriteFiles(dir string) error {
	b, err := json.MarshalIndent(t, "", "  ")
	if err != nil {
		return err
	}
	if err := writeAtomic(filepath.Join(dir, "table.json"), append(b, '\n')); err != nil {
		return err
	}
	return writeAtomic(filepath.Join(dir, "table.md"), []byte(t.Markdown()))
}
