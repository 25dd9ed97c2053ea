package rollout

import (
	"reflect"
	"testing"

	"tabler1/episode"
)

func TestGroupDraws(t *testing.T) {
	for _, tc := range []struct {
		cfg  GroupConfig
		task episode.Task
		want []Draw
	}{
		{GroupConfig{}, episode.TaskQA, []Draw{{"", 8}}},
		{GroupConfig{ParadigmPolicy: PolicySplit, GroupSize: 6}, episode.TaskQA, []Draw{{episode.ParadigmProgram, 3}, {episode.ParadigmText, 3}}},
		{GroupConfig{ParadigmPolicy: PolicySplit, GroupSize: 6, ProgramSamples: 6}, episode.TaskQA, []Draw{{episode.ParadigmProgram, 6}, {episode.ParadigmText, 0}}},
		{GroupConfig{ParadigmPolicy: PolicyProgramFirst, GroupSize: 4}, episode.TaskTabFact, []Draw{{episode.ParadigmProgram, 4}}},
		{GroupConfig{ParadigmPolicy: PolicyProgram, GroupSize: 4}, episode.TaskQA, []Draw{{episode.ParadigmProgram, 4}}},
		{GroupConfig{ParadigmPolicy: PolicyText, GroupSize: 4}, episode.TaskQA, []Draw{{episode.ParadigmText, 4}}},
		{GroupConfig{ParadigmPolicy: PolicyText, GroupSize: 4}, episode.TaskLTI, []Draw{{episode.ParadigmProgram, 4}}},
	} {
		c := tc.cfg.WithDefaults()
		if err := c.Validate(); err != nil {
			t.Fatalf("%+v: %v", tc.cfg, err)
		}
		if got := c.Draws(tc.task); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%+v on %s: draws %v, want %v", tc.cfg, tc.task, got, tc.want)
		}
		if fb := c.Fallback(tc.task); (fb != nil) != (c.ParadigmPolicy == PolicyProgramFirst && tc.task != episode.TaskLTI) {
			t.Errorf("%+v on %s: fallback %v", tc.cfg, tc.task, fb)
		}
	}
	if err := (GroupConfig{ParadigmPolicy: "programs"}).WithDefaults().Validate(); err == nil {
		t.Error("an unknown policy was accepted")
	}
}
