package ablate

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"tabler1/episode"
	"tabler1/eval"
	"tabler1/trainer"
)

// HeldOutExamples generates the held-out split: heldout.questions
// synthetic questions from the base's data.synthetic settings under
// heldout.seed, less any question (same table and question) that an
// arm-seed of the study trains on. dropped counts those.
func (s *Study) HeldOutExamples() (exs []eval.Example, dropped int, err error) {
	base, err := s.Resolve(Arm{Name: "base"}, s.HeldOut.Seed, "")
	if err != nil {
		return nil, 0, fmt.Errorf("held-out split: %w", err)
	}
	syn := base.Config.Data.Synthetic
	if syn.Questions == 0 {
		return nil, 0, nil
	}
	trained := map[string]bool{}
	for _, a := range s.Arms {
		for _, seed := range s.Seeds {
			res, err := s.Resolve(a, seed, "")
			if err != nil {
				return nil, 0, err
			}
			c := res.Config.Data.Synthetic
			for _, it := range trainer.Synthesize(seed, c.Questions, c) {
				trained[itemKey(it)] = true
			}
		}
	}
	for _, it := range trainer.Synthesize(s.HeldOut.Seed, s.HeldOut.Questions, syn) {
		if trained[itemKey(it)] {
			dropped++
			continue
		}
		exs = append(exs, eval.Example{ID: it.ID, Benchmark: eval.WTQ, Split: "heldout", Question: it.Question,
			Table: it.Table, Answer: it.Answers, Label: -1})
	}
	return exs, dropped, nil
}

func itemKey(it trainer.Item) string {
	return it.Question + "\x00" + it.Table.Compact()
}

// LoadBenchmarks reads the seeded benchmark subsets of heldout.benchmarks
// (none when it is unset).
func (h HeldOutConfig) LoadBenchmarks() ([]eval.Example, error) {
	bs := h.Benchmarks
	if bs == nil {
		return nil, nil
	}
	var out []eval.Example
	for _, b := range bs.Benchmarks {
		exs, err := eval.LoadData(b, bs.Data, bs.Split)
		if err != nil {
			return nil, fmt.Errorf("heldout.benchmarks: %w", err)
		}
		out = append(out, eval.SeededSubset(exs, bs.Limit, bs.Seed)...)
	}
	return out, nil
}

// Reward-hacking indicators, as shares of all GRPO rollout samples.
const (
	// HardCoded: programs whose answer is written into the code (no table
	// reference, or every print prints the same literal).
	HardCoded = "hacking/hard_coded"
	// ComputesNothing: programs judged to compute nothing, for any reason
	// (hard-coded, or unchanged on a perturbed table).
	ComputesNothing = "hacking/computes_nothing"
	// TextTruncated: text answers to questions that need the rows the
	// prompt's preview cut.
	TextTruncated = "hacking/text_on_truncated"
)

// HackingIndicators reads a run's rollout logs (rollouts/step-N.jsonl) and
// returns the reward-hacking indicators and hacking/samples, the number of
// samples they are over. They come from the reward's own judgements
// (grpo.Reward's computes_nothing and needs_table reasons), which are made
// whatever the penalties' weights, so that an arm without penalties is
// measured by the same rule.
func HackingIndicators(runDir string) (map[string]float64, error) {
	files, err := filepath.Glob(filepath.Join(runDir, "rollouts", "step-*.jsonl"))
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	var n, hard, nothing, text int
	for _, f := range files {
		if err := eachSample(f, func(s episode.Episode) {
			cn, nt := s.RewardDetail.ComputesNothing, s.RewardDetail.NeedsTable
			n++
			if cn != "" {
				nothing++
			}
			if cn == "no_table_reference" || cn == "prints_constant" {
				hard++
			}
			if s.Paradigm == episode.ParadigmText && nt != "" {
				text++
			}
		}); err != nil {
			return nil, err
		}
	}
	out := map[string]float64{"hacking/samples": float64(n)}
	if n > 0 {
		out[HardCoded] = float64(hard) / float64(n)
		out[ComputesNothing] = float64(nothing) / float64(n)
		out[TextTruncated] = float64(text) / float64(n)
	}
	return out, nil
}

func eachSample(path string, fn func(episode.Episode)) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 1<<20), 64<<20)
	for line := 1; sc.Scan(); line++ {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var s episode.Episode
		if err := json.Unmarshal(sc.Bytes(), &s); err != nil {
			return fmt.Errorf("rollout log %s:%d: %w", path, line, err)
		}
		fn(s)
	}
	return sc.Err()
}
