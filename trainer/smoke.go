package trainer

import (
	"fmt"
	"strings"
)

// SmokeSummary is what the smoke run is judged on, read from metrics.jsonl.
type SmokeSummary struct {
	// SFTFirstLoss is the loss of the first sft step and SFTLastLoss the
	// mean loss of the last fifth of the sft steps; SFTRatio their ratio.
	SFTFirstLoss, SFTLastLoss, SFTRatio float64
	// RewardFirst and RewardLast are the mean GRPO reward of the first and
	// last fifth of the grpo steps.
	RewardFirst, RewardLast float64
	Steps                   int
	Seconds                 float64
}

func (s SmokeSummary) String() string {
	return fmt.Sprintf("%d steps in %.0fs; sft loss %.3f -> %.3f (ratio %.2f); grpo reward first fifth %.3f, last fifth %.3f",
		s.Steps, s.Seconds, s.SFTFirstLoss, s.SFTLastLoss, s.SFTRatio, s.RewardFirst, s.RewardLast)
}

// CheckSmoke summarises a smoke run and says whether it learned: the SFT
// loss fell by at least half, and the mean GRPO reward of the last fifth of
// the grpo steps beats the first fifth.
func CheckSmoke(ms []StepMetrics) (SmokeSummary, error) {
	var s SmokeSummary
	var sft, rl []StepMetrics
	for _, m := range ms {
		s.Seconds += m.StepSeconds
		switch m.Stage {
		case StageSFT:
			sft = append(sft, m)
		case StageGRPO:
			rl = append(rl, m)
		}
	}
	s.Steps = len(ms)
	if len(sft) < 5 || len(rl) < 5 {
		return s, fmt.Errorf("smoke check: need at least 5 sft and 5 grpo steps, have %d and %d", len(sft), len(rl))
	}
	fifth := func(xs []StepMetrics, last bool, f func(StepMetrics) float64) float64 {
		n := max(1, len(xs)/5)
		part := xs[:n]
		if last {
			part = xs[len(xs)-n:]
		}
		sum := 0.0
		for _, m := range part {
			sum += f(m)
		}
		return sum / float64(len(part))
	}
	loss := func(m StepMetrics) float64 { return m.Loss }
	reward := func(m StepMetrics) float64 { return m.RewardMean }
	s.SFTFirstLoss = sft[0].Loss
	s.SFTLastLoss = fifth(sft, true, loss)
	s.SFTRatio = s.SFTLastLoss / s.SFTFirstLoss
	s.RewardFirst = fifth(rl, false, reward)
	s.RewardLast = fifth(rl, true, reward)
	var problems []string
	if !(s.SFTRatio <= 0.5) {
		problems = append(problems, fmt.Sprintf("the sft loss fell only to %.2f of its first value (want <= 0.5)", s.SFTRatio))
	}
	if !(s.RewardLast > s.RewardFirst) {
		problems = append(problems, fmt.Sprintf("the grpo reward of the last fifth (%.3f) does not beat the first fifth (%.3f)", s.RewardLast, s.RewardFirst))
	}
	if len(problems) > 0 {
		return s, fmt.Errorf("smoke check: %s (%s)", strings.Join(problems, "; "), s)
	}
	return s, nil
}
