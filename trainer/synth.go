package trainer

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"

	"tabler1/episode"
	"tabler1/layouts"
	"tabler1/sandbox/execution"
)

// Item is one training example: a table question (with gold answers and,
// where known, a gold program) or an LTI task (Table → Target).
type Item struct {
	ID       string         `json:"id"`
	Source   string         `json:"source"`
	Task     episode.Task   `json:"task"`
	Question string         `json:"question"`
	Table    *layouts.Table `json:"table"`
	Answers  []string       `json:"answers,omitempty"`
	// GoldProgram is a pandas program printing the gold answer (or, for an
	// LTI task, leaving Target in df); the SFT stages imitate it.
	GoldProgram string `json:"gold_program,omitempty"`
	// Template is the synthetic template that made the item.
	Template string `json:"template,omitempty"`
	// Target is the transformed table of an LTI task.
	Target *layouts.Table `json:"target,omitempty"`
	// Prompt and Completion are a distilled record's (rollout.SFTRecord):
	// an SFT stage trains on them as they are, without the Format.
	Prompt     string `json:"prompt,omitempty"`
	Completion string `json:"completion,omitempty"`
}

// sftPair is what an SFT stage trains on for it: a distilled record's
// prompt and completion, or the Format's prompt and target.
func sftPair(f Format, it Item) (prompt, completion string) {
	if it.Completion != "" {
		return it.Prompt, it.Completion
	}
	return f.Prompt(it, ""), f.Target(it)
}

// Synthetic question templates.
const (
	SynthExtremum   = "extremum"
	SynthCount      = "count"
	SynthLookup     = "lookup"
	SynthDifference = "difference"
)

// SynthTemplates lists the synthetic templates.
var SynthTemplates = []string{SynthExtremum, SynthCount, SynthLookup, SynthDifference}

func isSynthTemplate(t string) bool { return slices.Contains(SynthTemplates, t) }

var (
	synthNames   = []string{"ann", "bob", "cat", "dan", "eve", "fay", "gus", "hal", "ivy", "jon", "kim", "lea", "max", "ned", "oli", "pam", "ray", "sue", "tom", "uma"}
	synthColumns = []string{"age", "score", "wins", "goals", "price", "points"}
)

// Synthesize makes n questions over tiny random tables, a pure function of
// seed and cfg. Each table has a text "name" column with distinct names and
// two integer columns (names that are Python identifiers); each question
// comes with its gold answer and a short gold program that prints it
// (attribute access, df.age, keeps programs short for a byte-level model).
func Synthesize(seed uint64, n int, cfg SyntheticConfig) []Item {
	templates := cfg.Templates
	if len(templates) == 0 {
		templates = SynthTemplates
	}
	minRows, maxRows := max(cfg.MinRows, 3), max(cfg.MaxRows, cfg.MinRows, 3)
	if maxRows > len(synthNames) {
		maxRows = len(synthNames)
	}
	minRows = min(minRows, maxRows)
	items := make([]Item, 0, n)
	for i := 0; i < n; i++ {
		r := rand.New(rand.NewPCG(seed, uint64(i)))
		t := synthTable(r, minRows+r.IntN(maxRows-minRows+1), cfg.Columns)
		tpl := templates[r.IntN(len(templates))]
		it := synthQuestion(r, t, tpl)
		it.ID = fmt.Sprintf("synth-%d-%d", seed, i)
		it.Source = "synthetic"
		it.Task = episode.TaskQA
		it.Table = t
		it.Template = tpl
		items = append(items, it)
	}
	return items
}

func synthTable(r *rand.Rand, rows int, colPool []string) *layouts.Table {
	names := slices.Clone(synthNames)
	r.Shuffle(len(names), func(i, j int) { names[i], names[j] = names[j], names[i] })
	cols := slices.Clone(synthColumns)
	if len(colPool) >= 2 {
		cols = slices.Clone(colPool)
	}
	r.Shuffle(len(cols), func(i, j int) { cols[i], cols[j] = cols[j], cols[i] })
	t := &layouts.Table{Header: [][]string{{"name", cols[0], cols[1]}}}
	for i := 0; i < rows; i++ {
		t.Rows = append(t.Rows, []string{names[i], strconv.Itoa(1 + r.IntN(99)), strconv.Itoa(1 + r.IntN(99))})
	}
	return t
}

func synthQuestion(r *rand.Rand, t *layouts.Table, tpl string) Item {
	col := 1 + r.IntN(2)
	cname := t.Header[0][col]
	vals := make([]int, len(t.Rows))
	for i, row := range t.Rows {
		vals[i], _ = strconv.Atoi(row[col])
	}
	switch tpl {
	case SynthExtremum:
		hi := r.IntN(2) == 0
		// Make the extremum unique so the answer is one name.
		best := 0
		for i, v := range vals {
			if (hi && v > vals[best]) || (!hi && v < vals[best]) {
				best = i
			}
		}
		for i := range vals {
			if i != best && vals[i] == vals[best] {
				if hi {
					vals[best]++
				} else {
					vals[best]--
				}
				t.Rows[best][col] = strconv.Itoa(vals[best])
				break
			}
		}
		word, fn := "highest", "idxmax"
		if !hi {
			word, fn = "lowest", "idxmin"
		}
		return Item{
			Question:    fmt.Sprintf("which name has the %s %s?", word, cname),
			Answers:     []string{t.Rows[best][0]},
			GoldProgram: fmt.Sprintf("print(df.name[df.%s.%s()])", cname, fn),
		}
	case SynthCount:
		th := 10 * (1 + r.IntN(9))
		n := 0
		for _, v := range vals {
			if v > th {
				n++
			}
		}
		return Item{
			Question:    fmt.Sprintf("how many rows have %s above %d?", cname, th),
			Answers:     []string{strconv.Itoa(n)},
			GoldProgram: fmt.Sprintf("print((df.%s>%d).sum())", cname, th),
		}
	case SynthLookup:
		i := r.IntN(len(t.Rows))
		name := t.Rows[i][0]
		return Item{
			Question:    fmt.Sprintf("what is the %s of %s?", cname, name),
			Answers:     []string{t.Rows[i][col]},
			GoldProgram: fmt.Sprintf("print(df[df.name=='%s'].%s.iloc[0])", name, cname),
		}
	default: // SynthDifference
		i := r.IntN(len(t.Rows))
		j := (i + 1 + r.IntN(len(t.Rows)-1)) % len(t.Rows)
		a, b := t.Rows[i][0], t.Rows[j][0]
		return Item{
			Question:    fmt.Sprintf("what is the %s of %s minus the %s of %s?", cname, a, cname, b),
			Answers:     []string{strconv.Itoa(vals[i] - vals[j])},
			GoldProgram: fmt.Sprintf("s=df.set_index('name').%s\nprint(s['%s']-s['%s'])", cname, a, b),
		}
	}
}

// VerifyGold runs every item's gold program in the executor and returns the
// items whose program printed (the first of) their gold answers, plus a
// description of each dropped item. A sandbox failure is an error: an
// unverified item is never kept.
func VerifyGold(ctx context.Context, ex execution.Executor, items []Item) (kept []Item, dropped []string, err error) {
	for _, it := range items {
		if it.GoldProgram == "" || len(it.Answers) == 0 {
			dropped = append(dropped, it.ID+": no gold program or answer")
			continue
		}
		res := ex.Run(ctx, execution.Job{Code: it.GoldProgram, Table: it.Table})
		if res.Status == execution.StatusSandboxError {
			return nil, nil, fmt.Errorf("verifying gold program of %s: sandbox failed: %s", it.ID, res.Detail)
		}
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		if res.Status != execution.StatusOK || strings.TrimSpace(res.Answer()) != it.Answers[0] {
			dropped = append(dropped, fmt.Sprintf("%s: gold program gave %s %q, want %q", it.ID, res.Status, res.Answer(), it.Answers[0]))
			continue
		}
		kept = append(kept, it)
	}
	return kept, dropped, nil
}
