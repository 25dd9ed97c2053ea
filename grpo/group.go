package grpo

import "tabler1/episode"

// GroupAdvantages computes the advantages of mixed-paradigm groups: every
// sample of a question, program or text, is in one group and so shares one
// baseline, which is what lets the policy learn when to fall back to text.
// Masked samples count in the baseline (as in TRL); the trainer leaves them
// out of the loss.
func GroupAdvantages(cfg AdvantageConfig, groups [][]episode.Episode) ([][]float64, error) {
	rewards := make([][]float64, len(groups))
	for g, grp := range groups {
		rewards[g] = make([]float64, len(grp))
		for i, s := range grp {
			rewards[g][i] = s.Reward.Total
		}
	}
	return Advantages(cfg, rewards)
}

// Outcomes returns each sample's binary correctness, the input of
// KeepGroups and DynamicSampling.
func Outcomes(groups [][]episode.Episode) [][]bool {
	out := make([][]bool, len(groups))
	for g, grp := range groups {
		out[g] = make([]bool, len(grp))
		for i, s := range grp {
			out[g][i] = s.Reward.Correct
		}
	}
	return out
}

// ParadigmStats summarises the samples of one paradigm.
type ParadigmStats struct {
	Samples int `json:"samples"`
	Correct int `json:"correct"`
	// RewardMean and Accuracy are over Samples (0 when there are none).
	RewardMean float64 `json:"reward_mean"`
	Accuracy   float64 `json:"accuracy"`
	// Executed counts program samples whose run ended ok.
	Executed int `json:"executed,omitempty"`
	// ComputesNothing, ShortCode and NeedsTable count the samples each
	// penalty hit.
	ComputesNothing int `json:"computes_nothing,omitempty"`
	ShortCode       int `json:"short_code,omitempty"`
	NeedsTable      int `json:"needs_table,omitempty"`
	Masked          int `json:"masked,omitempty"`
	SandboxErrors   int `json:"sandbox_errors,omitempty"`
}

// FallbackStats accounts for the text fallback over a batch of groups.
type FallbackStats struct {
	// TextRate is the share of samples that answered in text.
	TextRate float64 `json:"text_rate"`
	// TextAccuracy is the share of text samples that were right.
	TextAccuracy float64 `json:"text_accuracy"`
	// GroupsWithText counts groups with at least one text sample.
	GroupsWithText int `json:"groups_with_text"`
	// Rescued counts groups where a text sample was right and no program
	// sample was: the fallback paid off.
	Rescued int `json:"rescued"`
	// Missed counts groups where a text sample was wrong and some program
	// sample was right: the fallback cost the answer.
	Missed int `json:"missed"`
}

// BatchStats are the per-paradigm statistics and fallback accounting of a
// batch of groups.
type BatchStats struct {
	Groups   int           `json:"groups"`
	Samples  int           `json:"samples"`
	Program  ParadigmStats `json:"program"`
	Text     ParadigmStats `json:"text"`
	Invalid  ParadigmStats `json:"invalid"`
	Fallback FallbackStats `json:"fallback"`
	// ZeroVarianceGroups counts groups whose samples all had the same
	// binary outcome.
	ZeroVarianceGroups int `json:"zero_variance_groups"`
}

// Summarize computes BatchStats over groups.
func Summarize(groups [][]episode.Episode) BatchStats {
	var b BatchStats
	b.Groups = len(groups)
	sums := map[episode.Paradigm]float64{}
	for _, grp := range groups {
		var textRight, textWrong, progRight, hasText bool
		correct := make([]bool, len(grp))
		for i, s := range grp {
			b.Samples++
			correct[i] = s.Reward.Correct
			p := b.paradigm(s.Paradigm)
			p.Samples++
			sums[knownParadigm(s.Paradigm)] += s.Reward.Total
			r := s.Reward
			if r.Correct {
				p.Correct++
			}
			if r.Components.Execution > 0 && s.Paradigm == episode.ParadigmProgram {
				p.Executed++
			}
			if r.ComputesNothing != "" {
				p.ComputesNothing++
			}
			if r.Components.ShortCode < 0 {
				p.ShortCode++
			}
			if r.NeedsTable != "" {
				p.NeedsTable++
			}
			if r.Masked {
				p.Masked++
			}
			if r.SandboxError {
				p.SandboxErrors++
			}
			switch s.Paradigm {
			case episode.ParadigmText:
				hasText = true
				textRight = textRight || r.Correct
				textWrong = textWrong || !r.Correct
			case episode.ParadigmProgram:
				progRight = progRight || r.Correct
			}
		}
		if ZeroVariance(correct) {
			b.ZeroVarianceGroups++
		}
		if hasText {
			b.Fallback.GroupsWithText++
			if textRight && !progRight {
				b.Fallback.Rescued++
			}
			if textWrong && progRight {
				b.Fallback.Missed++
			}
		}
	}
	for _, pp := range []episode.Paradigm{episode.ParadigmProgram, episode.ParadigmText, episode.ParadigmInvalid} {
		p := b.paradigm(pp)
		if p.Samples > 0 {
			p.RewardMean = sums[pp] / float64(p.Samples)
			p.Accuracy = float64(p.Correct) / float64(p.Samples)
		}
	}
	if b.Samples > 0 {
		b.Fallback.TextRate = float64(b.Text.Samples) / float64(b.Samples)
	}
	if b.Text.Samples > 0 {
		b.Fallback.TextAccuracy = b.Text.Accuracy
	}
	return b
}

// knownParadigm maps an unknown paradigm to ParadigmInvalid.
func knownParadigm(p episode.Paradigm) episode.Paradigm {
	if p == episode.ParadigmProgram || p == episode.ParadigmText {
		return p
	}
	return episode.ParadigmInvalid
}

// paradigm returns the stats bucket of p; unknown paradigms count as
// invalid.
func (b *BatchStats) paradigm(p episode.Paradigm) *ParadigmStats {
	switch knownParadigm(p) {
	case episode.ParadigmProgram:
		return &b.Program
	case episode.ParadigmText:
		return &b.Text
	}
	return &b.Invalid
}
