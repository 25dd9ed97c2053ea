package dash

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"tabler1/episode"
)

func rolloutPath(dir string, step int) string {
	return filepath.Join(dir, "rollouts", "step-"+strconv.Itoa(step)+".jsonl")
}

// rolloutSteps lists the steps that have a rollout log, in order.
func rolloutSteps(dir string) ([]int, error) {
	ents, err := os.ReadDir(filepath.Join(dir, "rollouts"))
	if errors.Is(err, os.ErrNotExist) {
		return []int{}, nil
	}
	if err != nil {
		return nil, err
	}
	steps := make([]int, 0, len(ents))
	for _, e := range ents {
		n, ok := strings.CutPrefix(e.Name(), "step-")
		if n, ok2 := strings.CutSuffix(n, ".jsonl"); ok && ok2 {
			if s, err := strconv.Atoi(n); err == nil {
				steps = append(steps, s)
			}
		}
	}
	slices.Sort(steps)
	return steps, nil
}

// Penalties the browser filters on.
const (
	// penaltyPrint: a program printing a constant (hard-coded answer).
	penaltyPrint = "print"
	// penaltyNothing: any computes-nothing verdict.
	penaltyNothing = "nothing"
	// penaltyTruncated: a text answer to a question that needs the rows the
	// preview cut off.
	penaltyTruncated = "truncated"
)

// summary is what the browser's list shows of a sample, kept per step in
// the index; the full record is read back by offset.
type summary struct {
	I          int                `json:"i"`
	Group      int                `json:"group"`
	ItemID     string             `json:"item_id"`
	Paradigm   string             `json:"paradigm"`
	Status     string             `json:"status"`
	Reward     float64            `json:"reward"`
	Advantage  float64            `json:"advantage"`
	Correct    bool               `json:"correct"`
	Answer     string             `json:"answer"`
	Components map[string]float64 `json:"components,omitempty"`
	Penalties  []string           `json:"penalties,omitempty"`
	ZeroVar    bool               `json:"zero_variance"`

	off int64
	n   int
}

// stepIndex is one rollout file's index: where each sample's line starts
// and its summary.
type stepIndex struct {
	path    string
	size    int64
	mod     time.Time
	samples []summary
}

// fresh says whether the file is unchanged since it was indexed.
func (ix *stepIndex) fresh() bool {
	fi, err := os.Stat(ix.path)
	return err == nil && fi.Size() == ix.size && fi.ModTime().Equal(ix.mod)
}

// indexStep reads a rollout file once, keeping offsets and summaries; a
// partial last line (the file being written) is left out.
func indexStep(path string) (*stepIndex, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("rollouts of this step: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	ix := &stepIndex{path: path, size: fi.Size(), mod: fi.ModTime()}
	r := bufio.NewReaderSize(f, 1<<16)
	var off int64
	for {
		line, err := r.ReadBytes('\n')
		if err == io.EOF {
			break // a partial line, or none
		}
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", path, err)
		}
		var s episode.Episode
		if json.Unmarshal(line, &s) == nil {
			ix.samples = append(ix.samples, summarize(s, len(ix.samples), off, len(line)))
		}
		off += int64(len(line))
	}
	markZeroVariance(ix.samples)
	return ix, nil
}

func summarize(s episode.Episode, i int, off int64, n int) summary {
	comps := map[string]float64{}
	for _, c := range s.Components.Named() {
		comps[c.Name] = c.Value
	}
	sm := summary{I: i, Group: s.Group, ItemID: s.ItemID, Paradigm: string(s.Paradigm), Reward: s.Total, Advantage: s.Advantage,
		Correct: s.Correct, Answer: s.Extracted, Components: comps, off: off, n: n}
	switch {
	case s.Exec != nil:
		sm.Status = string(s.Exec.Status)
	case s.Paradigm == "":
		sm.Status = "unknown"
	default:
		sm.Status = string(s.Paradigm)
	}
	if len(sm.Answer) > 80 {
		sm.Answer = sm.Answer[:80] + "…"
	}
	// grpo's verdicts, as the rollout log records them.
	d := s.RewardDetail
	if d.ComputesNothing != "" || s.Components.ComputesNothing < 0 {
		sm.Penalties = append(sm.Penalties, penaltyNothing)
	}
	if d.ComputesNothing == "prints_constant" {
		sm.Penalties = append(sm.Penalties, penaltyPrint)
	}
	if d.NeedsTable != "" || s.Components.TextNeedsTable < 0 {
		sm.Penalties = append(sm.Penalties, penaltyTruncated)
	}
	return sm
}

// markZeroVariance flags the samples of groups whose rewards are all equal
// (no learning signal).
func markZeroVariance(ss []summary) {
	lo, hi := map[int]float64{}, map[int]float64{}
	for _, s := range ss {
		if _, ok := lo[s.Group]; !ok {
			lo[s.Group], hi[s.Group] = s.Reward, s.Reward
		}
		lo[s.Group], hi[s.Group] = math.Min(lo[s.Group], s.Reward), math.Max(hi[s.Group], s.Reward)
	}
	for i := range ss {
		ss[i].ZeroVar = hi[ss[i].Group]-lo[ss[i].Group] < 1e-12
	}
}

// line reads sample i's record back from the file.
func (ix *stepIndex) line(i int) ([]byte, error) {
	if i < 0 || i >= len(ix.samples) {
		return nil, fmt.Errorf("sample %d: the step has %d", i, len(ix.samples))
	}
	f, err := os.Open(ix.path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	s := ix.samples[i]
	b := make([]byte, s.n)
	if _, err := f.ReadAt(b, s.off); err != nil {
		return nil, fmt.Errorf("reading sample %d of %s: %w", i, ix.path, err)
	}
	return bytes.TrimSpace(b), nil
}

// query is a rollout browser request: a step, filters and a page.
type query struct {
	Step     int
	Paradigm string
	Status   string
	Min, Max float64
	ZeroVar  bool
	Penalty  string
	Offset   int
	Limit    int
}

func parseQuery(v url.Values) (query, error) {
	q := query{Paradigm: v.Get("paradigm"), Status: v.Get("status"), Penalty: v.Get("penalty"), Min: math.Inf(-1), Max: math.Inf(1), Limit: 50}
	var err error
	if q.Step, err = strconv.Atoi(v.Get("step")); err != nil {
		return q, fmt.Errorf("step %q: want a number", v.Get("step"))
	}
	for _, p := range []struct {
		key string
		dst *float64
	}{{"min", &q.Min}, {"max", &q.Max}} {
		if s := v.Get(p.key); s != "" {
			if *p.dst, err = strconv.ParseFloat(s, 64); err != nil {
				return q, fmt.Errorf("%s %q: want a number", p.key, s)
			}
		}
	}
	for _, p := range []struct {
		key string
		dst *int
	}{{"offset", &q.Offset}, {"limit", &q.Limit}} {
		if s := v.Get(p.key); s != "" {
			if *p.dst, err = strconv.Atoi(s); err != nil || *p.dst < 0 {
				return q, fmt.Errorf("%s %q: want a number >= 0", p.key, s)
			}
		}
	}
	q.Limit = min(max(q.Limit, 1), 500)
	q.ZeroVar = v.Get("zerovar") == "1"
	switch q.Penalty {
	case "", penaltyPrint, penaltyNothing, penaltyTruncated:
	default:
		return q, fmt.Errorf("penalty %q: want %s, %s or %s", q.Penalty, penaltyPrint, penaltyNothing, penaltyTruncated)
	}
	return q, nil
}

func (q query) match(s summary) bool {
	return (q.Paradigm == "" || s.Paradigm == q.Paradigm) &&
		(q.Status == "" || s.Status == q.Status) &&
		s.Reward >= q.Min && s.Reward <= q.Max &&
		(!q.ZeroVar || s.ZeroVar) &&
		(q.Penalty == "" || slices.Contains(s.Penalties, q.Penalty))
}

// page is one page of a step's matching samples, with what the filters
// can choose from.
type page struct {
	Step     int       `json:"step"`
	Total    int       `json:"total"`
	Matched  int       `json:"matched"`
	Offset   int       `json:"offset"`
	Samples  []summary `json:"samples"`
	Statuses []string  `json:"statuses"`
}

func (ix *stepIndex) page(q query) page {
	p := page{Step: q.Step, Total: len(ix.samples), Offset: q.Offset, Samples: []summary{}, Statuses: []string{}}
	for _, s := range ix.samples {
		if !slices.Contains(p.Statuses, s.Status) {
			p.Statuses = append(p.Statuses, s.Status)
		}
		if !q.match(s) {
			continue
		}
		if p.Matched >= q.Offset && len(p.Samples) < q.Limit {
			p.Samples = append(p.Samples, s)
		}
		p.Matched++
	}
	slices.Sort(p.Statuses)
	return p
}
