package grpo

import (
	"math"
	"testing"

	"tabler1/episode"
)

func scored(p episode.Paradigm, total float64, correct bool) episode.Episode {
	return episode.Episode{Parse: episode.Parse{Paradigm: p}, Reward: episode.Reward{Total: total, Correct: correct}}
}

func TestMixedGroupsShareBaseline(t *testing.T) {
	// One question, two program samples and two text samples: one baseline
	// (mean 0.5, std sqrt(1/3)), so the right text answer is pushed up as
	// much as the right program.
	groups := [][]episode.Episode{{
		scored(episode.ParadigmProgram, 1, true), scored(episode.ParadigmProgram, 0, false),
		scored(episode.ParadigmText, 1, true), scored(episode.ParadigmText, 0, false),
	}}
	adv, err := GroupAdvantages(AdvantageConfig{Estimator: EstimatorDrGRPO}, groups)
	if err != nil {
		t.Fatal(err)
	}
	want := []float64{0.5, -0.5, 0.5, -0.5}
	for i := range want {
		if !near(adv[0][i], want[i]) {
			t.Fatalf("advantages %v, want %v", adv[0], want)
		}
	}
	out := Outcomes(groups)
	if !out[0][0] || out[0][1] || !out[0][2] || out[0][3] {
		t.Errorf("outcomes %v", out)
	}
}

func TestSummarize(t *testing.T) {
	prog := func(total float64, correct bool) episode.Episode {
		s := scored(episode.ParadigmProgram, total, correct)
		s.Reward.Components.Execution = 0.1
		return s
	}
	groups := [][]episode.Episode{
		// Text right, no program right: rescued.
		{prog(0.3, false), scored(episode.ParadigmText, 1.3, true)},
		// Text wrong, a program right: missed.
		{prog(1.3, true), scored(episode.ParadigmText, 0.3, false)},
		// Programs only, all right: zero variance.
		{prog(1.3, true), prog(1.3, true)},
		// An invalid sample and an unknown paradigm (counted as invalid).
		{scored(episode.ParadigmInvalid, 0, false), scored("other", 0, false)},
	}
	groups[0][0].Reward.ComputesNothing = "prints_constant"
	groups[1][1].Reward.NeedsTable = "question_word:most"
	b := Summarize(groups)
	if b.Groups != 4 || b.Samples != 8 || b.Program.Samples != 4 || b.Text.Samples != 2 || b.Invalid.Samples != 2 {
		t.Fatalf("counts %+v", b)
	}
	if b.Program.Correct != 3 || !near(b.Program.Accuracy, 0.75) || !near(b.Program.RewardMean, (0.3+1.3+1.3+1.3)/4) {
		t.Errorf("program stats %+v", b.Program)
	}
	if b.Program.Executed != 4 || b.Program.ComputesNothing != 1 || b.Text.NeedsTable != 1 {
		t.Errorf("penalty counts %+v %+v", b.Program, b.Text)
	}
	f := b.Fallback
	if !near(f.TextRate, 2.0/8) || !near(f.TextAccuracy, 0.5) || f.GroupsWithText != 2 || f.Rescued != 1 || f.Missed != 1 {
		t.Errorf("fallback %+v", f)
	}
	if b.ZeroVarianceGroups != 2 { // group 2 all right, group 3 all wrong
		t.Errorf("zero-variance groups %d", b.ZeroVarianceGroups)
	}
	if b.Invalid.RewardMean != 0 || math.IsNaN(Summarize(nil).Program.Accuracy) {
		t.Errorf("invalid/empty stats")
	}
}
